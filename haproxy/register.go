package haproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ServerWeight is the weight registrations add servers with: an agent's
// "ready up 100%" is a percentage of it, and 100 leaves room for "50%".
const ServerWeight = 100

// Defaults for the zero values of Registration's tuning fields.
const (
	DefaultInter             = 2 * time.Second
	DefaultAgentInter        = 2 * time.Second
	DefaultWaitTimeout       = 30 * time.Second
	DefaultPollInterval      = 100 * time.Millisecond
	DefaultReconcileInterval = 2 * time.Second
	DefaultMaxBackoff        = 30 * time.Second
)

// Registration is one gear as a dynamic server of an haproxy backend. It
// is independent of the supervisor: callers say when to go up, drain or go
// down, or hand Reconcile a func that says which of those they want.
//
// Set the fields before the first call and leave them alone afterwards.
// The methods may be called from several goroutines; they take turns, and
// a direct Up, Drain or Down preempts an action Reconcile has in progress.
type Registration struct {
	Client  *Client
	Backend string
	Server  string
	// Addr (an IP literal) and Port are where haproxy reaches the gear.
	Addr string
	Port int
	// AgentPort, when not 0, adds an agent check on that port of Addr; an
	// Agent must answer there.
	AgentPort int

	// Inter and AgentInter are the check intervals given to haproxy; a
	// dynamic server inherits no default-server, so they are set here.
	Inter      time.Duration
	AgentInter time.Duration
	// WaitTimeout bounds Up's wait for a passing check and Down's wait for
	// connections to close when ctx has no earlier deadline.
	WaitTimeout time.Duration
	// PollInterval is how often waits look at haproxy.
	PollInterval time.Duration
	// ReconcileInterval is how often Reconcile compares haproxy with the
	// desired state; MaxBackoff caps its retry delay after failures.
	ReconcileInterval time.Duration
	MaxBackoff        time.Duration
	// Logger receives what Reconcile does and why; nil discards.
	Logger *slog.Logger

	mu sync.Mutex // held by each action: haproxy sees one at a time

	actMu     sync.Mutex
	actCancel context.CancelFunc // Reconcile's action in progress

	kickOnce sync.Once
	kick     chan struct{}

	// onStep sees each Reconcile step, on Reconcile's goroutine: a keeper
	// learns haproxy's view from it, and tests count steps.
	onStep func(stepResult)
}

// Desired is the state a caller wants the registration in.
type Desired string

// Desired states.
const (
	// DesiredUp: present, checked, taking traffic once its check passes.
	DesiredUp Desired = "up"
	// DesiredDrain: no new traffic. A server haproxy forgot (after a
	// reload) counts as drained: it would get no traffic either way.
	DesiredDrain Desired = "drain"
	// DesiredDown: absent from haproxy.
	DesiredDown Desired = "down"
)

// Up registers the gear and returns once haproxy would send it traffic:
// add the server if absent (weight 100, check, agent-check when AgentPort
// is set), enable health, set state drain, wait until the health check
// passed and counts the server up (rise passes in a row after a failure),
// set state ready, enable the agent. "state ready" alone would mark the
// server UP before its first check, so the drain step is what keeps a gear
// that does not answer from getting requests. From then on an agent's word
// (drain, down) rules. A present server with another address, port or
// agent port is replaced.
func (r *Registration) Up(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return err
	}
	r.preempt()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up(ctx)
}

// Drain stops new traffic to the gear, then waits up to maxWait until the
// server has no session open or queued (maxWait 0: do not wait). The agent
// check is disabled first: an agent still answering "ready" would undo the
// drain on its next check. A server haproxy does not have is drained.
func (r *Registration) Drain(ctx context.Context, maxWait time.Duration) error {
	if err := r.validate(); err != nil {
		return err
	}
	r.preempt()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.drain(ctx); err != nil {
		if errors.Is(err, ErrNoSuchServer) {
			return nil
		}
		return err
	}
	if maxWait <= 0 {
		return nil
	}
	return r.waitIdle(ctx, maxWait)
}

// Down puts the server in maintenance and deletes it, retrying the delete
// while connections remain, within ctx and WaitTimeout. Requests still in
// flight are not cut; call Drain first to let them finish. A server
// haproxy does not have is down.
func (r *Registration) Down(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return err
	}
	r.preempt()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remove(ctx)
}

