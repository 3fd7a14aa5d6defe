package control

import (
	"bytes"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gearctl/gearctl/internal/relay"
	"golang.org/x/sys/unix"
)

// output is where the servers' lines go: one sink, written in runs of whole
// lines, so lines of overlapping instances never mix. Each instance writes
// into a stream of its own, which keeps its last lines for failure reports:
// a new server's traceback, not the old one's access log.
type output struct {
	sink io.Writer

	mu       sync.Mutex
	sinkErr  error
	watchers []*watcher
	streams  sync.WaitGroup
	tail     relay.Tail // every instance's, for a gear that fails as a whole
}

func newOutput(sink io.Writer) *output {
	return &output{sink: sink}
}

// stream is one instance's stdout and stderr: a pipe read in runs of
// whole lines until every process that holds its write end has exited.
type stream struct {
	o    *output
	w    *os.File // the write end, for the spawn; closed after it
	tail relay.Tail
	done chan struct{}
}

// newStream opens a pipe and reads it into the sink.
func (o *output) newStream() (*stream, error) {
	// Blocking, unlike os.Pipe's: the reading goroutine blocks in read(2)
	// on a thread of its own instead of waiting in the runtime's poller,
	// where the pipe, registered for good, would wake the poller at every
	// write the server makes, also while the relay pauses (relay.Paced).
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	r, w := os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1")
	// A larger pipe lets a chatty server write on while the relay pauses
	// or writes its last run to the log. Where the limits forbid it (for
	// an unprivileged user: above fs.pipe-max-size, or past
	// fs.pipe-user-pages-soft, which leaves its pipes 2 pages), the relay
	// reads as soon as a line comes, as it must: a pause overshoots by a
	// millisecond or more on a busy machine, and a small pipe would make
	// the server wait for it.
	var pause time.Duration
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize); err == nil {
		pause = readPause
	}
	s := &stream{o: o, w: w, done: make(chan struct{})}
	o.streams.Add(1)
	go s.copyLines(r, pause)
	return s, nil
}

const (
	// pipeSize is what a server's output pipe holds: 1 MiB, the default
	// /proc/sys/fs/pipe-max-size.
	pipeSize = 1 << 20
	// readPause is the relay's pause after a read that emptied the pipe.
	// A Python worker writing a line at a time writes about 200 MB/s (the
	// benchmark's section f), so that a 1 MiB pipe holds 5 ms of it: room
	// for the pause and its overshoot (the runtime's timers round up to
	// the millisecond). 2 ms cut the supervisor's CPU for such a server
	// by 5 times (section f); 1 ms by 4 times.
	readPause = 2 * time.Millisecond
)

// copyLines relays r in runs of whole lines, pausing after each read that
// emptied the pipe, except while someone waits for a line (a ReadyLine).
func (s *stream) copyLines(r *os.File, pause time.Duration) {
	defer s.o.streams.Done()
	defer close(s.done)
	defer r.Close()
	relay.Chunks(relay.Paced(r, pause, s.o.watching), func(lines []byte) {
		s.o.lines(lines)
		s.tail.Add(lines)
	})
}

// settle waits until what the instance wrote before exiting has been read,
// or a moment has passed: a daemon it left may hold the pipe open.
func (s *stream) settle() {
	select {
	case <-s.done:
	case <-time.After(100 * time.Millisecond):
	}
}

// lastLines returns the instance's latest lines.
func (s *stream) lastLines() []string {
	s.settle()
	return s.tail.Lines()
}

// watcher waits for a line holding text.
type watcher struct {
	text string
	seen chan struct{}
}

// watch returns a channel closed when a line holding text is read, from
// now on.
// The returned stop ends the watch, a no-op once the line came: a watch
// left behind would keep the relay from pacing its reads (relay.Paced).
func (o *output) watch(text string) (seen <-chan struct{}, stop func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := &watcher{text: text, seen: make(chan struct{})}
	o.watchers = append(o.watchers, w)
	return w.seen, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.watchers = slices.DeleteFunc(o.watchers, func(x *watcher) bool { return x == w })
	}
}

// watching tells whether someone waits for a line.
func (o *output) watching() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.watchers) > 0
}

// lines writes a run of whole lines to the sink in a single Write.
func (o *output) lines(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, o.sinkErr = o.sink.Write(b)
	o.tail.Add(b)
	if len(o.watchers) == 0 {
		return
	}
	o.watchers = slices.DeleteFunc(o.watchers, func(w *watcher) bool {
		if bytes.Contains(b, []byte(w.text)) {
			close(w.seen)
			return true
		}
		return false
	})
}

// err is the sink's last write error: a full or unwritable log.
func (o *output) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sinkErr
}

// lastLines returns the gear's last lines, whichever instance wrote them:
// the failed starts before the last one may have said more than it did.
func (o *output) lastLines() []string {
	return o.tail.Lines()
}

// wait waits, at most d, until every stream has been read to its end.
func (o *output) wait(d time.Duration) {
	done := make(chan struct{})
	go func() {
		o.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}
