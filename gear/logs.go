package gear

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gearctl/gearctl/control"
)

// ErrNoLog: the gear has no server log yet (nor a rotated one): it has not
// run with this log directory.
var ErrNoLog = errors.New("no log yet")

// Logs are the last n lines of the gear's server log, ErrNoLog when there
// is none.
func Logs(g control.Gear, n int) ([]string, error) {
	files := control.LogFiles(g.ServerLog())
	if _, err := os.Stat(files[0]); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoLog, g.ServerLog())
	}
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
