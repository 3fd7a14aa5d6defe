package pidfile

import "errors"

// Sentinels for what callers branch on; every error that carries one also
// names the file or PID it is about.
var (
	// ErrGarbage: the pidfile exists but does not hold a record in the
	// format described in the package doc. Its content cannot name a
	// process, so it can be removed like a stale one.
	ErrGarbage = errors.New("malformed pidfile")

	// ErrStale: the recorded process has exited, or its PID now belongs to
	// another process, or it ran during an earlier boot. Nothing was
	// signalled.
	ErrStale = errors.New("stale pid")

	// ErrLocked: another open file description holds the lock, normally
	// another live supervisor on the same directory.
	ErrLocked = errors.New("locked by another process")

	// ErrUntrusted: a file or directory that another user could have
	// written — a symlink, not a regular file, owned by another uid, or
	// writable by group or others. Nothing in it was read or used.
	ErrUntrusted = errors.New("not trusted")
)
