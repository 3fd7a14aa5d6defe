package control

import (
	"fmt"
	"time"
)

type eventKind int

const (
	evExited eventKind = iota
	evReady
	evNotReady
	evRetry
	// evLive is a liveness probe of a ready instance: code 0 failed,
	// with fails in a row.
	evLive
)

type event struct {
	kind   eventKind
	inst   *instance
	detail string
	// code is the HTTP status of a ready probe.
	code int
	// fails counts the liveness probes in a row that failed.
	fails int
}

// handle applies one event to the gear: an instance exited, got ready or
// did not in time, or a backoff ended. It returns an error only when the
// gear has failed for good.
func (s *Supervisor) handle(ev event) error {
	if op := s.m.restart; op != nil && ev.inst != nil && ev.inst == op.cand {
		return s.handleCandidate(ev)
	}
	if ev.kind == evRetry {
		if s.m.cur == nil && s.m.restart == nil {
			return s.startCurrent()
		}
		return nil
	}
	if ev.inst != s.m.cur || s.m.cur == nil {
		return nil // a retired or replaced instance
	}
	state := s.m.state
	switch ev.kind {
	case evReady:
		// failures is not reset here but once the server has stayed up
		// (see exited): a server that dies right after each start must
		// still end up failed.
		now := time.Now()
		s.update(func(st *Status) { st.ReadyAt, st.ReadyCode = now, ev.code })
		// Observed before the gear is published ready: whoever sees it
		// ready sees it counted.
		switch {
		case state == Reloading:
			s.readied(Reloading, now.Sub(s.m.seqStart))
		case ev.inst.adopted == nil:
			s.readied(Starting, now.Sub(ev.inst.started))
		}
		s.to(Ready, "")
		s.log.Info("ready in {took}", "took", now.Sub(s.m.seqStart), "answer", ev.detail)
		if state != Reloading {
			// A reloaded server keeps the watch its start began.
			s.watchLive(ev.inst, s.spec)
		}
		s.answerReload(nil)
	case evLive:
		s.live(state, ev)
	case evNotReady:
		cause := fmt.Sprintf("not ready within %s: %s", s.spec.StartTimeout, ev.detail)
		if state == Reloading {
			// The server runs on as it is: stopping it would turn a failed
			// reload into an outage. Should it not answer any more, the
			// liveness probe restarts it.
			s.log.Warn("reload of {server} pid {pid}: {cause}; it keeps running", "server", s.spec.Name, "pid", ev.inst.pid, "cause", cause)
			s.to(Ready, "")
			s.answerReload(fmt.Errorf("reload of %s pid %d failed: %s", s.spec.Name, ev.inst.pid, cause))
			return nil
		}
		err := s.fail(ev.inst, FailNotReady, cause)
		s.answerReload(err)
		return err
	case evExited:
		err := s.exited(state)
		if state == Reloading {
			s.answerReload(fmt.Errorf("%s pid %d %s during reload", s.spec.Name, ev.inst.pid, ev.inst.exit))
		}
		return err
	}
	return nil
}

// live applies a liveness probe's outcome: a failed probe makes a ready
// gear unready, a passing one ready again, and failures past ProbeFailures
// kill the server, whose exit then restarts it as a crash.
func (s *Supervisor) live(state State, ev event) {
	in := s.m.cur
	if (state != Ready && state != Unready) || in.exited() {
		return // a probe that raced a reload, restart, stop or the kill
	}
	switch {
	case ev.code != 0:
		s.log.Info("{server} pid {pid} answers again: {answer}", "server", s.spec.Name, "pid", in.pid, "answer", ev.detail)
		s.to(Ready, "")
	case ev.fails >= max(s.spec.ProbeFailures, 1):
		s.log.Warn("{server} pid {pid} failed {fails} liveness probes in a row (last: {answer}); killing it", "server", s.spec.Name, "pid", in.pid, "fails", ev.fails, "answer", ev.detail)
		in.kill(time.Now().Add(killWait))
	default:
		s.log.Warn("{server} pid {pid} failed liveness probe {fails} of {of}: {answer}", "server", s.spec.Name, "pid", in.pid, "fails", ev.fails, "of", max(s.spec.ProbeFailures, 1), "answer", ev.detail)
		s.to(Unready, fmt.Sprintf("failed %d liveness probes in a row: %s", ev.fails, ev.detail))
	}
}

func (s *Supervisor) answerReload(err error) {
	if s.m.reloadReply != nil {
		s.m.reloadReply <- err
		s.m.reloadReply = nil
	}
}

// exited handles the unexpected exit of the current instance.
func (s *Supervisor) exited(state State) error {
	in := s.m.cur
	exit := in.exit
	s.update(func(st *Status) { st.LastExit = &exit })
	// Workers of a dead master would go on serving old code, or hold the
	// port the next instance needs (an Apache parent's children do).
	in.kill(time.Now().Add(s.spec.StopTimeout))
	s.m.cur = nil
	if op := s.m.restart; op != nil {
		// The candidate takes over, or this spec is started again.
		s.log.Warn("{server} pid {pid} {exit} during a restart", "server", s.spec.Name, "pid", in.pid, "exit", exit.String())
		fallback := s.spec
		op.fallback = &fallback
		return nil
	}
	if state == Ready || state == Reloading || state == Unready {
		// A server that dies right after it got ready is crash-looping
		// (a port taken by another program answers the probe, a worker
		// that dies on its first request): such exits count as failed
		// starts. One that stayed up restarts at once.
		quick := time.Since(s.Status().ReadyAt) < minUptime
		s.update(func(st *Status) { st.Restarts++; st.Crashes++ })
		if !quick {
			s.log.Warn("{server} pid {pid} {exit}; restarting", "server", s.spec.Name, "pid", in.pid, "exit", exit.String())
			return s.startSequence(s.spec)
		}
		s.m.seqStart = time.Now()
	}
	s.m.failures++
	cause := fmt.Sprintf("pid %d %s before it was ready", in.pid, exit)
	if state == Ready || state == Reloading || state == Unready {
		cause = fmt.Sprintf("pid %d %s within %s of being ready", in.pid, exit, minUptime)
	}
	if s.m.failures >= maxStartFailures {
		return s.fail(in, FailExited, fmt.Sprintf("exited %d times in a row before it was ready or soon after; last: %s", s.m.failures, cause))
	}
	wait := backoff(s.m.failures)
	if time.Now().Add(wait).After(s.m.seqStart.Add(s.spec.StartTimeout)) {
		return s.fail(in, FailNotReady, fmt.Sprintf("not ready within %s; last: %s", s.spec.StartTimeout, cause))
	}
	s.log.Warn("{server} {cause}; restarting in {wait}", "server", s.spec.Name, "cause", cause, "wait", wait)
	s.to(Backoff, cause)
	s.m.retry = time.AfterFunc(wait, func() { s.emit(event{kind: evRetry}) })
	return nil
}

// fail is the gear's failure, with its last lines once in has written
// all it had to say.
func (s *Supervisor) fail(in *instance, why FailReason, cause string) error {
	if in != nil && in.out != nil {
		in.out.settle()
	}
	return &FailError{Server: s.spec.Name, Reason: why, Cause: cause, LastLines: s.out.lastLines()}
}