// State is what haproxy shows of the server; ErrNoSuchServer when absent.
func (r *Registration) State(ctx context.Context) (ServerState, error) {
	if err := r.validate(); err != nil {
		return ServerState{}, err
	}
	return r.Client.ServerState(ctx, r.Backend, r.Server)
}

func (r *Registration) up(ctx context.Context) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	c := r.Client
	st, err := c.ServerState(ctx, r.Backend, r.Server)
	switch {
	case errors.Is(err, ErrNoSuchServer):
		if err := r.add(ctx); err != nil {
			return err
		}
	case err != nil:
		return err
	case !r.matches(st):
		r.log().Info("haproxy: replacing server with other settings",
			"server", r.name(), "addr", st.Addr, "port", st.Port, "agent_port", st.AgentPort)
		if err := r.remove(ctx); err != nil {
			return err
		}
		if err := r.add(ctx); err != nil {
			return err
		}
	case st.HealthEnabled() && st.Healthy() && st.AdminState() == StateReady:
		// Up already: going through drain again would take the gear out
		// of rotation for a moment, and it may be the only one.
		return nil
	case st.HealthEnabled() && st.Healthy():
		// Checked and passing, but drained (before a restart, say): back
		// to ready without the drain-and-wait below.
		return r.ready(ctx)
	case st.AgentEnabled():
		// An agent answering "ready" would undo the drain below before
		// the health check passed.
		if err := c.DisableAgent(ctx, r.Backend, r.Server); err != nil {
			return err
		}
	}
	if err := c.EnableHealth(ctx, r.Backend, r.Server); err != nil {
		return err
	}
	if err := c.SetState(ctx, r.Backend, r.Server, StateDrain); err != nil {
		return err
	}
	if err := r.waitCheck(ctx); err != nil {
		return err
	}
	return r.ready(ctx)
}

// ready lets the checked server take traffic, then hands it to its agent.
func (r *Registration) ready(ctx context.Context) error {
	c := r.Client
	if err := c.SetState(ctx, r.Backend, r.Server, StateReady); err != nil {
		return err
	}
	if r.AgentPort != 0 {
		// Enabled only now: an enabled agent that has not answered yet
		// keeps a new server DOWN even after its health check passed.
		if err := c.EnableAgent(ctx, r.Backend, r.Server); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registration) add(ctx context.Context) error {
	err := r.Client.AddServer(ctx, r.Backend, r.Server, r.Addr, r.Port, ServerOptions{
		Weight: ServerWeight,
		Check:  true,
		Inter:  orDefault(r.Inter, DefaultInter),
		// A new server counts as down, so its first check waits downinter,
		// not inter: 100 ms puts a ready gear in haproxy in about 0.2 s
		// instead of a whole inter. A gear that is really down is then
		// checked ten times a second, a cheap GET.
		DownInter:  100 * time.Millisecond,
		FastInter:  100 * time.Millisecond,
		AgentPort:  r.AgentPort,
		AgentInter: orDefault(r.AgentInter, DefaultAgentInter),
	})
	if errors.Is(err, ErrServerExists) {
		// Added by a concurrent caller between our look and our add; the
		// steps that follow are the same.
		return nil
	}
	return err
}

// matches reports whether a present server is the one this registration
// would add; otherwise Up replaces it.
func (r *Registration) matches(st ServerState) bool {
	if ip := net.ParseIP(st.Addr); ip == nil || !ip.Equal(net.ParseIP(r.Addr)) {
		return false
	}
	if st.Port != r.Port || st.CheckState&CheckConfigured == 0 {
		return false
	}
	if r.AgentPort == 0 {
		return !st.AgentConfigured()
	}
	return st.AgentConfigured() && st.AgentPort == r.AgentPort
}

func (r *Registration) drain(ctx context.Context) error {
	if r.AgentPort != 0 {
		if err := r.Client.DisableAgent(ctx, r.Backend, r.Server); err != nil {
			return err
		}
	}
	return r.Client.SetState(ctx, r.Backend, r.Server, StateDrain)
}

func (r *Registration) remove(ctx context.Context) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	c := r.Client
	if r.AgentPort != 0 {
		// An agent saying "ready" would lift the maintenance del needs.
		if err := c.DisableAgent(ctx, r.Backend, r.Server); err != nil {
			return ignoreAbsent(err)
		}
	}
	if err := c.SetState(ctx, r.Backend, r.Server, StateMaint); err != nil {
		return ignoreAbsent(err)
	}
	for {
		err := c.DelServer(ctx, r.Backend, r.Server)
		switch {
		case err == nil, errors.Is(err, ErrNoSuchServer):
			return nil
		case errors.Is(err, ErrNotInMaintenance):
			// Someone set it ready in between; ask again.
			if err := c.SetState(ctx, r.Backend, r.Server, StateMaint); err != nil {
				return ignoreAbsent(err)
			}
		case !errors.Is(err, ErrServerBusy):
			return err
		}
		if werr := sleepCtx(ctx, r.poll()); werr != nil {
			return fmt.Errorf("haproxy: delete %s: %w (%w)", r.name(), err, werr)
		}
	}
}

