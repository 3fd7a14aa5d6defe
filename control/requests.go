package control

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// op is what a request asks of the supervisor; its value is the verb
// errors name.
type op string

const (
	opReload  op = "reload"
	opRestart op = "restart"
	opSignal  op = "signal"
)

type request struct {
	op    op
	spec  Spec
	sig   syscall.Signal
	reply chan error
}

// Reload asks the server for its own graceful reload and returns once it
// answers again.
func (s *Supervisor) Reload(ctx context.Context) error {
	return s.call(ctx, request{op: opReload})
}

// Restart replaces the running server with an instance of spec and returns
// once the new one is ready; if it is not, the old one keeps serving.
func (s *Supervisor) Restart(ctx context.Context, spec Spec) error {
	return s.call(ctx, request{op: opRestart, spec: spec})
}

// Signal relays sig to the server's master process.
func (s *Supervisor) Signal(sig syscall.Signal) error {
	return s.call(context.Background(), request{op: opSignal, sig: sig})
}

func (s *Supervisor) call(ctx context.Context, req request) error {
	req.reply = make(chan error, 1)
	select {
	case s.reqs <- req:
	case <-s.quit:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-s.quit:
		return ErrStopped
	}
}

// serve starts a request. Requests that complete later (a reload or a
// restart waiting for readiness) are answered from the event that completes
// them. It returns an error only when the gear itself failed.
func (s *Supervisor) serve(req request) error {
	state := s.m.state
	switch {
	case req.op == opRestart:
		return s.beginRestart(req)
	case s.m.cur == nil || s.m.restart != nil || (req.op == opReload && state != Ready):
		req.reply <- &StateError{Op: string(req.op), State: state}
	case req.op == opSignal:
		req.reply <- s.m.cur.signal(req.sig)
	case req.op == opReload && s.spec.Signals.Reload == 0:
		req.reply <- fmt.Errorf("cannot reload: %s has %w; use restart", s.spec.Name, ErrNoReload)
	case req.op == opReload:
		s.reload(req.reply)
	}
	return nil
}

// reload sends the server its reload signal and probes it again once every
// worker that was there before has gone, so the answer comes from new code.
// Its workers are the master's forks: helper processes the application
// started (a `sleep` at import) may live on, and are not waited for. The
// wait is bounded by the stop timeout, as the workers' graceful exit is: a
// worker that outstays it only delays the probe.
func (s *Supervisor) reload(reply chan error) {
	in := s.m.cur
	workers, sig := forks(in.pid), s.spec.Signals.Worker
	old := pidfds(workers)
	said := s.readyLine(s.spec)
	s.to(Reloading, "")
	s.m.seqStart = time.Now()
	s.m.reloadReply = reply
	if err := in.signal(s.spec.Signals.Reload); err != nil {
		closeAll(old)
		s.m.reloadReply = nil
		s.to(Ready, "")
		reply <- err
		return
	}
	s.log.Info("reloading {server} pid {pid}", "server", s.spec.Name, "pid", in.pid)
	s.watchReady(in, s.spec, s.m.seqStart.Add(s.spec.StartTimeout), func(ctx context.Context) string {
		// Only the workers from before the reload: new ones must stay.
		stop := nudge(in.pid, func() []int { return workers }, sig)
		wctx, cancel := context.WithTimeout(ctx, s.spec.StopTimeout)
		waitExited(wctx, old)
		cancel()
		stop()
		closeAll(old)
		return said(ctx)
	})
}
