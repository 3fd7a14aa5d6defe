package haproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gearctl/gearctl/control"
)

// closeWait bounds Close's wait for haproxy to delete the gear's servers.
const closeWait = 10 * time.Second

// FollowConfig says what a Follower registers, and where.
type FollowConfig struct {
	// Client is haproxy's runtime API; nil registers nothing (an agent
	// responder alone).
	Client  *Client
	Backend string
	// Server is the gear's name in Backend on its home port, Port. On
	// another port it is Server-PORT, so that both can be in the backend
	// while traffic moves.
	Server string
	// Addr is the IP address haproxy reaches the gear on; the agent
	// responder listens there too.
	Addr string
	Port int
	// AgentPort, when not 0, is where the agent responder listens.
	AgentPort int
	// Drain bounds a drain: until haproxy has drained the server and no
	// session is left on it, before the gear stops serving there.
	Drain  time.Duration
	Logger *slog.Logger

	// tune, for tests, adjusts each Registration before its loop starts.
	tune func(*Registration)
}

// Follower keeps haproxy's view of one gear in step with its supervisor: a
// dynamic server that takes traffic only once the application answers,
// drained before the gear stops serving and deleted once it has stopped,
// and an agent responder that says the same to haproxy's agent checks.
//
// It owns the agent responder and a keeper per registration: the current
// one, and those of addresses the gear moved away from until haproxy has
// deleted them. Only keepers change haproxy; a status reads what they last
// learned, and the supervisor's hooks wait on them for bounded times.
type Follower struct {
	cfg   FollowConfig
	log   *slog.Logger
	agent *Agent

	mu       sync.Mutex
	state    control.State
	draining bool // the supervisor asked for a drain before a stop
	// unreachable is set once haproxy did not answer a drain or a delete:
	// Close does not wait for it again.
	unreachable bool
	cur         *keeper   // nil without a Client
	retired     []*keeper // going down
}

// Follow starts following a gear that is starting: its server is kept
// drained in haproxy until OnChange says the gear is ready.
func Follow(cfg FollowConfig) (*Follower, error) {
	if cfg.Drain <= 0 {
		return nil, fmt.Errorf("haproxy follower: %w: drain timeout %s", ErrInvalid, cfg.Drain)
	}
	f := &Follower{cfg: cfg, log: cfg.Logger, state: control.Starting}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	var home *Registration
	if cfg.Client != nil {
		home = f.registration(cfg.Port)
		if err := home.validate(); err != nil {
			return nil, err
		}
	}
	if cfg.AgentPort != 0 {
		a, err := ListenAgent(net.JoinHostPort(cfg.Addr, strconv.Itoa(cfg.AgentPort)), f.agentState)
		if err != nil {
			return nil, err
		}
		f.agent = a
	}
	if home != nil {
		f.cur = startKeeper(home, f.desired)
	}
	return f, nil
}

// registration is the gear on port of its address.
func (f *Follower) registration(port int) *Registration {
	name := f.cfg.Server
	if port != f.cfg.Port {
		name = fmt.Sprintf("%s-%d", f.cfg.Server, port)
	}
	r := &Registration{Client: f.cfg.Client, Backend: f.cfg.Backend, Server: name,
		Addr: f.cfg.Addr, Port: port, AgentPort: f.cfg.AgentPort, Logger: f.cfg.Logger}
	if f.cfg.tune != nil {
		f.cfg.tune(r)
	}
	return r
}

// desiredFor is what haproxy should do with a gear in state; draining is
// a drain the supervisor asked for before it stops the server.
func desiredFor(state control.State, draining bool) Desired {
	switch {
	case draining:
		return DesiredDrain
	case state == control.Ready || state == control.Restarting || state == control.Reloading:
		return DesiredUp
	case state == control.Starting || state == control.Backoff || state == control.Stopping:
		return DesiredDrain
	}
	return DesiredDown
}

func (f *Follower) desired() Desired {
	f.mu.Lock()
	defer f.mu.Unlock()
	return desiredFor(f.state, f.draining)
}

