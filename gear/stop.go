package gear

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/pidfile"
)

// KillGrace is what a stop may take beyond the server's stop timeout:
// SIGKILL and reaping.
const KillGrace = 10 * time.Second

// Stopped says what a stop did.
type Stopped struct {
	Server string
	// PID is the server's; 0 when nothing ran.
	PID int
	// Orphan: the server ran without its supervisor.
	Orphan bool
	// Stale: the server pidfile named another process, which was not
	// signalled.
	Stale bool
	// Warnings are what the supervisor's stop could not do as asked.
	Warnings []string
}

// ErrStarting is a supervisor that took the gear's lock while the stop
// looked for one: try again.
var ErrStarting = errors.New("a supervisor is starting")

// StillStopping is a supervisor that did not exit within the stop's time.
type StillStopping struct {
	PID   int
	After time.Duration
}

func (e *StillStopping) Error() string {
	return fmt.Sprintf("supervisor pid %d still stopping after %s", e.PID, e.After)
}

// PortHeld is a gear that stopped while something still listens on its
// port: a next start would fail on it.
type PortHeld struct {
	Port int
	// By names the holders, as far as this user can see them.
	By string
}

func (e *PortHeld) Error() string {
	return fmt.Sprintf("stopped, but port %d is still listened on by %s", e.Port, e.By)
}

// Stop stops the supervisor, or a server whose supervisor died, and what
// they leave. A stop under way is joined: this one returns when it is
// done, and kills at once only with now. A stop that succeeds leaves the
// gear's port free. log hears the stop of a server left without its
// supervisor, which this process does itself.
func Stop(ctx context.Context, g control.Gear, now bool, log *slog.Logger) (Stopped, error) {
	cl := g.Client()
	rep, err := cl.Status(ctx)
	if errors.Is(err, control.ErrNoSupervisor) {
		// A supervisor may hold the gear without answering yet: it is
		// starting, or its socket was removed and it opens it again.
		rep, err = Await(ctx, g)
		if errors.Is(err, control.ErrNoSupervisor) {
			return stopOrphan(g, log)
		}
	}
	if err != nil {
		return Stopped{}, err
	}
	// Pin the supervisor before asking it to stop, to wait for its exit.
	sup, err := pidfile.Lookup(rep.SupervisorPID)
	var p *pidfile.Process
	if err == nil {
		p, err = pidfile.Open(sup)
	}
	if err == nil {
		defer p.Close()
	}
	wait := 30 * time.Second
	if set, err := Settings(rep); err == nil {
		wait = set.StopTimeout
	}
	last, err := cl.Stop(ctx, now, wait+KillGrace)
	if err != nil && p == nil {
		// Gone already (a concurrent stop): stop what may be left.
		return stopOrphan(g, log)
	}
	// The answer comes just before the supervisor's exit, or not at all
	// when it was killed: its end is what is waited for.
	ctx, cancel := context.WithTimeout(ctx, wait+KillGrace)
	defer cancel()
	if p != nil {
		err = p.Wait(ctx)
	} else {
		err = waitGone(ctx, cl)
	}
	if err != nil {
		return Stopped{}, &StillStopping{PID: rep.SupervisorPID, After: wait + KillGrace}
	}
	st := Stopped{Server: rep.Server, PID: rep.PID, Warnings: last.Warnings}
	return st, portFree(ctx, g, rep.Listen)
}

// stopOrphan stops a server left without its supervisor, if there is one.
func stopOrphan(g control.Gear, log *slog.Logger) (Stopped, error) {
	pid, listen, err := g.StopOrphan(log)
	switch {
	case errors.Is(err, pidfile.ErrLocked):
		// One took the lock after Stop found none.
		return Stopped{}, ErrStarting
	case errors.Is(err, pidfile.ErrStale):
		return Stopped{Stale: true}, nil
	case err != nil || pid == 0:
		return Stopped{}, err
	}
	return Stopped{PID: pid, Orphan: true}, portFree(context.Background(), g, listen)
}

// portFreeWithin is how long a port may stay listened on after the last
// process of the gear is gone: the kernel closes sockets as it reaps.
const portFreeWithin = time.Second

// portFree is a *PortHeld when something still listens on the gear's
// address after its stop, so that a stop never says stopped while a next
// start would fail on the port. A start that came in after the stop and
// runs the gear again holds the port by right: that is no *PortHeld.
func portFree(ctx context.Context, g control.Gear, listen string) error {
	_, port, err := net.SplitHostPort(listen)
	n, _ := strconv.Atoi(port)
	if err != nil || n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, portFreeWithin)
	defer cancel()
	for {
		held, pids := control.PortHolders(n)
		if !held {
			return nil
		}
		select {
		case <-ctx.Done():
			if g.Supervised() {
				return nil // the stopped supervisor is gone: this one is new
			}
			who := "a process this user cannot see"
			if len(pids) > 0 {
				who = control.Describe(pids)
			}
			return &PortHeld{Port: n, By: who}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitGone waits until the control socket stops answering: a supervisor
// that is PID 1 has no pidfile to wait on.
func waitGone(ctx context.Context, cl *control.Client) error {
	for {
		if _, err := cl.Status(ctx); errors.Is(err, control.ErrNoSupervisor) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
