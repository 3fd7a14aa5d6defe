package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// Options are the parts of a supervisor that are not the server.
type Options struct {
	Logger *slog.Logger
	// Output receives the servers' stdout and stderr as whole lines.
	Output io.Writer
	// OnChange is called with every new status, in order, from the
	// supervisor's own goroutine: keep it short.
	OnChange func(Status)
	// Listener, when set, is a listening socket inherited from systemd; it
	// is handed to servers that take one instead of opening a new one.
	Listener *os.File
	// BeforeStop is called before a serving instance is stopped with
	// nothing to take over its socket (a final stop, or a restart of a
	// server that binds its own port): a load balancer drains the gear
	// first. It runs on the supervisor's goroutine and must be bounded.
	BeforeStop func()
	// Handover is called when a restart moves the gear to another address,
	// once the new instance is ready and before the old one is stopped: a
	// load balancer registers the new address and drains the old one. An
	// error fails the restart: the new instance is stopped and the old one
	// keeps serving. It runs on the supervisor's goroutine and must be
	// bounded.
	Handover func(from, to Spec) error
	// Adopt is a server such a dead supervisor left running: it is watched
	// through its pidfd and stopped or replaced like an own instance.
	Adopt *pidfile.Process

	// gear, when set by Gear.Run, records the current server master with
	// its start time and spec, so that a supervisor started after this one
	// died can find the server and adopt or stop it.
	gear *Gear
}

// Supervisor runs one gear: one server instance at a time, two during a
// restart. All its state is owned by the goroutine in Run; other goroutines
// talk to it through requests and read Status snapshots.
type Supervisor struct {
	spec Spec
	opt  Options
	log  *slog.Logger

	reaper *reaper
	out    *output // set once by Run, under mu

	// listener is the socket servers that take one get as fd 3, open on
	// listenAddr; nil when the current server binds by itself.
	listener   *os.File
	listenAddr string

	reqs     chan request
	events   chan event
	stopping chan struct{} // closed by the first Stop
	force    chan struct{} // closed by the second Stop
	stopOnce sync.Once
	quit     chan struct{} // closed when Run returns

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced at each state change

	// Owned by Run's goroutine.
	cur      *instance
	seqStart time.Time // when the current start sequence began
	failures int       // instances in a row that exited before ready
	retry    *time.Timer
	restart  *restartOp
	// reloadReply answers the reload under way.
	reloadReply chan error
	retiring    sync.WaitGroup
	release     releaser
}

// restartOp is a restart under way: a candidate instance of spec that
// becomes current once ready, or is dropped.
type restartOp struct {
	spec  Spec
	cand  *instance
	reply chan error
	// fallback is the spec to start again when the candidate fails and no
	// instance is left serving (a restart that had to stop the old one).
	fallback *Spec
}

type eventKind int

const (
	evExited eventKind = iota
	evReady
	evNotReady
	evRetry
)

type event struct {
	kind   eventKind
	inst   *instance
	detail string
}

type request struct {
	op    string // "reload", "restart", "signal"
	spec  Spec
	sig   syscall.Signal
	reply chan error
}

// New returns a supervisor for spec; Run starts it.
func New(spec Spec, opt Options) *Supervisor {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Output == nil {
		opt.Output = os.Stdout
	}
	return &Supervisor{
		spec:     spec,
		opt:      opt,
		log:      opt.Logger,
		reqs:     make(chan request),
		events:   make(chan event, 16),
		stopping: make(chan struct{}),
		force:    make(chan struct{}),
		quit:     make(chan struct{}),
		changed:  make(chan struct{}),
		// Starting from the first moment: a client that asks before Run
		// has spawned anything must not take the gear for stopped.
		status: Status{
			State:         Starting,
			Server:        spec.Name,
			SupervisorPID: os.Getpid(),
			Listen:        addr(spec.Host, spec.Port),
			Settings:      spec.Settings,
		},
	}
}

