package control

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
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
	// Observer, when set, hears each probe and how long each start,
	// restart and reload took to get the server ready: what metrics need
	// beyond the statuses OnChange gets.
	Observer Observer
	// Listener, when set, is a listening socket inherited from systemd; it
	// is handed to servers that take one instead of opening a new one.
	Listener *os.File
	// BeforeStop is called before a serving instance is stopped with
	// nothing to take over its socket (a final stop, or a restart of a
	// server that binds its own port): a load balancer drains the gear
	// first. It runs on the supervisor's goroutine and must be bounded; an
	// error is what the balancer could not be told, a warning of the stop.
	BeforeStop func() error
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

	// Gear, set by Gear.Run, records the current server master with its
	// start time and spec, so that a supervisor started after this one
	// died can find the server and adopt or stop it; it names the gear in
	// the servers' environment (GearVar). Without it nothing is recorded.
	Gear *Gear
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
	stopping chan struct{} // closed by the first Stop or Kill
	force    chan struct{} // closed by the first Kill
	stopOnce sync.Once
	killOnce sync.Once
	quit     chan struct{} // closed when Run returns

	mu      sync.Mutex
	status  Status
	changed chan struct{} // closed and replaced at each state change

	// m is owned by Run's goroutine.
	m        machine
	retiring sync.WaitGroup
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
		m: machine{state: Starting},
		status: Status{
			State:         Starting,
			Server:        spec.Name,
			SupervisorPID: os.Getpid(),
			Listen:        addr(spec.Host, spec.Port),
			Settings:      spec.Settings,
			Interpreter:   spec.Interpreter,
			App:           spec.App,
			User:          spec.User,
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

// Stop asks for a graceful stop. Any number of callers may call it at once
// and again: a later call joins the stop under way and never escalates it,
// so that a second `stop` cannot cut an in-flight request short. It
// returns without waiting: Run returns when the stop is done.
func (s *Supervisor) Stop() {
	s.stopOnce.Do(func() { close(s.stopping) })
}

// Kill stops the gear without waiting for a graceful exit: what runs gets
// SIGKILL at once, also in the middle of a graceful stop. Like Stop, it may
// be called any number of times.
func (s *Supervisor) Kill() {
	s.Stop()
	s.killOnce.Do(func() { close(s.force) })
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

// to moves the gear to state st, with detail saying why for a failed,
// backoff or unready one, and publishes it. Every state change goes
// through here, and is checked against the transitions table.
func (s *Supervisor) to(st State, detail string) {
	if !legal(s.m.state, st) {
		s.log.Error("illegal state transition", "from", s.m.state, "to", st)
	}
	s.m.state = st
	s.mu.Lock()
	if s.status.State != st || s.status.Since.IsZero() {
		s.status.Since = time.Now()
	}
	s.status.State = st
	s.status.Detail = detail
	s.status.Server = s.spec.Name
	s.status.Listen = addr(s.spec.Host, s.spec.Port)
	s.status.Settings = s.spec.Settings
	s.status.Interpreter, s.status.App, s.status.User = s.spec.Interpreter, s.spec.App, s.spec.User
	s.status.SharesSocket = s.spec.TakesFD
	s.status.PID = 0
	s.status.StartedAt = time.Time{}
	if s.m.cur != nil && !s.m.cur.exited() {
		s.status.PID = s.m.cur.pid
		s.status.StartedAt = s.m.cur.started
	}
	if st != Ready && st != Reloading && st != Unready {
		s.status.ReadyAt, s.status.ReadyCode = time.Time{}, 0
	}
	snap := s.status
	s.mu.Unlock()
	// The hooks hear of the change before the watchers wake: a client
	// that waited for the gear to get ready finds systemd, the balancer
	// and the metrics told.
	if s.opt.OnChange != nil {
		s.opt.OnChange(snap)
	}
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
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

// beforeStop gives the load balancer its chance to drain a gear that is
// about to stop serving.
func (s *Supervisor) beforeStop() {
	if s.opt.BeforeStop != nil {
		if err := s.opt.BeforeStop(); err != nil {
			s.warn(err.Error())
		}
	}
}

// maxWarnings bounds Status.Warnings: the latest are kept.
const maxWarnings = 10

// warn logs msg as a warning and keeps it in Status.Warnings, where the
// command that asked for the stop or restart under way reads it.
func (s *Supervisor) warn(msg string) {
	s.log.Warn(msg)
	s.update(func(st *Status) {
		st.Warnings = append(st.Warnings, msg)
		if n := len(st.Warnings); n > maxWarnings {
			st.Warnings = slices.Clone(st.Warnings[n-maxWarnings:])
		}
	})
}

func (s *Supervisor) handoverHook(from, to Spec) error {
	if s.opt.Handover == nil {
		return nil
	}
	return s.opt.Handover(from, to)
}
