// Package relay owns copying a process's output a whole line at a time,
// and the tail of its last lines that failure reports quote: the servers'
// output and the cartridge hooks' go through the same code.
package relay

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// MaxLine bounds one line; a longer one is passed on in pieces of MaxLine
// bytes, each ended as a line of its own.
const MaxLine = 64 << 10

// Lines reads r to its end or first error and calls emit with every line,
// '\n' included: a last line without one gets it. emit must not keep the
// slice, which the next read reuses.
func Lines(r io.Reader, emit func(line []byte)) {
	br := bufio.NewReaderSize(r, MaxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				// A full slice: the append must not write into the
				// reader's buffer, which holds the next bytes.
				line = append(line[:len(line):len(line)], '\n')
			}
			emit(line)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// TailLines is how many lines a Tail keeps: 40, because a server's own
// traceback after an application's (gunicorn's "Worker failed to boot") is
// about 20 lines, and the application's error is the line that matters.
const TailLines = 40

// maxTailLine cuts each kept line to about a screen's width of text.
const maxTailLine = 500

// Tail keeps the last TailLines lines. It is safe for concurrent use.
type Tail struct {
	mu  sync.Mutex
	buf []string
}

// Add keeps line, without its line end.
func (t *Tail) Add(line []byte) {
	s := strings.TrimRight(string(line), "\r\n")
	if len(s) > maxTailLine {
		s = strings.ToValidUTF8(s[:maxTailLine], "") + "…"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == TailLines {
		t.buf = append(t.buf[:0], t.buf[1:]...)
	}
	t.buf = append(t.buf, s)
}

// Lines returns a copy of the kept lines, oldest first.
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}
