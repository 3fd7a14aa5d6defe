package control

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// startSequence begins starting spec afresh: start-timeout and the count of
// failed starts run from here.
func (s *Supervisor) startSequence(spec Spec) error {
	s.spec = spec
	s.m.seqStart = time.Now()
	s.m.failures = 0
	return s.startCurrent()
}

// startCurrent spawns the current spec as the current instance.
func (s *Supervisor) startCurrent() error {
	in, err := s.spawn(s.spec, s.m.seqStart.Add(s.spec.StartTimeout))
	if err != nil {
		return &FailError{Server: s.spec.Name, Reason: FailStart, Cause: err.Error()}
	}
	s.setCurrent(in)
	s.to(Starting, "")
	s.log.Info("{server} pid {pid} listening on {address}", "server", s.spec.Name, "pid", in.pid, "address", addr(s.spec.Host, s.spec.Port))
	return nil
}

// adoptServer makes a server left by a dead supervisor the current
// instance; readiness is probed as for a fresh start.
func (s *Supervisor) adoptServer(p *pidfile.Process) {
	in := adopt(s.reaper, s.spec, p)
	go func() {
		<-in.done
		s.emit(event{kind: evExited, inst: in})
	}()
	if s.spec.TakesFD && s.listener == nil {
		if l, err := takeListener(in.pid, addr(s.spec.Host, s.spec.Port)); err != nil {
			s.log.Warn(err.Error() + "; its restarts will stop it before starting the next")
		} else {
			s.listener, s.listenAddr = l, addr(s.spec.Host, s.spec.Port)
		}
	}
	s.m.seqStart = time.Now()
	s.setCurrent(in)
	s.to(Starting, "adopted")
	s.log.Info("adopted {server} pid {pid}, left running by a supervisor that died", "server", s.spec.Name, "pid", in.pid)
	s.watchReady(in, s.spec, s.m.seqStart.Add(s.spec.StartTimeout), nil)
}

// setCurrent makes in the current instance and records it in the pidfile.
func (s *Supervisor) setCurrent(in *instance) {
	s.m.cur = in
	s.record(current, in)
	if g := s.opt.Gear; g != nil {
		g.forget(candidate)
	}
}

// record notes in in the gear's slot, for a supervisor that comes after.
func (s *Supervisor) record(slot string, in *instance) {
	if s.opt.Gear == nil {
		return
	}
	if err := s.opt.Gear.record(slot, in.spec, in.pid); err != nil {
		s.log.Warn("pidfile: " + err.Error())
	}
}

// spawn starts an instance of spec, with the listening socket it needs, and
// the goroutines that report its exit and its readiness (by deadline).
func (s *Supervisor) spawn(spec Spec, deadline time.Time) (*instance, error) {
	if err := s.ensureListener(spec); err != nil {
		return nil, err
	}
	if g := s.opt.Gear; g != nil {
		spec.Env = append(slices.Clip(spec.Env), GearVar+"="+g.Dir)
	}
	said := s.readyLine(spec)
	out, err := s.out.newStream()
	if err != nil {
		return nil, err
	}
	in, err := spawn(s.reaper, spec, s.listener, out.w)
	out.w.Close() // the instance has its own: EOF once it and its children are gone
	if err != nil {
		return nil, err
	}
	in.out = out
	go func() {
		<-in.done
		s.emit(event{kind: evExited, inst: in})
	}()
	s.watchReady(in, spec, deadline, said)
	return in, nil
}

// readyLine returns a wait for the spec's ReadyLine from now on; it
// returns at once when there is none, and says what it missed when ctx
// ended first.
func (s *Supervisor) readyLine(spec Spec) func(context.Context) string {
	if spec.ReadyLine == "" {
		return func(context.Context) string { return "" }
	}
	seen, stop := s.out.watch(spec.ReadyLine)
	return func(ctx context.Context) string {
		defer stop()
		select {
		case <-seen:
			return ""
		case <-ctx.Done():
			return fmt.Sprintf("%s never printed %q", spec.Name, spec.ReadyLine)
		}
	}
}

// watchReady probes in until it is ready or deadline passes, after first
// running before (if any), and reports the outcome as an event. before
// says what it still waited for when the deadline came, which is then the
// cause: a failure never goes without one. An exit ends the probing: the
// exit event speaks for itself.
func (s *Supervisor) watchReady(in *instance, spec Spec, deadline time.Time, before func(context.Context) string) {
	go func() {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		go func() {
			select {
			case <-in.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		var waited string
		if before != nil {
			waited = before(ctx)
		}
		p := newProber(in.probeAddr, spec.ReadyPath, spec.ReadyStatus)
		p.observe = s.probed(Readiness)
		code, detail, err := p.waitReady(ctx)
		switch {
		case detail != "":
		case waited != "":
			detail = waited
		default:
			detail = "no probe got an answer in time"
		}
		switch {
		case err == nil:
			s.emit(event{kind: evReady, inst: in, code: code, detail: detail})
		case !in.exited():
			s.emit(event{kind: evNotReady, inst: in, detail: detail})
		}
	}()
}

// ensureListener opens the socket spec needs, or closes one it does not.
// A socket on the same address is kept, which is what lets a new instance
// take over without a refused connection.
func (s *Supervisor) ensureListener(spec Spec) error {
	want := addr(spec.Host, spec.Port)
	if !spec.TakesFD {
		if s.listener != nil && s.listenAddr == want {
			s.listener.Close()
			s.listener = nil
		}
		// A server that binds by itself could find its port served by
		// another program, whose answers would pass for its own.
		return portFree(want)
	}
	if s.listener != nil && s.listenAddr == want {
		return nil
	}
	l, err := listen(want)
	if err != nil {
		return err
	}
	if s.listener != nil {
		s.listener.Close()
	}
	s.listener, s.listenAddr = l, want
	return nil
}