// Run starts the server and supervises it until it is stopped for good. It
// returns nil after a requested stop once no process of the gear is left, and
// an error (a *FailError when the server could not be made ready) otherwise.
func (s *Supervisor) Run() (err error) {
	defer close(s.quit)
	if s.reaper, err = startReaper(); err != nil {
		return err
	}
	s.mu.Lock()
	s.out = newOutput(s.opt.Output)
	s.mu.Unlock()
	defer s.out.wait(2 * time.Second)
	if s.opt.Listener != nil {
		s.listener, s.listenAddr = s.opt.Listener, addr(s.spec.Host, s.spec.Port)
	}
	defer func() {
		if s.listener != nil {
			s.listener.Close()
		}
	}()

	if s.opt.Adopt != nil {
		s.adoptServer(s.opt.Adopt)
	} else {
		err = s.startSequence(s.spec)
	}
	for err == nil {
		select {
		case ev := <-s.events:
			err = s.handle(ev)
		case req := <-s.reqs:
			err = s.serve(req)
		case <-s.stopping:
			return s.shutdown(nil)
		}
	}
	var failed *FailError
	if errors.As(err, &failed) {
		return s.shutdown(err)
	}
	return err
}

// Stop asks for a graceful stop; a second call kills what is left at once.
// It returns without waiting: Run returns when the stop is done.
func (s *Supervisor) Stop() {
	select {
	case <-s.stopping:
		s.stopOnce.Do(func() { close(s.force) })
	default:
		close(s.stopping)
	}
}

// Done is closed when Run has returned.
func (s *Supervisor) Done() <-chan struct{} { return s.quit }

// Status returns a snapshot of the gear.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Watch returns the status and a channel closed at the next state change.
func (s *Supervisor) Watch() (Status, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.changed
}

// outputErr is the last error writing the servers' output, nil once a
// write succeeds again.
func (s *Supervisor) outputErr() error {
	s.mu.Lock()
	out := s.out
	s.mu.Unlock()
	if out == nil {
		return nil
	}
	return out.err()
}

// Reload asks the server for its own graceful reload and returns once it
// answers again.
func (s *Supervisor) Reload(ctx context.Context) error {
	return s.call(ctx, request{op: "reload"})
}

// Restart replaces the running server with an instance of spec and returns
// once the new one is ready; if it is not, the old one keeps serving.
func (s *Supervisor) Restart(ctx context.Context, spec Spec) error {
	return s.call(ctx, request{op: "restart", spec: spec})
}

