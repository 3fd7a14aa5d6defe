package control

import (
	"errors"

	"github.com/gearctl/gearctl/pidfile"
)

// Supervised reports whether a supervisor holds the gear's lock.
func (g Gear) Supervised() bool {
	l, err := pidfile.TryLock(g.lockFile())
	if err != nil {
		return errors.Is(err, pidfile.ErrLocked)
	}
	l.Unlock()
	return false
}
