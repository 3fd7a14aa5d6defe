package control

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/pidfile"
	"golang.org/x/sys/unix"
)

// instance is one spawned server process and, through its process group
// and the process tree, everything it started.
type instance struct {
	spec Spec
	pid  int
	// proc is kept for its pidfd: a signal through it cannot reach a
	// process that reused the PID. An adopted server, which is not our
	// child, has adopted instead.
	proc    *os.Process
	adopted *pidfile.Process
	// sigMu orders signals before the release of proc's pidfd at exit.
	sigMu    sync.Mutex
	released bool
	// probeAddr is where readiness is asked: the private probe socket, or
	// the shared address.
	probeAddr string
	reaper    *reaper
	started   time.Time

	// out is its output stream; nil for an adopted server.
	out *stream

	// done is closed by the one goroutine that receives the exit status,
	// after it has set exit.
	done chan struct{}
	exit Exit
}

// spawn prepares the Spec's directories and files and execs the server with stdout and stderr
// on out and, when it takes them, the listening socket as fd 3 and a
// private probe socket as fd 4.
func spawn(r *reaper, spec Spec, listener, out *os.File) (*instance, error) {
	if err := spec.Prepare(); err != nil {
		return nil, err
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	files := []*os.File{devnull, out, out}
	if spec.TakesFD {
		files = append(files, listener)
	}
	probeAddr := addr(spec.Host, spec.Port)
	if spec.ProbeFD {
		probe, err := listen(addr(loopback(spec.Host), 0))
		if err != nil {
			return nil, fmt.Errorf("probe socket: %w", err)
		}
		defer probe.Close() // the server has its own copy
		probeAddr = localAddr(probe)
		files = append(files, probe)
	}
	attr := &os.ProcAttr{
		Dir:   spec.Dir,
		Env:   spec.Env,
		Files: files,
		// Its own session and group: terminal signals meant for the
		// supervisor do not reach it, a stop can address all its workers
		// at once, and a daemon it double-forks stays findable by its
		// session after this supervisor is gone.
		// With a Credential it runs as another user: the fds above
		// survive the switch, and a stop still finds every process by
		// group, session and tree, which root may signal.
		Sys: &syscall.SysProcAttr{Setsid: true, Credential: spec.Credential},
	}
	p, exited, err := r.start(spec.Path, spec.Args, attr)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	in := &instance{spec: spec, proc: p, reaper: r, pid: p.Pid, started: time.Now(), done: make(chan struct{}), probeAddr: probeAddr}
	go func() {
		ws := <-exited
		in.exit = exitOf(in.pid, ws)
		// The pidfd behind proc is closed now rather than whenever the
		// garbage collector finds it: a supervisor restarting a server
		// a hundred times must not hold a hundred descriptors.
		in.sigMu.Lock()
		p.Release()
		in.released = true
		in.sigMu.Unlock()
		close(in.done)
	}()
	return in, nil
}

// lastLines is what the instance wrote last, for a failure report.
func (in *instance) lastLines() []string {
	if in == nil || in.out == nil {
		return nil
	}
	return in.out.lastLines()
}

func exitOf(pid int, ws syscall.WaitStatus) Exit {
	e := Exit{PID: pid, Code: ws.ExitStatus(), At: time.Now()}
	if ws.Signaled() {
		e.Signal = unix.SignalName(ws.Signal())
		e.Code = 128 + int(ws.Signal())
	}
	return e
}

func (in *instance) exited() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// adopt makes an instance of a server that a dead supervisor left running.
// It is watched through its pidfd; its exit status is not ours to know.
func adopt(r *reaper, spec Spec, p *pidfile.Process) *instance {
	in := &instance{spec: spec, pid: p.PID(), adopted: p, reaper: r, started: p.Record().Started(),
		done: make(chan struct{}), probeAddr: addr(spec.Host, spec.Port)}
	go func() {
		p.Wait(context.Background())
		in.exit = Exit{PID: in.pid, Code: -1, At: time.Now()}
		close(in.done)
	}()
	return in
}

// signal sends sig to the master only; the pidfd behind it makes a late
// signal to a reaped PID a no-op instead of a hit on a stranger.
func (in *instance) signal(sig syscall.Signal) error {
	in.sigMu.Lock()
	defer in.sigMu.Unlock()
	var err error
	switch {
	case in.released:
		return nil
	case in.adopted != nil:
		err = in.adopted.Signal(sig)
	default:
		err = in.proc.Signal(sig)
	}
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// stopSignal sends the spec's stop signal: to the master, or, for a
// Group spec, to its process group (only while the leader is unreaped, so
// the group id is still its own).
func (in *instance) stopSignal() error {
	sig := in.spec.Signals.Stop
	if !in.spec.Signals.Group {
		return in.signal(sig)
	}
	var err error
	switch {
	case in.adopted == nil:
		err = in.reaper.signalGroup(in.pid, sig)
	case !in.exited():
		err = unix.Kill(-in.pid, sig)
	}
	if errors.Is(err, os.ErrProcessDone) || err == unix.ESRCH {
		return nil
	}
	return err
}

// emptied is closed once the master has exited and no process of the
// instance is left, or never if quit closes first.
func (in *instance) emptied(quit <-chan struct{}) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		select {
		case <-in.done:
		case <-quit:
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for len(in.processes()) > 0 {
			select {
			case <-tick.C:
			case <-quit:
				return
			}
		}
		close(ch)
	}()
	return ch
}

// processes lists the master and everything below it or in its group.
func (in *instance) processes() []int {
	var pids []int
	if !in.exited() {
		pids = append(pids, in.pid)
	}
	return append(pids, Descendants(in.pid)...)
}

// kill sends SIGKILL to the group while its leader is unreaped, then to
// every process of the instance found in the tree, until none is left or
// the deadline passes. Returns the PIDs still there.
func (in *instance) kill(deadline time.Time) []int {
	if in.adopted == nil {
		in.reaper.signalGroup(in.pid, syscall.SIGKILL)
	} else if !in.exited() {
		// Not our child, so not ours to keep unreaped: the group is
		// signalled only while its leader is seen alive.
		unix.Kill(-in.pid, syscall.SIGKILL)
	}
	return killAll(in.processes, func(pid int) bool { return ofServer(pid, in.pid) }, deadline)
}

// killAll SIGKILLs what list returns, again and again (a process may fork
// while being killed), until the list is empty or the deadline passes. Each
// one is checked by owns before it is signalled.
func killAll(list func() []int, owns func(pid int) bool, deadline time.Time) []int {
	for {
		pids := list()
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return pids
		}
		for _, pid := range pids {
			signalIf(pid, owns, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeFileAtomic writes content to path with mode (and group gid unless
// it is -1) through a temporary file and a rename, so a server never reads
// half a config.
func writeFileAtomic(path, content string, mode os.FileMode, gid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(content)
	if err == nil && gid >= 0 {
		err = tmp.Chown(-1, gid)
	}
	if err == nil {
		err = tmp.Chmod(mode) // CreateTemp's 0600 is subject to the umask
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
