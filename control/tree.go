package control

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/pidfile"
	"golang.org/x/sys/unix"
)

// proc is what the process tree needs of one /proc entry.
type proc struct {
	pid, ppid, pgid, sid int
}

func readProc(pid int) (proc, error) {
	st, err := pidfile.ReadStat(pid)
	if err != nil {
		return proc{}, err
	}
	return proc{pid: pid, ppid: st.PPID, pgid: st.PGID, sid: st.SID}, nil
}

// processTable lists every process visible in /proc.
func processTable() []proc {
	ents, _ := os.ReadDir("/proc")
	procs := make([]proc, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(pid); err == nil {
			procs = append(procs, p)
		}
	}
	return procs
}

// Descendants returns the PIDs below root in the process tree, and those in
// root's process group or session (workers whose parent died, and daemons
// that double-forked, were re-parented away from root but kept the group or
// the session a server gets of its own), root itself excluded.
func Descendants(root int) []int {
	procs := processTable()
	children := make(map[int][]int)
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	seen := map[int]bool{root: true}
	var out []int
	var walk func(int)
	walk = func(pid int) {
		for _, c := range children[pid] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(root)
	if root != os.Getpid() {
		for _, p := range procs {
			if (p.pgid == root || p.sid == root) && !seen[p.pid] {
				seen[p.pid] = true
				out = append(out, p.pid)
				walk(p.pid)
			}
		}
	}
	return out
}

// children returns the PIDs whose parent is pid: a master's workers.
func children(pid int) []int {
	var out []int
	for _, p := range processTable() {
		if p.ppid == pid {
			out = append(out, p.pid)
		}
	}
	return out
}

// forks returns the children of pid that run its executable: a master's
// forked workers, not the programs it or its application started.
func forks(pid int) []int {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return nil
	}
	var out []int
	for _, c := range children(pid) {
		if e, err := os.Readlink("/proc/" + strconv.Itoa(c) + "/exe"); err == nil && e == exe {
			out = append(out, c)
		}
	}
	return out
}

// nudgeEvery is how often workers that should be leaving are reminded.
const nudgeEvery = 500 * time.Millisecond

// nudge sends sig every nudgeEvery to the processes workers lists that are
// still children of master, until the returned stop is called: the workers
// a master's own relay missed (Signals.Worker). Each is pinned by pidfd and
// checked before the signal, so a PID reused by another process is not hit.
// stop returns once no more signal can be sent.
func nudge(master int, workers func() []int, sig syscall.Signal) (stop func()) {
	if sig == 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(nudgeEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, pid := range workers() {
					signalChild(master, pid, sig)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// signalChild signals pid if it is still a child of parent.
func signalChild(parent, pid int, sig syscall.Signal) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if p, err := readProc(pid); err == nil && p.ppid == parent {
		unix.PidfdSendSignal(fd, sig, nil, 0)
	}
}

// descendsFrom reports whether pid's chain of parents reaches ancestor.
func descendsFrom(pid, ancestor int) bool {
	for range 256 {
		p, err := readProc(pid)
		if err != nil || p.ppid <= 0 {
			return false
		}
		if p.ppid == ancestor {
			return true
		}
		pid = p.ppid
	}
	return false
}

// ofServer reports whether pid belongs to the server whose master is
// leader (0 for none): below this process, or in the leader's process
// group or session, or below the leader.
func ofServer(pid, leader int) bool {
	if descendsFrom(pid, os.Getpid()) {
		return true
	}
	if leader <= 0 {
		return false
	}
	p, err := readProc(pid)
	return err == nil && (p.pgid == leader || p.sid == leader || descendsFrom(pid, leader))
}

// signalIf signals pid only if owns says it still belongs to what is being
// stopped. The pidfd pins the process first, so the check and the signal
// are about the same process even if pid is reused in between.
func signalIf(pid int, owns func(pid int) bool, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return os.ErrProcessDone
		}
		return err
	}
	defer unix.Close(fd)
	if !owns(pid) {
		return os.ErrProcessDone
	}
	err = unix.PidfdSendSignal(fd, sig, nil, 0)
	if err == unix.ESRCH {
		return os.ErrProcessDone
	}
	return err
}

// pidfds pins each of pids with a pidfd; PIDs already gone are skipped.
func pidfds(pids []int) []int {
	var fds []int
	for _, pid := range pids {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// waitExited returns once every pinned process has exited, or ctx ends.
// A pidfd becomes readable when its process exits, child of ours or not.
func waitExited(ctx context.Context, fds []int) {
	for len(fds) > 0 && ctx.Err() == nil {
		pfds := make([]unix.PollFd, len(fds))
		for i, fd := range fds {
			pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		if _, err := unix.Poll(pfds, 20); err != nil && err != unix.EINTR {
			return
		}
		var left []int
		for i, p := range pfds {
			if p.Revents == 0 {
				left = append(left, fds[i])
			}
		}
		fds = left
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
