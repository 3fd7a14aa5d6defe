package gear

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"

	"github.com/gearctl/gearctl/control"
)

// Logs are the last n lines of the gear's server log.
func Logs(g control.Gear, n int) ([]string, error) {
	return control.TailLines(g.ServerLog(), n)
}

// followPoll is how often Follow looks for new lines and a rotation.
const followPoll = 100 * time.Millisecond

// Follow writes to w what is appended to the gear's server log from its
// current end until ctx ends. When the log is rotated (a new file at the
// same path) it drains the old file first, so no line is skipped at
// rotation. Only whole lines are written.
func Follow(ctx context.Context, g control.Gear, w io.Writer) error {
	path := g.ServerLog()
	f, err := os.Open(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if f != nil {
		f.Seek(0, io.SeekEnd)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	var pending []byte
	buf := make([]byte, 64<<10)
	drain := func() error {
		for f != nil {
			n, _ := f.Read(buf)
			if n == 0 {
				return nil
			}
			pending = append(pending, buf[:n]...)
			if i := bytes.LastIndexByte(pending, '\n'); i >= 0 {
				if _, err := w.Write(pending[:i+1]); err != nil {
					return err
				}
				pending = append([]byte(nil), pending[i+1:]...)
			}
		}
		return nil
	}
	for {
		if err := drain(); err != nil {
			return err
		}
		if rotated(f, path) {
			// The old file may have grown since it was drained, before
			// the new one appeared.
			if err := drain(); err != nil {
				return err
			}
			if f != nil {
				f.Close()
			}
			f, _ = os.Open(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// rotated reports whether path now names another file than f.
func rotated(f *os.File, path string) bool {
	now, err := os.Stat(path)
	if err != nil {
		return false
	}
	if f == nil {
		return true
	}
	was, err := f.Stat()
	return err == nil && !os.SameFile(was, now)
}
