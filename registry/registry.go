package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// Registry is one user's registry directory.
type Registry struct {
	Dir string
}

const suffix = ".json"

func (r Registry) path(name string) string { return filepath.Join(r.Dir, name+suffix) }

// Check refuses a registry directory that is a symlink, or that another
// user (root excepted) owns or may write (pidfile.ErrUntrusted): its
// entries say which processes are whose gears. A registry not made yet is
// fs.ErrNotExist.
func (r Registry) Check() error {
	fi, err := os.Lstat(r.Dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("registry %w: %s is a symlink; accepted: a directory", pidfile.ErrUntrusted, r.Dir)
	}
	if err := pidfile.CheckDir(r.Dir); err != nil {
		return fmt.Errorf("registry %w", err)
	}
	return nil
}

// open makes the registry directory, 0700, when it is missing, and
// checks it.
func (r Registry) open() error {
	if err := os.Mkdir(r.Dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("registry: %w", err)
	}
	return r.Check()
}

// List reads every entry, sorted by name; a registry not made yet has
// none. An entry that could not be taken is in the list with its Err.
func (r Registry) List() ([]Found, error) {
	if err := r.Check(); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	files, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var all []Found
	for _, file := range files {
		name, ok := strings.CutSuffix(file.Name(), suffix)
		// Dot files are the lock and the temporary files of a write.
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		f, err := read(r.path(name), name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		f.Err = err
		all = append(all, f)
	}
	return all, nil // ReadDir sorts by file name, and so by name
}

// Lookup is the entry of name: ErrUnknown when there is none, the
// reason when its file could not be taken.
func (r Registry) Lookup(name string) (Found, error) {
	if ValidName(name) != nil {
		return Found{}, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	err := r.Check()
	if err == nil {
		var f Found
		f, err = read(r.path(name), name)
		if err == nil {
			return f, nil
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return Found{}, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	return Found{}, err
}

// Register enters e, whose supervisor holds the lock of e.Dir, in the
// registry, made if need be. The name may be held by e's own gear (a
// supervisor before this one) or by a gone one; a live gear of another
// state directory holding it is a *TakenError, and an entry file of that
// name another user could have written is refused. Entries of e's gear
// under another name whose supervisor is gone are removed: the gear is
// known by its new one.
func (r Registry) Register(e Entry) error {
	if err := ValidName(e.Name); err != nil {
		return fmt.Errorf("%q: %w", e.Name, err)
	}
	if err := e.valid(e.Name); err != nil {
		return err
	}
	if err := r.open(); err != nil {
		return err
	}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	all, err := r.List()
	if err != nil {
		return err
	}
	for _, f := range all {
		switch {
		case f.Name == e.Name && errors.Is(f.Err, pidfile.ErrUntrusted):
			return f.Err
		case f.Name == e.Name && f.Err == nil && !f.Gone && f.Dir != e.Dir:
			return &TakenError{Holder: f.Entry}
		case f.Name != e.Name && f.Err == nil && f.Gone && f.Dir == e.Dir:
			os.Remove(f.Path)
		}
	}
	return e.write(r.path(e.Name))
}

// Remove removes e's entry if it still names e's supervisor: a later
// supervisor of the gear may have registered since.
func (r Registry) Remove(e Entry) error {
	if r.Check() != nil {
		return nil // nothing of ours is there
	}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := read(r.path(e.Name), e.Name)
	if err != nil || f.Supervisor != e.Supervisor {
		return nil
	}
	return os.Remove(f.Path)
}

// Tidy removes the entries whose supervisor is gone and the malformed
// ones, and returns them; refused are the entries another user could
// have written, left as they are.
func (r Registry) Tidy() (removed, refused []Found, err error) {
	if err := r.Check(); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	unlock, err := r.lock()
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	all, err := r.List()
	for _, f := range all {
		switch {
		case errors.Is(f.Err, pidfile.ErrUntrusted):
			refused = append(refused, f)
		case f.Gone || errors.Is(f.Err, ErrMalformed):
			if os.Remove(f.Path) == nil {
				removed = append(removed, f)
			}
		}
	}
	return removed, refused, err
}

// Names are the names of the live gears among all.
func Names(all []Found) []string {
	var names []string
	for _, f := range all {
		if f.Err == nil && !f.Gone {
			names = append(names, f.Name)
		}
	}
	return names
}

// lockWait bounds the wait for the registry's lock, which a change holds
// for a few file operations.
const lockWait = 5 * time.Second

// lock takes the registry's lock, which makes a check of the entries and
// the change that follows it one step.
func (r Registry) lock() (unlock func(), err error) {
	deadline := time.Now().Add(lockWait)
	for {
		l, err := pidfile.TryLock(filepath.Join(r.Dir, ".lock"))
		if err == nil {
			return func() { l.Unlock() }, nil
		}
		if !errors.Is(err, pidfile.ErrLocked) || time.Now().After(deadline) {
			return nil, fmt.Errorf("registry: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
