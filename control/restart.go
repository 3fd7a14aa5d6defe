package control

import (
	"fmt"
	"time"
)

// restartOp is a restart under way: a candidate instance of spec that
// becomes current once ready, or is dropped.
type restartOp struct {
	spec  Spec
	cand  *instance
	reply chan error
	// begun is when the restart was asked for.
	begun time.Time
	// fallback is the spec to start again when the candidate fails and no
	// instance is left serving (a restart that had to stop the old one).
	fallback *Spec
}

// beginRestart starts a candidate instance of the requested spec. When the
// new server takes the listening socket it runs beside the current one,
// which serves until the candidate is ready; otherwise the current one has
// to be stopped first and is started again if the candidate fails.
func (s *Supervisor) beginRestart(req request) error {
	state := s.m.state
	if s.m.restart != nil || state == Reloading {
		req.reply <- &StateError{Op: string(opRestart), State: state}
		return nil
	}
	spec := req.spec
	op := &restartOp{spec: spec, reply: req.reply, begun: time.Now()}
	serving := s.m.cur != nil && state == Ready
	overlap, handover := s.handover(serving, spec)
	s.to(Restarting, "")
	if !overlap {
		if s.m.retry != nil {
			s.m.retry.Stop()
		}
		if s.m.cur != nil {
			if serving {
				s.beforeStop()
				fallback := s.spec
				op.fallback = &fallback
				s.log.Info("{server} cannot hand its socket over: stopping pid {pid} before starting {next}", "server", s.spec.Name, "pid", s.m.cur.pid, "next", spec.Name)
			}
			s.m.cur.stop(s.force, s.warn)
			s.m.cur = nil
		}
	}
	cand, err := s.spawn(spec, time.Now().Add(spec.StartTimeout))
	if err != nil {
		return s.restartFailed(op, FailStart, err.Error())
	}
	op.cand = cand
	s.m.restart = op
	s.record(candidate, cand)
	s.update(func(st *Status) { st.Handover = handover })
	s.log.Info("{server} pid {pid} starting beside the current instance", "server", spec.Name, "pid", cand.pid)
	return nil
}

// handover decides whether spec can start beside the serving instance,
// and says how the traffic passes from one to the other. Beside it when
// the new instance can be asked on a socket of its own: another address, or
// the shared listening socket plus a private probe socket. Otherwise the
// old one stops first: where the listening socket stays open, connections
// wait in its backlog meanwhile; where a server binds its own port, they
// are refused.
func (s *Supervisor) handover(serving bool, spec Spec) (overlap bool, how string) {
	want, have := addr(spec.Host, spec.Port), addr(s.spec.Host, s.spec.Port)
	sharable := s.listener != nil && s.listenAddr == want
	switch {
	case !serving:
		return false, "nothing was serving"
	case want != have:
		return true, fmt.Sprintf("the new instance started on %s beside the old one on %s, which stopped once the new one answered", want, have)
	case spec.TakesFD && spec.ProbeFD && sharable:
		return true, "the new instance started beside the old one on the same socket; the old one stopped once the new one answered"
	case spec.TakesFD && sharable:
		return false, "the old instance stopped first; connections waited in the listening socket's backlog"
	}
	return false, fmt.Sprintf("the old instance stopped first; connections to %s were refused meanwhile (%s binds its own port)",
		want, pick(spec.TakesFD, s.spec.Name, spec.Name))
}

// handleCandidate promotes a ready candidate or drops a failed one.
func (s *Supervisor) handleCandidate(ev event) error {
	op := s.m.restart
	cand := op.cand
	switch ev.kind {
	case evReady:
		old := s.m.cur
		if old != nil && addr(old.spec.Host, old.spec.Port) != addr(op.spec.Host, op.spec.Port) {
			// Traffic has to move to another address: the load balancer
			// takes the new one in before the old one goes.
			if err := s.handoverHook(old.spec, op.spec); err != nil {
				cand.kill(time.Now().Add(op.spec.StopTimeout))
				return s.restartFailed(op, FailHandover, "handing over: "+err.Error())
			}
		}
		s.m.restart = nil
		if s.listener != nil && s.listenAddr != addr(op.spec.Host, op.spec.Port) {
			s.listener.Close() // the old instance has its own copy
			s.listener = nil
		}
		s.setCurrent(cand)
		s.spec, s.m.seqStart, s.m.failures = op.spec, cand.started, 0
		now := time.Now()
		s.update(func(st *Status) {
			st.ReadyAt, st.ReadyCode = now, ev.code
			st.Restarts++
			st.Requested++
		})
		s.readied(Restarting, now.Sub(op.begun))
		s.to(Ready, "")
		s.log.Info("{server} pid {pid} ready in {took}", "server", op.spec.Name, "pid", cand.pid, "took", now.Sub(cand.started), "answer", ev.detail)
		s.watchLive(cand, op.spec)
		s.retire(old, op.reply)
		return nil
	case evNotReady:
		cand.kill(time.Now().Add(op.spec.StopTimeout))
		return s.restartFailed(op, FailNotReady, fmt.Sprintf("not ready within %s: %s", op.spec.StartTimeout, ev.detail))
	case evExited:
		cand.kill(time.Now().Add(op.spec.StopTimeout))
		return s.restartFailed(op, FailExited, fmt.Sprintf("pid %d %s before it was ready", cand.pid, cand.exit))
	}
	return nil
}

// restartFailed answers a failed restart and leaves the gear serving with
// what it had: the current instance, or the previous spec started again.
func (s *Supervisor) restartFailed(op *restartOp, why FailReason, cause string) error {
	s.m.restart = nil
	if g := s.opt.Gear; g != nil {
		g.forget(candidate)
	}
	err := &FailError{Server: op.spec.Name, Reason: why, Cause: cause, LastLines: op.cand.lastLines()}
	switch {
	case s.m.cur != nil:
		s.to(Ready, "")
		err.Serving = s.m.cur.pid
		err.Cause += fmt.Sprintf("; %s pid %d keeps serving", s.spec.Name, s.m.cur.pid)
		op.reply <- err
		return nil
	case op.fallback != nil:
		err.Cause += fmt.Sprintf("; starting %s again", op.fallback.Name)
		op.reply <- err
		return s.startSequence(*op.fallback)
	}
	op.reply <- err
	return err
}

// retire stops an instance that has been replaced, in the background since
// the new one already serves, and then answers the restart: once it
// returns, no new request reaches old code.
func (s *Supervisor) retire(in *instance, reply chan error) {
	if in == nil {
		reply <- nil
		return
	}
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		in.stop(s.force, s.warn)
		reply <- nil
	}()
}

func pick(first bool, a, b string) string {
	if first {
		return a
	}
	return b
}
