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

// tailLines is how many of the last lines a failure report carries.
const tailLines = 20

// output carries the stdout and stderr of every instance through one pipe
// that lives as long as the supervisor, so lines from overlapping instances
// and across restarts reach the sink whole and none is lost between two
// instances. It keeps the last lines for failure reports.
type output struct {
	w, r *os.File
	sink io.Writer

	mu       sync.Mutex
	tail     []string
	sinkErr  error
	watchers []watcher

	done chan struct{}
}

func newOutput(sink io.Writer) (*output, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	o := &output{w: w, r: r, sink: sink, done: make(chan struct{})}
	go o.copyLines()
	return o, nil
}

func (o *output) copyLines() {
	defer close(o.done)
	br := bufio.NewReaderSize(o.r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				// A full slice: the append must not write into the
				// reader's buffer, which holds the next bytes.
				line = append(line[:len(line):len(line)], '\n')
			}
			o.line(line)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
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
	_, err := o.sink.Write(b)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sinkErr = err
	o.watchers = slices.DeleteFunc(o.watchers, func(w watcher) bool {
		if bytes.Contains(b, []byte(w.text)) {
			close(w.seen)
			return true
		}
		return false
	})
	if len(o.tail) == tailLines {
		o.tail = o.tail[1:]
	}
	o.tail = append(o.tail, string(b[:len(b)-1]))
}

// lastLines returns up to tailLines of the most recent output.
func (o *output) lastLines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.tail...)
}

// err is the sink's last write error: a full or unwritable log.
func (o *output) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sinkErr
}

// close drops the supervisor's write end and waits, at most wait, until
// every writer is gone and the last line has reached the sink.
func (o *output) close(wait time.Duration) {
	o.w.Close()
	select {
	case <-o.done:
	case <-time.After(wait):
	}
	o.r.Close()
}
