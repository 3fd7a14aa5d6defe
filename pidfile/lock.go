package pidfile

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Lock is an exclusive flock(2) on a file, held by this process.
//
// The kernel attaches a flock to the open file description, so it is
// released when the last descriptor for it closes, which includes every
// kind of process death: a SIGKILLed supervisor never leaves a stuck lock.
// The descriptor is close-on-exec, so a server we spawn never inherits it;
// otherwise a server outliving a killed supervisor would keep the directory
// locked against the next one.
type Lock struct {
	path string
	mu   sync.Mutex
	fd   int // -1 once unlocked
}

// TryLock takes the exclusive lock on path without blocking, creating the
// file (mode 0600) if needed; the directory must exist. When another open
// file description holds it, in this process or another, it returns an
// error wrapping ErrLocked.
//
// The lock is held until Unlock or the end of the process. It is kept in a
// raw descriptor, not an *os.File, so that it is not released by a
// finalizer if the *Lock is dropped.
func TryLock(path string) (*Lock, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	for {
		err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: flock: %w", path, err)
	}
	return &Lock{path: path, fd: fd}, nil
}

// Path returns the locked file's path.
func (l *Lock) Path() string { return l.path }

// Unlock releases the lock. The file stays: removing it would let a process
// that opened the old file before the removal lock it while another creates
// and locks a new file at the same path, and both would think they hold the
// lock. Unlock on an unlocked Lock returns an error wrapping os.ErrClosed.
func (l *Lock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fd < 0 {
		return fmt.Errorf("unlock %s: %w", l.path, os.ErrClosed)
	}
	// Closing the only descriptor releases the flock.
	err := unix.Close(l.fd)
	l.fd = -1
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
