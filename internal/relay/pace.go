package relay

import (
	"io"
	"time"
)

// Paced returns r whose reads, after one that did not fill its buffer,
// first wait pause, unless hurry (when set) says someone waits for a line.
//
// A pipe read as soon as it is written to costs both sides for every few
// lines: the writer wakes the reader, which reads a few lines and writes
// them to the log before it waits again, and so the next write wakes it
// again. A read that did not fill its buffer emptied the pipe; waiting a
// moment then lets the lines gather, with nobody to wake, into a run that
// the next read takes whole. A read that filled its buffer is followed
// at once: the writer is ahead. The first line after a quiet time is read
// as soon as it comes: only the lines after it wait, for about pause. A
// pause of 0 is r itself.
func Paced(r io.Reader, pause time.Duration, hurry func() bool) io.Reader {
	if pause <= 0 {
		return r
	}
	return &paced{r: r, pause: pause, hurry: hurry}
}

type paced struct {
	r     io.Reader
	pause time.Duration
	hurry func() bool
	short bool // the last read did not fill its buffer
}

// sleep is time.Sleep, which tests replace to count the pauses.
var sleep = time.Sleep

func (p *paced) Read(b []byte) (int, error) {
	if p.short && (p.hurry == nil || !p.hurry()) {
		sleep(p.pause)
	}
	n, err := p.r.Read(b)
	p.short = n < len(b)
	return n, err
}
