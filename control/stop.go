package control

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"time"
)

// killWait bounds how long SIGKILLed processes may take to disappear.
const killWait = 5 * time.Second

// stop stops in gracefully with its server's own stop signal, and kills
// the whole instance when it has not exited within its stop timeout or
// when force is closed (stop --now). It returns once no process of the
// instance is left, or killWait after the kill; warn hears what did not go
// as asked.
func (in *instance) stop(force <-chan struct{}, warn func(string)) {
	// Every worker, including those the master forks after the signal.
	stopNudge := nudge(in.pid, func() []int { return children(in.pid) }, in.spec.Signals.Worker)
	defer stopNudge()
	if err := in.stopSignal(); err != nil {
		warn(fmt.Sprintf("signal %s pid %d: %v", in.spec.Name, in.pid, err))
	}
	timer := time.NewTimer(in.spec.StopTimeout)
	defer timer.Stop()
	var gone <-chan struct{} = in.done
	if in.spec.Signals.Group {
		quit := make(chan struct{})
		defer close(quit)
		gone = in.emptied(quit)
	}
	select {
	case <-gone:
	case <-timer.C:
		warn(fmt.Sprintf("%s pid %d did not stop within %s; killing it", in.spec.Name, in.pid, in.spec.StopTimeout))
	case <-force:
		warn(fmt.Sprintf("killing %s pid %d", in.spec.Name, in.pid))
	}
	// After a graceful exit this only finds workers the master left behind.
	if left := in.kill(time.Now().Add(killWait)); len(left) > 0 {
		warn(fmt.Sprintf("processes of %s pid %d survived SIGKILL: %v", in.spec.Name, in.pid, left))
	}
}

// shutdown stops everything of the gear and returns Run's result: cause, or
// an error when a process could not be ended.
func (s *Supervisor) shutdown(cause error) error {
	s.update(func(st *Status) { st.Warnings = nil })
	s.to(Stopping, "")
	// Stopping is published before the drain so that an agent check says
	// "drain" at once.
	if s.m.retry != nil {
		s.m.retry.Stop()
	}
	if op := s.m.restart; op != nil {
		s.m.restart = nil
		op.cand.stop(s.force, s.warn)
		op.reply <- ErrStopped
	}
	s.answerReload(ErrStopped)
	// What holds the gear's listening sockets outside the process tree
	// after the stop is of a server a dead supervisor started, adopted by
	// this one: they are learned while the server still runs.
	socks := sockets{}
	if ino, ok := inode(s.listener); ok {
		socks[ino] = true
	}
	if s.m.cur != nil {
		maps.Copy(socks, listenersOf(s.m.cur.pid, s.m.cur.spec.Port))
		s.beforeStop()
		s.log.Info("stopping {server} pid {pid}", "server", s.spec.Name, "pid", s.m.cur.pid)
		s.m.cur.stop(s.force, s.warn)
		exit := s.m.cur.exit
		s.update(func(st *Status) { st.LastExit = &exit })
		s.m.cur = nil
	}
	s.retiring.Wait()
	// Orphans of earlier instances and daemons that left their group are
	// still descendants: this process is their subreaper.
	deadline := time.Now().Add(killWait)
	left := killAll(func() []int { return Descendants(os.Getpid()) }, func(pid int) bool { return ofServer(pid, 0) }, deadline)
	if g := s.opt.Gear; g != nil {
		left = append(left, socks.sweep(g.Dir, deadline)...)
		g.forget(current)
		g.forget(candidate)
	}
	if len(left) > 0 {
		s.warn(fmt.Sprintf("processes left after stop: %v", left))
	}
	var failed *FailError
	switch {
	case errors.As(cause, &failed):
		s.update(func(st *Status) { st.Failure = failed })
		s.to(Failed, failed.Cause)
	default:
		s.to(Stopped, "")
	}
	if len(left) > 0 {
		return errors.Join(cause, fmt.Errorf("processes left after stop: %v", left))
	}
	return cause
}
