package pidfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write records the live process pid at path: Lookup then WriteRecord.
func Write(path string, pid int) error {
	r, err := Lookup(pid)
	if err != nil {
		return fmt.Errorf("write pidfile %s: %w", path, err)
	}
	return WriteRecord(path, r)
}

// WriteRecord writes r to path atomically, mode 0600: readers see the old
// file or the new one, never a mix or an empty file. The directory must
// exist.
func WriteRecord(path string, r Record) error {
	if err := r.valid(); err != nil {
		return fmt.Errorf("write pidfile %s: %w", path, err)
	}
	if err := WriteFile(path, encode(r)); err != nil {
		return fmt.Errorf("write pidfile %s: %w", path, err)
	}
	return nil
}

// WriteFile writes data to path as WriteRecord writes a record: through a
// temporary file in the same directory, synced, then renamed over path,
// mode 0600. Other state that says which process to trust (the gear
// registry's entries) is written the same way.
func WriteFile(path string, data []byte) (err error) {
	// The temporary file must be in the same directory: rename is atomic
	// only within one filesystem. The leading dot keeps it out of globs
	// such as *.pid.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp already uses 0600 less the umask; Chmod makes it exact.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	// Without fsync, a crash soon after the rename can leave an empty file
	// on disk (delayed allocation); the next boot would then read garbage
	// rather than a record that is plainly stale. The directory itself is
	// not synced: the rename is visible to every process at once, and a
	// record only matters within one boot, so losing the rename in a crash
	// loses nothing.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Read reads the record at path. A missing file gives an error satisfying
// errors.Is(err, fs.ErrNotExist); content that is not a record gives one
// wrapping ErrGarbage that names the file and what is wrong. Read does not
// check that the process is alive: see Record.Check and Open. A file another
// user could have written is refused with ErrUntrusted (see OpenTrusted).
func Read(path string) (Record, error) {
	f, err := OpenTrusted(path)
	if err != nil {
		return Record{}, fmt.Errorf("read pidfile: %w", err)
	}
	defer f.Close()
	// One byte more than the limit tells "too long" from "exactly at it".
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return Record{}, fmt.Errorf("read pidfile %s: %w", path, err)
	}
	r, err := decode(data)
	if err != nil {
		// The cause is kept as text: a bad file is ErrGarbage and nothing
		// else, even where decode's reason would match os.ErrInvalid.
		return Record{}, fmt.Errorf("read pidfile %s: %w: %s", path, ErrGarbage, err.Error())
	}
	return r, nil
}
