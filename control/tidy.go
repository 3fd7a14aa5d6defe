package control

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/gearctl/gearctl/pidfile"
)

// Tidy removes rotated logs and what no process uses any more: temporary
// files, and, when no supervisor holds the lock, a dead supervisor's socket
// and pidfile and a server pidfile that is stale or unreadable. A live
// server's pidfile is kept: stop it first. Returns the files removed.
func (g Gear) Tidy() ([]string, error) {
	var removed []string
	remove := func(path string) {
		if err := os.Remove(path); err == nil {
			removed = append(removed, path)
		}
	}
	files := LogFiles(g.ServerLog())
	for _, f := range files[:len(files)-1] {
		remove(f)
	}
	temps, _ := filepath.Glob(filepath.Join(g.Dir, ".*.tmp*"))
	more, _ := filepath.Glob(filepath.Join(g.Dir, "*.tmp"))
	for _, f := range append(temps, more...) {
		remove(f)
	}

	lock, err := pidfile.TryLock(g.lockFile())
	if errors.Is(err, pidfile.ErrLocked) {
		return removed, nil // a supervisor runs: its files are live
	}
	if err != nil {
		return removed, err
	}
	defer lock.Unlock()
	remove(g.Socket())
	remove(g.supervisorFile())
	for _, slot := range []string{current, candidate} {
		p, _, err := g.orphan(slot)
		switch {
		case p != nil:
			p.Close()
		case err == nil || errors.Is(err, pidfile.ErrStale) || errors.Is(err, pidfile.ErrGarbage):
			remove(g.pidFile(slot))
			remove(g.specFile(slot))
		}
	}
	return removed, nil
}
