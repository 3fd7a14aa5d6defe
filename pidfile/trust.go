package pidfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// OpenTrusted opens path for reading without following a symlink, and
// refuses (ErrUntrusted) what this user could not have written alone: what
// a root supervisor reads back decides which process it signals and which
// program it runs.
func OpenTrusted(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, untrustedLink(path, err)
	}
	if err := VerifyFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// OpenAppend opens path for appending, creating it 0600, without following
// a symlink, and refuses a file another user could have planted: a log
// written by root must never land in a file the link points to. The one
// symlink followed is one to a device of root's (/dev/null, /dev/full),
// which discards or refuses lines and holds no file to overwrite.
func OpenAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if pe, ok := err.(*fs.PathError); ok && pe.Err == syscall.ELOOP {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			// Checked on what was opened: the link may have changed since.
			if err = verifyDevice(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s is a symlink, not to a device of root's", ErrUntrusted, path)
		}
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	if err := VerifyFile(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckAppend tells whether OpenAppend would accept path, without creating
// it: a missing file is accepted.
func CheckAppend(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink == 0:
		f, err := OpenTrusted(path)
		if err == nil {
			f.Close()
		}
		return err
	}
	f, err := os.Open(path)
	if err == nil {
		err = verifyDevice(f)
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("%w: %s is a symlink, not to a device of root's", ErrUntrusted, path)
	}
	return nil
}

// verifyDevice refuses what is not a character device owned by root.
func verifyDevice(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fi.Mode()&fs.ModeCharDevice == 0 || st.Uid != 0 {
		return ErrUntrusted
	}
	return nil
}

// untrustedLink names ELOOP for what it is under O_NOFOLLOW: a symlink.
func untrustedLink(path string, err error) error {
	if pe, ok := err.(*fs.PathError); ok && pe.Err == syscall.ELOOP {
		return fmt.Errorf("%w: %s is a symlink", ErrUntrusted, path)
	}
	return err
}

// VerifyFile refuses an open file that is not regular, or that another
// user owns or may write.
func VerifyFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (mode %s)", ErrUntrusted, f.Name(), fi.Mode())
	}
	return owned(f.Name(), fi)
}

// CheckDir refuses a directory that another user (root excepted) owns or may write: its
// files could be replaced by theirs. Searchable by others is fine (servers
// that drop privileges need that); a symlink to a directory is judged by
// its target, whose owner is the one who can change what is in it.
func CheckDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory (mode %s)", ErrUntrusted, path, fi.Mode())
	}
	return owned(path, fi)
}

func owned(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: %s has no known owner", ErrUntrusted, path)
	}
	// Root's files are trusted by everyone: root could do anything anyway.
	me := os.Geteuid()
	if (int(st.Uid) == me || st.Uid == 0) && fi.Mode().Perm()&0o022 == 0 {
		return nil
	}
	accepted := "owned by " + userName(me)
	if me != 0 {
		accepted += " or root"
	}
	return fmt.Errorf("%w: %s is owned by %s with mode %04o; accepted: %s, not writable by group or others",
		ErrUntrusted, path, userName(int(st.Uid)), fi.Mode().Perm(), accepted)
}

// userName is "name (uid N)", or "uid N" for a uid without a name.
func userName(uid int) string {
	id := strconv.Itoa(uid)
	if u, err := user.LookupId(id); err == nil {
		return u.Username + " (uid " + id + ")"
	}
	return "uid " + id
}