// waitCheck polls until the health check has passed and counts the server
// up (ServerState.Healthy): the drain set before keeps traffic away
// meanwhile.
func (r *Registration) waitCheck(ctx context.Context) error {
	for {
		st, err := r.Client.ServerState(ctx, r.Backend, r.Server)
		switch {
		case err == nil && st.Healthy():
			return nil
		case err != nil && ctx.Err() == nil && !errors.Is(err, ErrUnavailable):
			// A busy or briefly unreachable API is waited out until the
			// deadline; a refusal is final.
			return err
		}
		if werr := sleepCtx(ctx, r.poll()); werr != nil {
			return fmt.Errorf("haproxy: %s: %w: %s (%w)", r.name(), ErrCheckTimeout, r.checkDetail(ctx), werr)
		}
	}
}

// checkDetail says why the check has not passed, for the timeout error.
// It runs after ctx expired, so it gets a short context of its own.
func (r *Registration) checkDetail(ctx context.Context) string {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	s, err := r.Client.ServerStat(dctx, r.Backend, r.Server)
	if err != nil {
		return "status unknown: " + err.Error()
	}
	d := "last check " + s.CheckStatus
	if s.CheckDesc != "" {
		d += ", " + s.CheckDesc
	}
	if s.LastCheck != "" {
		d += ": " + s.LastCheck
	}
	return d
}

// waitIdle polls until no session is open or queued on the server.
func (r *Registration) waitIdle(ctx context.Context, maxWait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, maxWait)
	defer cancel()
	open := -1
	for {
		s, err := r.Client.ServerStat(ctx, r.Backend, r.Server)
		switch {
		case errors.Is(err, ErrNoSuchServer):
			return nil
		case err != nil:
			if ctx.Err() == nil {
				return err
			}
		default:
			open = s.Sessions + s.Queued
			if open == 0 {
				return nil
			}
		}
		if werr := sleepCtx(ctx, r.poll()); werr != nil {
			return fmt.Errorf("haproxy: %s: %w: %d open after %s (%w)", r.name(), ErrDrainTimeout, open, maxWait, werr)
		}
	}
}

// validate names the field that is wrong before anything is sent.
func (r *Registration) validate() error {
	if r.Client == nil {
		return fmt.Errorf("haproxy registration: %w: no Client", ErrInvalid)
	}
	if err := CheckName("backend", r.Backend); err != nil {
		return err
	}
	if err := CheckName("server", r.Server); err != nil {
		return err
	}
	if net.ParseIP(r.Addr) == nil {
		return fmt.Errorf("haproxy registration: %w: Addr %q is not an IP address", ErrInvalid, r.Addr)
	}
	if err := checkPort("port", r.Port); err != nil {
		return err
	}
	if r.AgentPort != 0 {
		if err := checkPort("agent port", r.AgentPort); err != nil {
			return err
		}
	}
	return nil
}

// preempt cancels the action Reconcile has in progress, so a direct call
// does not wait behind, say, an Up waiting for a check that will not pass.
func (r *Registration) preempt() {
	r.actMu.Lock()
	if r.actCancel != nil {
		r.actCancel()
	}
	r.actMu.Unlock()
}

// bound applies WaitTimeout unless ctx already ends sooner.
func (r *Registration) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, orDefault(r.WaitTimeout, DefaultWaitTimeout))
}

func (r *Registration) poll() time.Duration { return orDefault(r.PollInterval, DefaultPollInterval) }

func (r *Registration) name() string { return r.Backend + "/" + r.Server }

func (r *Registration) log() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ignoreAbsent treats a server haproxy does not have as done.
func ignoreAbsent(err error) error {
	if errors.Is(err, ErrNoSuchServer) {
		return nil
	}
	return err
}

// sleepCtx waits d, or returns ctx's error when it ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
