package control

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaper is the only code in this process that waits for children. It is a
// subreaper, so orphaned workers and double-forked daemons of a server are
// re-parented to this process and reaped here instead of by init; as PID 1 of
// a container the same loop clears every zombie.
//
// A child started through it has its exit status delivered on a channel; any
// other exit (orphans) is reaped and dropped.
type reaper struct {
	mu sync.Mutex // held across fork+subscribe and across wait4
	// subs holds the children whose exit someone waits for. A PID is in it
	// from fork until it is reaped, so while it is there neither the PID nor
	// its process group id can have been reused.
	subs map[int]chan<- syscall.WaitStatus
}

var (
	reaperOnce sync.Once
	theReaper  *reaper
	reaperErr  error
)

// startReaper makes this process a subreaper and starts reaping. It is
// idempotent: a process has one reaper.
func startReaper() (*reaper, error) {
	reaperOnce.Do(func() {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			reaperErr = fmt.Errorf("become child subreaper: %w", err)
			return
		}
		r := &reaper{subs: make(map[int]chan<- syscall.WaitStatus)}
		sigchld := make(chan os.Signal, 1)
		signal.Notify(sigchld, unix.SIGCHLD)
		go func() {
			for {
				r.reapAll()
				<-sigchld
			}
		}()
		theReaper = r
	})
	return theReaper, reaperErr
}

// reapAll reaps every child that has exited. SIGCHLDs coalesce, so one
// signal may stand for many exits.
func (r *reaper) reapAll() {
	for {
		r.mu.Lock()
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			r.mu.Unlock()
			continue
		}
		if pid <= 0 || err != nil {
			r.mu.Unlock()
			return
		}
		ch := r.subs[pid]
		delete(r.subs, pid)
		r.mu.Unlock()
		if ch != nil {
			ch <- ws // buffered, never blocks
		}
	}
}

// start forks and execs argv in its own process group and subscribes to its
// exit before the reaper can see it.
func (r *reaper) start(path string, argv []string, attr *os.ProcAttr) (*os.Process, <-chan syscall.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	r.subs[p.Pid] = ch
	return p, ch, nil
}

// signalGroup signals the process group led by pid. It refuses once pid has
// been reaped: from then on the group id could name someone else's group.
func (r *reaper) signalGroup(pid int, sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.subs[pid]; !ok {
		return os.ErrProcessDone
	}
	err := unix.Kill(-pid, sig)
	if err == unix.ESRCH {
		return os.ErrProcessDone
	}
	return err
}
