// Package relay owns copying a process's output in runs of whole lines, and
// the tail of its last lines that failure reports quote: the servers'
// output and the cartridge hooks' go through the same code.
package relay

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// MaxLine bounds one line: a longer one, or output without any line end,
// is passed on in pieces of MaxLine bytes, each ended as a line of its
// own, so that what a relay holds stays bounded.
const MaxLine = 1 << 20

// chunkSize is what a relay reads at a time, and holds between long lines:
// a pipe's default capacity.
const chunkSize = 64 << 10

// Chunks reads r to its end or first error and calls emit with runs of
// whole lines, '\n' included, as many as each read brings: a line that
// has not ended waits for its end, a last one without an end gets one.
// Splitting output into lines costs the supervisor more than writing it;
// only runs of lines keep a log's lines whole and unmixed. emit must not
// keep the slice, which the next read reuses.
func Chunks(r io.Reader, emit func(lines []byte)) {
	buf := buffer(chunkSize, nil)
	held := 0 // the start of a line that has not ended
	for {
		if held == len(buf) {
			if len(buf) < MaxLine {
				buf = buffer(min(2*len(buf), MaxLine), buf[:held])
			} else {
				emit(append(buf[:held], '\n'))
				held = 0
			}
		}
		n, err := r.Read(buf[held:])
		if i := bytes.LastIndexByte(buf[held:held+n], '\n'); i >= 0 {
			end := held + i + 1
			emit(buf[:end])
			held = copy(buf, buf[end:held+n])
			if len(buf) > chunkSize && held <= chunkSize {
				// A long line is done: give its memory back.
				buf = buffer(chunkSize, buf[:held])
			}
		} else {
			held += n
		}
		if err != nil {
			if held > 0 {
				emit(append(buf[:held], '\n'))
			}
			return
		}
	}
}

// buffer is a buffer of size bytes that starts with from, with room for
// one more byte: the line end a piece without one gets.
func buffer(size int, from []byte) []byte {
	b := make([]byte, size, size+1)
	copy(b, from)
	return b
}

// Lines is Chunks one line at a time, for output people watch line by
// line (a hook's), where the cost of splitting does not matter.
func Lines(r io.Reader, emit func(line []byte)) {
	Chunks(r, func(b []byte) {
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n') + 1
			emit(b[:i])
			b = b[i:]
		}
	})
}

// TailLines is how many lines a Tail keeps: 40, because a server's own
// traceback after an application's (gunicorn's "Worker failed to boot") is
// about 20 lines, and the application's error is the line that matters.
const TailLines = 40

// maxTailLine cuts each kept line to about a screen's width of text.
const maxTailLine = 500

// Tail keeps the last TailLines lines. It is safe for concurrent use.
// Add copies bytes into a ring of lines it reuses, and Lines makes
// strings of them: a chatty server's runs are added by the thousand a
// second and read only when something fails, so Add allocates nothing
// once the ring is full.
type Tail struct {
	mu    sync.Mutex
	ring  [TailLines][]byte // each line's first maxTailLine bytes
	cut   [TailLines]bool   // whether the line was longer
	next  int               // the slot of the next line
	lines int               // how many slots hold a line
}

// Add keeps the last TailLines of the lines in b, each without its line
// end; the others are never copied.
func (t *Tail) Add(b []byte) {
	b = bytes.TrimSuffix(b, []byte("\n"))
	from, end := 0, len(b)
	for n := 0; n < TailLines; n++ {
		i := bytes.LastIndexByte(b[:end], '\n')
		if i < 0 {
			break
		}
		if n == TailLines-1 {
			from = i + 1
			break
		}
		end = i
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for b = b[from:]; ; {
		line, rest, more := bytes.Cut(b, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		t.ring[t.next] = append(t.ring[t.next][:0], line[:min(len(line), maxTailLine)]...)
		t.cut[t.next] = len(line) > maxTailLine
		t.next = (t.next + 1) % TailLines
		t.lines = min(t.lines+1, TailLines)
		if !more {
			return
		}
		b = rest
	}
}

// Lines returns the kept lines, oldest first, a long one cut with "…".
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := make([]string, 0, t.lines)
	for i := range t.lines {
		slot := (t.next - t.lines + i + TailLines) % TailLines
		s := string(t.ring[slot])
		if t.cut[slot] {
			s = strings.ToValidUTF8(s, "") + "…"
		}
		lines = append(lines, s)
	}
	return lines
}
