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
	watchers []watcher
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
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// A larger pipe lets a chatty server write on while its last run is
	// being written to the log; where the limit forbids it, the default
	// 64 KiB does.
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	s := &stream{o: o, w: w, done: make(chan struct{})}
	o.streams.Add(1)
	go s.copyLines(r)
	return s, nil
}

// pipeSize is what a server's output pipe holds: 1 MiB, the default
// /proc/sys/fs/pipe-max-size.
const pipeSize = 1 << 20

func (s *stream) copyLines(r *os.File) {
	defer s.o.streams.Done()
	defer close(s.done)
	defer r.Close()
	relay.Chunks(r, func(lines []byte) {
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
func (o *output) watch(text string) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := watcher{text: text, seen: make(chan struct{})}
	o.watchers = append(o.watchers, w)
	return w.seen
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
	o.watchers = slices.DeleteFunc(o.watchers, func(w watcher) bool {
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