// Signal relays sig to the server's master process.
func (s *Supervisor) Signal(sig syscall.Signal) error {
	return s.call(context.Background(), request{op: "signal", sig: sig})
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

// setState records a new state and publishes it.
func (s *Supervisor) setState(st State, detail string) {
	s.mu.Lock()
	s.status.State = st
	s.status.Detail = detail
	s.status.Server = s.spec.Name
	s.status.Listen = addr(s.spec.Host, s.spec.Port)
	s.status.Settings = s.spec.Settings
	s.status.PID = 0
	s.status.StartedAt = time.Time{}
	if s.cur != nil && !s.cur.exited() {
		s.status.PID = s.cur.pid
		s.status.StartedAt = s.cur.started
	}
	if st != Ready && st != Reloading {
		s.status.ReadyAt = time.Time{}
	}
	snap := s.status
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.opt.OnChange != nil {
		s.opt.OnChange(snap)
	}
}

// emit hands an event to Run, or drops it once Run has returned.
func (s *Supervisor) emit(ev event) {
	select {
	case s.events <- ev:
	case <-s.quit:
	}
}

func (s *Supervisor) update(f func(*Status)) {
	s.mu.Lock()
	f(&s.status)
	s.mu.Unlock()
}

// startSequence begins starting spec afresh: start-timeout and the count of
// failed starts run from here.
func (s *Supervisor) startSequence(spec Spec) error {
	s.spec = spec
	s.seqStart = time.Now()
	s.failures = 0
	return s.startCurrent()
}

// startCurrent spawns the current spec as the current instance.
func (s *Supervisor) startCurrent() error {
	in, err := s.spawn(s.spec, s.seqStart.Add(s.spec.StartTimeout))
	if err != nil {
		return &FailError{Server: s.spec.Name, Cause: err.Error()}
	}
	s.setCurrent(in)
	s.setState(Starting, "")
	s.log.Info(fmt.Sprintf("%s pid %d listening on %s", s.spec.Name, in.pid, addr(s.spec.Host, s.spec.Port)))
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
	s.seqStart = time.Now()
	s.setCurrent(in)
	s.setState(Starting, "adopted")
	s.log.Info(fmt.Sprintf("adopted %s pid %d, left running by a supervisor that died", s.spec.Name, in.pid))
	s.watchReady(in, s.spec, s.seqStart.Add(s.spec.StartTimeout), nil)
}

// beforeStop gives the load balancer its chance to drain a gear that is
// about to stop serving.
func (s *Supervisor) beforeStop() {
	if s.opt.BeforeStop != nil {
		s.opt.BeforeStop()
	}
}

func (s *Supervisor) handoverHook(from, to Spec) error {
	if s.opt.Handover == nil {
		return nil
	}
	return s.opt.Handover(from, to)
}

// setCurrent makes in the current instance and records it in the pidfile.
func (s *Supervisor) setCurrent(in *instance) {
	s.cur = in
	s.record(current, in)
	if g := s.opt.gear; g != nil {
		g.forget(candidate)
	}
}

// record notes in in the gear's slot, for a supervisor that comes after.
func (s *Supervisor) record(slot string, in *instance) {
	if s.opt.gear == nil {
		return
	}
	if err := s.opt.gear.record(slot, in.spec, in.pid); err != nil {
		s.log.Warn("pidfile: " + err.Error())
	}
}

// spawn starts an instance of spec, with the listening socket it needs, and
// the goroutines that report its exit and its readiness (by deadline).
func (s *Supervisor) spawn(spec Spec, deadline time.Time) (*instance, error) {
	if err := s.ensureListener(spec); err != nil {
		return nil, err
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
// returns at once when there is none.
func (s *Supervisor) readyLine(spec Spec) func(context.Context) {
	if spec.ReadyLine == "" {
		return func(context.Context) {}
	}
	seen := s.out.watch(spec.ReadyLine)
	return func(ctx context.Context) {
		select {
		case <-seen:
		case <-ctx.Done():
		}
	}
}

// watchReady probes in until it is ready or deadline passes, after first
// running before (if any), and reports the outcome as an event. An exit
// ends the probing: the exit event speaks for itself.
func (s *Supervisor) watchReady(in *instance, spec Spec, deadline time.Time, before func(context.Context)) {
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
		if before != nil {
			before(ctx)
		}
		detail, err := newProber(in.probeAddr, spec.ReadyPath).waitReady(ctx)
		switch {
		case err == nil:
			s.emit(event{kind: evReady, inst: in, detail: detail})
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

func (s *Supervisor) handle(ev event) error {
	if op := s.restart; op != nil && ev.inst != nil && ev.inst == op.cand {
		return s.handleCandidate(ev)
	}
	if ev.kind == evRetry {
		if s.cur == nil && s.restart == nil {
			return s.startCurrent()
		}
		return nil
	}
	if ev.inst != s.cur || s.cur == nil {
		return nil // a retired or replaced instance
	}
	state := s.Status().State
	switch ev.kind {
	case evReady:
		// failures is not reset here but once the server has stayed up
		// (see exited): a server that dies right after each start must
		// still end up failed.
		now := time.Now()
		s.update(func(st *Status) { st.ReadyAt = now })
		s.setState(Ready, "")
		s.log.Info(fmt.Sprintf("ready in %.2fs", now.Sub(s.seqStart).Seconds()), "answer", ev.detail)
		s.release.soon()
		s.answerReload(nil)
	case evNotReady:
		err := s.fail(ev.inst, fmt.Sprintf("not ready within %s: %s", s.spec.StartTimeout, ev.detail))
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

func (s *Supervisor) answerReload(err error) {
	if s.reloadReply != nil {
		s.reloadReply <- err
		s.reloadReply = nil
	}
}

// exited handles the unexpected exit of the current instance.
func (s *Supervisor) exited(state State) error {
	in := s.cur
	exit := in.exit
	s.update(func(st *Status) { st.LastExit = &exit })
	// Workers of a dead master would go on serving old code, or hold the
	// port the next instance needs (an Apache parent's children do).
	in.kill(time.Now().Add(s.spec.StopTimeout))
	s.cur = nil
	if op := s.restart; op != nil {
		// The candidate takes over, or this spec is started again.
		s.log.Warn(fmt.Sprintf("%s pid %d %s during a restart", s.spec.Name, in.pid, exit))
		fallback := s.spec
		op.fallback = &fallback
		return nil
	}
	if state == Ready || state == Reloading {
		// A server that dies right after it got ready is crash-looping
		// (a port taken by another program answers the probe, a worker
		// that dies on its first request): such exits count as failed
		// starts. One that stayed up restarts at once.
		quick := time.Since(s.Status().ReadyAt) < minUptime
		s.update(func(st *Status) { st.Restarts++ })
		if !quick {
			s.log.Warn(fmt.Sprintf("%s pid %d %s; restarting", s.spec.Name, in.pid, exit))
			return s.startSequence(s.spec)
		}
		s.seqStart = time.Now()
	}
	s.failures++
	cause := fmt.Sprintf("pid %d %s before it was ready", in.pid, exit)
	if state == Ready || state == Reloading {
		cause = fmt.Sprintf("pid %d %s within %s of being ready", in.pid, exit, minUptime)
	}
	if s.failures >= maxStartFailures {
		return s.fail(in, fmt.Sprintf("exited %d times in a row before it was ready or soon after; last: %s", s.failures, cause))
	}
	wait := backoff(s.failures)
	if time.Now().Add(wait).After(s.seqStart.Add(s.spec.StartTimeout)) {
		return s.fail(in, fmt.Sprintf("not ready within %s; last: %s", s.spec.StartTimeout, cause))
	}
	s.log.Warn(fmt.Sprintf("%s %s; restarting in %s", s.spec.Name, cause, wait))
	s.setState(Backoff, cause)
	s.retry = time.AfterFunc(wait, func() { s.emit(event{kind: evRetry}) })
	return nil
}

// fail is the gear's failure, with the last lines of the instance in.
func (s *Supervisor) fail(in *instance, cause string) error {
	return &FailError{Server: s.spec.Name, Cause: cause, LastLines: in.lastLines()}
}

// serve starts a request. Requests that complete later (a reload or a
// restart waiting for readiness) are answered from the event that completes
// them. It returns an error only when the gear itself failed.
func (s *Supervisor) serve(req request) error {
	state := s.Status().State
	switch {
	case req.op == "restart":
		return s.beginRestart(req)
	case s.cur == nil || s.restart != nil || (req.op == "reload" && state != Ready):
		req.reply <- &StateError{Op: req.op, State: state}
	case req.op == "signal":
		req.reply <- s.cur.signal(req.sig)
	case req.op == "reload" && s.spec.Signals.Reload == 0:
		req.reply <- fmt.Errorf("cannot reload: %s has no graceful reload; use restart", s.spec.Name)
	case req.op == "reload":
		s.reload(req.reply)
	}
	return nil
}

// reload sends the server its reload signal and probes it again once every
// worker that was there before has gone, so the answer comes from new code.
func (s *Supervisor) reload(reply chan error) {
	in := s.cur
	old := pidfds(Descendants(in.pid))
	workers, sig := children(in.pid), s.spec.Signals.Worker
	said := s.readyLine(s.spec)
	s.setState(Reloading, "")
	s.seqStart = time.Now()
	s.reloadReply = reply
	if err := in.signal(s.spec.Signals.Reload); err != nil {
		closeAll(old)
		s.reloadReply = nil
		s.setState(Ready, "")
		reply <- err
		return
	}
	s.log.Info(fmt.Sprintf("reloading %s pid %d", s.spec.Name, in.pid))
	s.watchReady(in, s.spec, s.seqStart.Add(s.spec.StartTimeout), func(ctx context.Context) {
		// Only the workers from before the reload: new ones must stay.
		stop := nudge(in.pid, func() []int { return workers }, sig)
		waitExited(ctx, old)
		stop()
		closeAll(old)
		said(ctx)
	})
}
