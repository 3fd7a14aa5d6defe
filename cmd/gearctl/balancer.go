package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/haproxy"
	"github.com/urfave/cli/v2"
)

// balancerFlags register the gear with haproxy; they belong to the
// supervisor, so a restart does not change them.
func balancerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "haproxy", EnvVars: []string{"GEARCTL_HAPROXY"},
			Usage: "haproxy runtime API, unix:PATH or HOST:PORT: register the gear as a dynamic server"},
		&cli.StringFlag{Name: "haproxy-backend", Value: "express", EnvVars: []string{"GEARCTL_HAPROXY_BACKEND"}},
		&cli.StringFlag{Name: "haproxy-server", EnvVars: []string{"GEARCTL_HAPROXY_SERVER", "OPENSHIFT_GEAR_NAME"},
			Usage: "the gear's server name in the backend (default: HOSTNAME-PORT)"},
		&cli.IntFlag{Name: "agent-port", EnvVars: []string{"GEARCTL_AGENT_PORT"},
			Usage: "answer haproxy's agent-check on this port of --host"},
	}
}

// balancerArgs passes the balancer flags on to the background supervisor.
func balancerArgs(c *cli.Context) []string {
	var args []string
	for _, name := range []string{"haproxy", "haproxy-backend", "haproxy-server"} {
		if v := c.String(name); v != "" {
			args = append(args, "--"+name, v)
		}
	}
	if p := c.Int("agent-port"); p != 0 {
		args = append(args, "--agent-port", strconv.Itoa(p))
	}
	return args
}

// balancer keeps haproxy's view of the gear in step with the supervisor:
// a dynamic server that is up only once the application answers, drained
// before the gear stops serving, and deleted when it stops; and an agent
// responder that says the same to haproxy's agent checks.
type balancer struct {
	agent  *haproxy.Agent
	log    *slog.Logger
	drain  time.Duration
	client *haproxy.Client
	name   string // the server's name on the gear's home port
	home   int

	mu       sync.Mutex
	reg      *haproxy.Registration // nil without --haproxy
	cancel   context.CancelFunc    // stops reg's Reconcile
	done     chan struct{}         // closed when it has stopped
	state    control.State
	draining bool
	// cancelUp stops the Up that becoming ready started: a stop must not
	// wait behind it for a haproxy that does not answer.
	cancelUp context.CancelFunc
	// unreachable is set once haproxy failed to answer during the stop:
	// each further command would only wait out its own timeout.
	unreachable bool
}

// checkBalancer refuses bad balancer flags for a gear on host. start and
// run call it before anything starts: the background supervisor would
// otherwise meet them only after the launch, and the start exit 1.
func checkBalancer(c *cli.Context, host string) error {
	api, port := c.String("haproxy"), c.Int("agent-port")
	if port < 0 || port > 65535 || port == 0 && c.IsSet("agent-port") {
		return usageErrorf("--agent-port %d: out of range; accepted: 1 to 65535", port)
	}
	if api != "" {
		if _, err := haproxy.New(api); err != nil {
			return usageErrorf("--haproxy: %v", err)
		}
	}
	for _, name := range []string{"haproxy-backend", "haproxy-server"} {
		if v := c.String(name); c.IsSet(name) || v != "" {
			if err := haproxy.CheckName(name[len("haproxy-"):], v); err != nil {
				return usageErrorf("--%s %q: not a valid haproxy name; accepted: letters, digits, '-', '_', '.' and ':'", name, v)
			}
		}
	}
	if api == "" && port == 0 {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return usageErrorf("--host %q: haproxy needs the IP address it reaches the gear on; accepted: an IP address such as 10.0.0.5", host)
	}
	return nil
}

// newBalancer starts what the flags ask for; nil when they ask nothing.
func newBalancer(c *cli.Context, spec control.Spec, log *slog.Logger) (*balancer, error) {
	if err := checkBalancer(c, spec.Host); err != nil {
		return nil, err
	}
	api, port := c.String("haproxy"), c.Int("agent-port")
	if api == "" && port == 0 {
		return nil, nil
	}
	ip := net.ParseIP(spec.Host)
	b := &balancer{log: log, drain: spec.StopTimeout, state: control.Starting, home: spec.Port}
	if port != 0 {
		a, err := haproxy.ListenAgent(net.JoinHostPort(spec.Host, strconv.Itoa(port)), b.agentState)
		if err != nil {
			return nil, usageErrorf("--agent-port %d: %v", port, err)
		}
		b.agent = a
	}
	if api == "" {
		return b, nil
	}
	client, err := haproxy.New(api)
	if err != nil {
		b.close()
		return nil, usageErrorf("--haproxy: %v", err)
	}
	b.client, b.name = client, c.String("haproxy-server")
	if b.name == "" {
		host, _ := os.Hostname()
		b.name = fmt.Sprintf("%s-%d", host, spec.Port)
	}
	b.follow(b.registration(c.String("haproxy-backend"), ip.String(), spec.Port, port))
	return b, nil
}

// registration is the gear at ip:port as a server of backend. A gear that
// moved off its home port (see handover) is registered under another name,
// so both can be in the backend while traffic moves.
func (b *balancer) registration(backend, ip string, port, agentPort int) *haproxy.Registration {
	name := b.name
	if port != b.home {
		name = fmt.Sprintf("%s-%d", b.name, port)
	}
	return &haproxy.Registration{Client: b.client, Backend: backend, Server: name,
		Addr: ip, Port: port, AgentPort: agentPort, Logger: b.log}
}