func (f *Follower) agentState() AgentState {
	switch f.desired() {
	case DesiredUp:
		return AgentReady
	case DesiredDrain:
		return AgentDrain
	}
	return AgentMaint
}

// OnChange follows the supervisor's status; it only tells the current
// keeper, so it is as quick as control.Options.OnChange needs.
func (f *Follower) OnChange(st control.Status) {
	f.mu.Lock()
	before := desiredFor(f.state, f.draining)
	f.state = st.State
	if st.State == control.Ready {
		f.draining = false
	}
	changed := desiredFor(f.state, f.draining) != before
	cur := f.cur
	f.mu.Unlock()
	if cur != nil && changed {
		cur.change()
	}
}

// BeforeStop drains the gear and waits, at most the drain timeout, until
// haproxy has no session on it. It returns what haproxy could not be told,
// for the stop to say (control.Options.BeforeStop).
func (f *Follower) BeforeStop() error {
	f.mu.Lock()
	f.draining = true
	cur := f.cur
	f.mu.Unlock()
	if cur == nil {
		return nil
	}
	if err := f.drain(cur, cur.change()); err != nil {
		return f.failed(cur.reg, "drain", err, f.cfg.Drain)
	}
	return nil
}

// drain waits, within the drain timeout, for k's loop to drain the server
// (gen is the change that asked for it), then for haproxy to have no
// session open or queued on it.
func (f *Follower) drain(k *keeper, gen uint64) error {
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.Drain)
	defer cancel()
	if err := k.await(ctx, gen); err != nil {
		return err
	}
	return k.reg.waitIdle(ctx, f.cfg.Drain)
}

// failed says what op could not tell haproxy, within bound. When haproxy
// does not answer, the gear goes on without it — a hung haproxy must not
// hold the gear, and the next registration of the same server takes over
// what is left in the backend — and Close does not ask it again.
func (f *Follower) failed(reg *Registration, op string, err error, bound time.Duration) error {
	if !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("haproxy: %s: %w", op, err)
	}
	f.mu.Lock()
	f.unreachable = true
	f.mu.Unlock()
	why := err.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		why = "no answer within " + min(bound, reg.Client.timeout()).String()
	}
	return fmt.Errorf("could not tell haproxy %s to %s server %s: %s; it may stay in backend %s until the next registration",
		reg.Client, op, reg.Server, why, reg.Backend)
}

// Report is the registration as last learned, for status: it never asks
// haproxy.
func (f *Follower) Report() control.BalancerReport {
	r := control.BalancerReport{Desired: string(f.desired())}
	if f.agent != nil {
		r.Agent = f.agent.Addr().String()
	}
	f.mu.Lock()
	cur := f.cur
	f.mu.Unlock()
	if cur == nil {
		return r
	}
	r.Backend, r.Server = cur.reg.Backend, cur.reg.Server
	l := cur.snapshot()
	switch {
	case l.At.IsZero():
		r.State = "unknown"
	case !l.Present:
		r.State, r.LearnedAt = "absent", l.At
	default:
		healthy := l.State.Healthy()
		r.State, r.Healthy, r.LearnedAt = string(l.State.AdminState()), &healthy, l.At
	}
	if l.Err != nil {
		r.Error = l.Err.Error()
	}
	return r
}

// Close deletes the gear's servers from haproxy, waiting at most
// closeWait unless haproxy already failed to answer, then stops the
// keepers and the agent responder. It returns what haproxy could not be
// told.
func (f *Follower) Close() error {
	f.mu.Lock()
	cur, retired, skip := f.cur, slices.Clone(f.retired), f.unreachable
	f.mu.Unlock()
	var err error
	if cur != nil && !skip {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		if werr := cur.await(ctx, cur.hold(DesiredDown)); werr != nil {
			err = f.failed(cur.reg, "delete", werr, closeWait)
		}
		// Those the gear moved away from end by themselves once deleted.
		for _, k := range retired {
			select {
			case <-k.done:
			case <-ctx.Done():
			}
		}
		cancel()
	}
	if cur != nil {
		cur.stop()
	}
	for _, k := range retired {
		k.stop()
	}
	if f.agent != nil {
		f.agent.Close()
	}
	return err
}
