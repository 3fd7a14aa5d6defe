package pidfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestTryLockExcludesOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gearctl.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file mode %v, want 0600", fi.Mode().Perm())
	}

	// In this process, through a second open file description.
	if l2, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock in-process = %v, %v; want ErrLocked", l2, err)
	}
	// In another process.
	startHelper(t, "lock", path).expect("locked-out")

	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Unlock: %v, want os.ErrClosed", err)
	}
	h := startHelper(t, "lock", path)
	h.expect("holding")
}

// A holder that is SIGKILLed leaves no lock behind.
func TestTryLockAfterHolderKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gearctl.lock")
	h := startHelper(t, "lock", path)
	h.expect("holding")
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock while a helper holds it: %v, want ErrLocked", err)
	}
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.reap()
	l, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after the holder was killed: %v", err)
	}
	l.Unlock()
}

// A process we start does not inherit the lock: once we unlock, another
// process can take it while our child still runs.
func TestTryLockNotInherited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gearctl.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	child := startHelper(t, "idle", "")
	child.expect("ready")
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	startHelper(t, "lock", path).expect("holding")
}

func TestTryLockMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "gearctl.lock")
	_, err := TryLock(path)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want os.ErrNotExist", err)
	}
}
