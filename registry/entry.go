package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gearctl/gearctl/pidfile"
)

// Entry is one gear as its supervisor registered it.
type Entry struct {
	Name string `json:"name"`
	// Dir is the gear's state directory (control.Gear.Dir).
	Dir string `json:"dir"`
	// AppDir is the application's directory (--chdir).
	AppDir string `json:"app_dir"`
	// LogDir holds server.log.
	LogDir string `json:"log_dir"`
	// Supervisor pins the supervisor process: a PID alone would be
	// another process once reused.
	Supervisor pidfile.Record `json:"supervisor"`
	// State is the gear's as the supervisor last published it; nil
	// before it first did.
	State *State `json:"state,omitempty"`
}

// Found is an entry as the registry holds it now.
type Found struct {
	Entry
	// Path is the entry's file.
	Path string
	// Gone: the supervisor the entry names has exited, or its PID names
	// another process now. Tidy removes such entries.
	Gone bool
	// Err is why the file was not taken as an entry: pidfile.ErrUntrusted
	// (another user could have written it: it was not read) or
	// ErrMalformed. Entry then holds only the Name of its file.
	Err error
}

// Sentinels for what callers branch on.
var (
	// ErrMalformed: an entry file of this user that does not hold an
	// entry. Tidy removes it.
	ErrMalformed = errors.New("malformed registry entry")
	// ErrUnknown: no entry has the name.
	ErrUnknown = errors.New("no gear of that name")
)

// TakenError is a name that a live gear of another state directory holds.
type TakenError struct{ Holder Entry }

func (e *TakenError) Error() string {
	return fmt.Sprintf("the name %q is taken by the gear of %s (state %s, supervisor pid %d)",
		e.Holder.Name, e.Holder.AppDir, e.Holder.Dir, e.Holder.Supervisor.PID)
}

// maxEntry bounds what is read of an entry: one is a few hundred bytes.
const maxEntry = 64 << 10

// read reads the entry of name at path. A missing file is
// fs.ErrNotExist, which a concurrent removal also gives.
func read(path, name string) (Found, error) {
	found := Found{Entry: Entry{Name: name}, Path: path}
	f, err := pidfile.OpenTrusted(path)
	if err != nil {
		return found, err
	}
	defer f.Close()
	var e Entry
	if err := json.NewDecoder(io.LimitReader(f, maxEntry)).Decode(&e); err != nil {
		return found, fmt.Errorf("%w %s: %v", ErrMalformed, path, err)
	}
	if err := e.valid(name); err != nil {
		return found, fmt.Errorf("%w %s: %v", ErrMalformed, path, err)
	}
	found.Entry = e
	err = e.Supervisor.Check()
	switch {
	case errors.Is(err, pidfile.ErrStale):
		found.Gone = true
	case errors.Is(err, os.ErrInvalid):
		return found, fmt.Errorf("%w %s: supervisor: %v", ErrMalformed, path, err)
	case err != nil:
		return found, err
	}
	return found, nil
}

// valid refuses an entry that its supervisor could not have written for
// the file name.
func (e Entry) valid(name string) error {
	if e.Name != name {
		return fmt.Errorf("names %q, its file %q", e.Name, name)
	}
	for _, d := range []struct{ what, dir string }{{"dir", e.Dir}, {"app_dir", e.AppDir}, {"log_dir", e.LogDir}} {
		if !filepath.IsAbs(d.dir) {
			return fmt.Errorf("%s %q is not an absolute path", d.what, d.dir)
		}
	}
	return nil
}

// write replaces the entry's file at path.
func (e Entry) write(path string) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return pidfile.WriteFile(path, append(b, '\n'))
}
