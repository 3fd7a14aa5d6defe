package control

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"slices"
	"sync"
	"time"
)

// maxLine bounds one log line; a longer one is passed on in pieces.
const maxLine = 64 << 10

// tailLines is how many of the last lines a failure report carries: 40,
// because a server's own traceback after an application's (gunicorn's
// "Worker failed to boot") is about 20 lines, and the application's error
// is the line that matters.
const tailLines = 40

// output is where the servers' lines go: one sink, written a whole line at a
// time, so lines of overlapping instances never mix. Each instance writes
// into a stream of its own, which keeps its last lines for failure reports:
// a new server's traceback, not the old one's access log.
type output struct {
	sink io.Writer

	mu       sync.Mutex
	sinkErr  error
	watchers []watcher
	streams  sync.WaitGroup
	tail     tail // every instance's, for a gear that fails as a whole
}

// tail keeps the last tailLines lines.
type tail []string

func (t *tail) add(line string) {
	if len(*t) == tailLines {
		*t = (*t)[1:]
	}
	*t = append(*t, line)
}

func newOutput(sink io.Writer) *output {
	return &output{sink: sink}
}

// stream is one instance's stdout and stderr: a pipe read line by line
// until every process that holds its write end has exited.
type stream struct {
	o    *output
	w    *os.File // the write end, for the spawn; closed after it
	mu   sync.Mutex
	tail tail
	done chan struct{}
}

// newStream opens a pipe and reads it into the sink.
func (o *output) newStream() (*stream, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s := &stream{o: o, w: w, done: make(chan struct{})}
	o.streams.Add(1)
	go s.copyLines(r)
	return s, nil
}

func (s *stream) copyLines(r *os.File) {
	defer s.o.streams.Done()
	defer close(s.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				// A full slice: the append must not write into the
				// reader's buffer, which holds the next bytes.
				line = append(line[:len(line):len(line)], '\n')
			}
			s.o.line(line)
			s.keep(string(line[:len(line)-1]))
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func (s *stream) keep(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tail.add(line)
}

// settle waits until what the instance wrote before exiting has been read,
// or a moment has passed: a daemon it left may hold the pipe open.
func (s *stream) settle() {
	select {
	case <-s.done:
	case <-time.After(100 * time.Millisecond):
	}
}

// lastLines returns up to tailLines of the instance's latest output.
func (s *stream) lastLines() []string {
	s.settle()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tail...)
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

// line writes one whole line to the sink in a single Write.
func (o *output) line(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, o.sinkErr = o.sink.Write(b)
	o.tail.add(string(b[:len(b)-1]))
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
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.tail...)
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
