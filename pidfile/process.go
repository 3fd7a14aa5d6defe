package pidfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a verified handle on a recorded process, held through a pidfd.
// A pidfd names one process, not a number: once taken, signals sent through
// it reach that process or nobody, even if the PID is reused. A Process
// works the same for a child and for a process we did not start, such as a
// server left behind by a supervisor that was killed. Its methods are safe
// for concurrent use.
type Process struct {
	rec    Record
	f      *os.File // owns the pidfd; registered with the runtime poller
	closed atomic.Bool
}

// Open verifies r and returns a handle that can signal and wait for the
// process. It fails with an error wrapping ErrStale, having signalled
// nothing, when Check would. A kernel without pidfd support gives an error
// wrapping errors.ErrUnsupported: without a pidfd there is no race-free way
// to signal a process we do not parent, and Open does not pretend to one.
func Open(r Record) (*Process, error) {
	if err := r.valid(); err != nil {
		return nil, fmt.Errorf("open pid %d: %w", r.PID, err)
	}
	// The pidfd is taken first and the record verified second. If the
	// process behind r.PID is still the recorded one after the pidfd exists,
	// it was the recorded one when the pidfd was taken (a PID is not reused
	// while its process lives), so the pidfd pins it. The other order would
	// leave a window in which the PID could be reused after the check.
	fd, err := pidfdOpen(r.PID)
	if errors.Is(err, unix.ESRCH) {
		return nil, fmt.Errorf("pid %d: %w: the process has exited", r.PID, ErrStale)
	}
	if err != nil {
		return nil, fmt.Errorf("open pid %d: %w", r.PID, err)
	}
	if err := r.verify(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// The pidfd is non-blocking, so os.NewFile registers it with the runtime
	// poller: Wait then parks a goroutine instead of an OS thread, and
	// deadlines can interrupt it.
	return &Process{rec: r, f: os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", r.PID))}, nil
}

func pidfdOpen(pid int) (int, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.EINVAL) {
		// PIDFD_NONBLOCK came in Linux 5.10; before it the flag is EINVAL.
		// O_NONBLOCK set by fcntl serves the poller the same way. (EINVAL
		// also means pid is a thread, not a process; the retry reports that.)
		fd, err = unix.PidfdOpen(pid, 0)
		if err == nil {
			if err = unix.SetNonblock(fd, true); err != nil {
				unix.Close(fd)
				return -1, fmt.Errorf("pidfd nonblocking: %w", err)
			}
		}
	}
	switch {
	case errors.Is(err, unix.ENOSYS):
		return -1, fmt.Errorf("pidfd_open: %w: needs Linux 5.3 or later (or a seccomp profile that allows it)", errors.ErrUnsupported)
	case err != nil:
		return -1, fmt.Errorf("pidfd_open: %w", err)
	}
	return fd, nil
}

// PID returns the recorded PID.
func (p *Process) PID() int { return p.rec.PID }

// Record returns the record that was verified when p was opened.
func (p *Process) Record() Record { return p.rec }

// Signal sends sig, which must be a syscall.Signal, to the process. When the
// process has already exited (even if it is not yet reaped), it sends
// nothing and returns an error satisfying errors.Is(err, os.ErrProcessDone).
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signal pid %d: %v is not a syscall.Signal: %w", p.rec.PID, sig, os.ErrInvalid)
	}
	var sendErr error
	err := p.control(func(fd uintptr) {
		// The kernel accepts signals for a zombie and drops them; callers
		// want to know it is over, as os.Process.Signal tells them.
		if exited(fd) {
			sendErr = os.ErrProcessDone
			return
		}
		sendErr = unix.PidfdSendSignal(int(fd), s, nil, 0)
		if errors.Is(sendErr, unix.ESRCH) {
			sendErr = os.ErrProcessDone
		}
	})
	if err == nil {
		err = sendErr
	}
	if err != nil {
		return fmt.Errorf("signal pid %d with %s: %w", p.rec.PID, signalName(s), err)
	}
	return nil
}

// Wait blocks until the process exits or ctx is done, and returns nil or
// ctx's error. It works for any process, child or not, by waiting for the
// pidfd to become readable, which the kernel does when the process exits.
// It does not reap a child and cannot report an exit status: a child's
// parent still reaps it with its own wait (os/exec's Cmd.Wait). Close does
// not interrupt a Wait in progress; cancel its context.
func (p *Process) Wait(ctx context.Context) error {
	// Each Wait polls its own duplicate of the pidfd, so cancelling one
	// Wait (by a read deadline) does not disturb another.
	f, err := p.dup()
	if err != nil {
		return fmt.Errorf("wait for pid %d: %w", p.rec.PID, err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("wait for pid %d: %w", p.rec.PID, err)
	}
	stop := context.AfterFunc(ctx, func() {
		f.SetReadDeadline(time.Unix(1, 0)) // any time in the past
	})
	defer stop()
	// Read calls the function, and each time it returns false parks until
	// the poller sees the fd readable (or the deadline passes).
	err = rc.Read(exited)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("wait for pid %d: %w", p.rec.PID, ctx.Err())
		}
		return fmt.Errorf("wait for pid %d: %w", p.rec.PID, err)
	}
	return nil
}

func (p *Process) dup() (*os.File, error) {
	nfd, dupErr := -1, error(nil)
	err := p.control(func(fd uintptr) {
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK lives on the open file description, which the duplicate
	// shares, so NewFile registers this one with the poller too.
	return os.NewFile(uintptr(nfd), p.f.Name()), nil
}

// exited reports whether the pidfd is readable, which the kernel makes it
// when the process exits (and hung up once it is reaped).
func exited(fd uintptr) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents != 0
	}
}

// control runs fn with the pidfd, which stays open until fn returns even
// if Close runs concurrently, so fn can never use a reused fd number.
// After Close it returns an error wrapping os.ErrClosed.
func (p *Process) control(fn func(fd uintptr)) error {
	if p.closed.Load() {
		return os.ErrClosed
	}
	rc, err := p.f.SyscallConn()
	if err == nil {
		err = rc.Control(fn)
	}
	if err != nil && p.closed.Load() {
		return os.ErrClosed
	}
	return err
}

// Close releases the pidfd. It does not affect the process. Signal and
// Wait after Close return errors wrapping os.ErrClosed.
func (p *Process) Close() error {
	p.closed.Store(true)
	return p.f.Close()
}

func signalName(s syscall.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return name
	}
	return "signal " + strconv.Itoa(int(s))
}
