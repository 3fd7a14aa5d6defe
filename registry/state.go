package registry

import (
	"errors"
	"io/fs"
	"time"
)

// State is what a supervisor last published of its gear, written into its
// entry at each change of state: list reads every gear's from the
// registry, without waking a hundred supervisors to ask them, and the
// supervisor's pinned record says whether it still runs.
type State struct {
	State     string    `json:"state"`
	Server    string    `json:"server,omitempty"`
	PID       int       `json:"pid,omitempty"`
	Listen    string    `json:"listen,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Restarts  int       `json:"restarts"`
	// At is when the supervisor published it.
	At time.Time `json:"at"`
}

// Publish records st in e's entry, if the entry still names e's
// supervisor: an entry removed, or taken over by a later supervisor of the
// gear, is left as it is.
func (r Registry) Publish(e Entry, st State) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := read(r.path(e.Name), e.Name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case f.Supervisor != e.Supervisor:
		return nil
	}
	f.Entry.State = &st
	return f.Entry.write(f.Path)
}