// follow makes reg the registration kept in step by Reconcile, and returns
// the one it replaces (its Reconcile stopped), if any.
func (b *balancer) follow(reg *haproxy.Registration) *haproxy.Registration {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	b.mu.Lock()
	old, oldCancel, oldDone := b.reg, b.cancel, b.done
	b.reg, b.cancel, b.done = reg, cancel, done
	b.mu.Unlock()
	if old != nil {
		oldCancel()
		<-oldDone
	}
	go func() {
		defer close(done)
		reg.Reconcile(ctx, b.desired)
	}()
	return old
}

// current is the registration in use, nil without --haproxy.
func (b *balancer) current() *haproxy.Registration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reg
}

// handover moves haproxy's traffic to the gear's new address: the new
// server is registered and up before the old one is drained and deleted.
// A new server that does not come up fails the restart.
func (b *balancer) handover(from, to control.Spec) error {
	old := b.current()
	if old == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), to.StartTimeout)
	defer cancel()
	next := b.registration(old.Backend, old.Addr, to.Port, old.AgentPort)
	if err := next.Up(ctx); err != nil {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		next.Down(dctx)
		return fmt.Errorf("haproxy did not take %s:%d in: %w", to.Host, to.Port, err)
	}
	b.follow(next)
	dctx, dcancel := context.WithTimeout(context.Background(), b.drain+10*time.Second)
	defer dcancel()
	if err := old.Drain(dctx, b.drain); err != nil {
		b.log.Warn("haproxy: drain " + old.Server + ": " + err.Error())
	}
	if err := old.Down(dctx); err != nil {
		b.log.Warn("haproxy: " + err.Error())
	}
	return nil
}

// desired is what haproxy should do with the gear in its current state.
func (b *balancer) desired() haproxy.Desired {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.draining:
		return haproxy.DesiredDrain
	case b.state == control.Ready || b.state == control.Restarting || b.state == control.Reloading:
		return haproxy.DesiredUp
	case b.state == control.Starting || b.state == control.Backoff:
		return haproxy.DesiredDrain
	}
	return haproxy.DesiredDown
}

func (b *balancer) agentState() haproxy.AgentState {
	switch b.desired() {
	case haproxy.DesiredUp:
		return haproxy.AgentReady
	case haproxy.DesiredDrain:
		return haproxy.AgentDrain
	}
	return haproxy.AgentMaint
}

// onChange follows the supervisor. Becoming ready brings the server up
// directly: Reconcile leaves a server it did not drain itself as it is.
func (b *balancer) onChange(st control.Status) {
	b.mu.Lock()
	becameReady := st.State == control.Ready && b.state != control.Ready
	b.state = st.State
	if becameReady {
		b.draining = false
	}
	reg := b.reg
	b.mu.Unlock()
	if reg == nil {
		return
	}
	if becameReady {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		b.mu.Lock()
		if b.cancelUp != nil {
			b.cancelUp()
		}
		b.cancelUp = cancel
		b.mu.Unlock()
		go func() {
			defer cancel()
			if err := reg.Up(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn("haproxy: " + err.Error())
			}
		}()
	}
	reg.Kick()
}

// beforeStop drains the gear and waits, at most the stop timeout, until
// haproxy has no session open on it. It returns what haproxy could not be
// told, for the stop to say.
func (b *balancer) beforeStop() error {
	b.mu.Lock()
	b.draining = true
	reg, cancelUp := b.reg, b.cancelUp
	b.mu.Unlock()
	if reg == nil {
		return nil
	}
	if cancelUp != nil {
		cancelUp()
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.drain+5*time.Second)
	defer cancel()
	if err := reg.Drain(ctx, b.drain); err != nil {
		return b.failed(reg, "drain", err)
	}
	return nil
}

// failed says what op could not tell haproxy. When haproxy does not
// answer, the stop goes on without it — a hung haproxy must not hold the
// gear, and the next registration of the same server takes over what is
// left in the backend — and it is not asked again.
func (b *balancer) failed(reg *haproxy.Registration, op string, err error) error {
	if !errors.Is(err, haproxy.ErrUnavailable) {
		return fmt.Errorf("haproxy: %s: %w", op, err)
	}
	b.mu.Lock()
	b.unreachable = true
	b.mu.Unlock()
	why := err.Error()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		why = fmt.Sprintf("no answer within %s", haproxy.DefaultTimeout)
	}
	return fmt.Errorf("could not tell haproxy %s to %s server %s: %s; it may stay in backend %s until the next registration",
		b.client, op, reg.Server, why, reg.Backend)
}

// close deletes the server from haproxy and stops answering agent checks.
func (b *balancer) close() {
	b.mu.Lock()
	reg, cancelLoop, done := b.reg, b.cancel, b.done
	b.mu.Unlock()
	if reg != nil {
		cancelLoop()
		<-done
		b.mu.Lock()
		skip, cancelUp := b.unreachable, b.cancelUp
		b.mu.Unlock()
		if cancelUp != nil {
			cancelUp()
		}
		if !skip {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := reg.Down(ctx); err != nil {
				b.log.Warn(b.failed(reg, "delete", err).Error())
			}
		}
	}
	if b.agent != nil {
		b.agent.Close()
	}
}

// report is the registration for status.
func (b *balancer) report() any {
	r := map[string]any{"desired": string(b.desired())}
	if b.agent != nil {
		r["agent"] = b.agent.Addr().String()
	}
	reg := b.current()
	if reg == nil {
		return r
	}
	r["backend"], r["server"] = reg.Backend, reg.Server
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := reg.State(ctx)
	if err != nil {
		r["state"] = "unknown: " + err.Error()
		return r
	}
	r["state"] = string(st.AdminState())
	r["healthy"] = st.Healthy()
	return r
}
