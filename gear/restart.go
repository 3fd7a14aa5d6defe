package gear

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
)

// ErrNotRunning is a restart of a gear no supervisor runs: the caller
// starts it instead (which adopts a server left without its supervisor).
var ErrNotRunning = errors.New("not running")

// Restarted is what a restart did: the gear as the supervisor reports it
// after the restart, and the settings it now runs with.
type Restarted struct {
	control.Report
	Settings cartridge.Settings
}

// SettingsError is bad input in the settings a restart was given.
type SettingsError struct{ Err error }

func (e *SettingsError) Error() string { return e.Err.Error() }
func (e *SettingsError) Unwrap() error { return e.Err }

// running is the client of the gear's supervisor and its report;
// ErrNotRunning when no supervisor answers.
func running(ctx context.Context, g control.Gear) (*control.Client, control.Report, error) {
	cl := g.Client()
	rep, err := cl.Status(ctx)
	if errors.Is(err, control.ErrNoSupervisor) {
		return cl, rep, ErrNotRunning
	}
	return cl, rep, err
}

// Restart replaces the gear's server with one of the settings over makes
// from the running gear's: a restart changes only what it is told to. The
// old server keeps serving if the new one fails (a *control.FailError).
func Restart(ctx context.Context, g control.Gear, over func(base *cartridge.Settings) (cartridge.Settings, error)) (Restarted, error) {
	cl, rep, err := running(ctx, g)
	if err != nil {
		return Restarted{}, err
	}
	base, err := Settings(rep)
	if err != nil {
		return Restarted{}, err
	}
	set, err := over(&base)
	if err != nil {
		return Restarted{}, &SettingsError{err}
	}
	spec, set, err := Resolve(set, 0)
	if err != nil {
		return Restarted{}, &SettingsError{err}
	}
	if port := movedPort(rep, base, set, spec); port != 0 {
		if spec, _, err = Resolve(set, port); err != nil {
			return Restarted{}, &SettingsError{err}
		}
	}
	if err := cl.Restart(ctx, spec); err != nil {
		return Restarted{}, err
	}
	// What is reported comes from a status fetched after the restart: a
	// stop that raced it (SIGTERM to the supervisor) may have taken the
	// new server away in between, and "pid 0 ready on " is no success.
	rep, err = cl.Status(ctx)
	if err != nil {
		return Restarted{}, fmt.Errorf("restart: the new server got ready, but then the supervisor stopped answering: %w", err)
	}
	if gone := rep.State == control.Stopping || rep.State == control.Stopped || rep.State == control.Failed; gone || rep.PID == 0 {
		return Restarted{}, fmt.Errorf("restart: the new server got ready, but the gear is %s now (supervisor pid %d): a stop came in", rep.State, rep.SupervisorPID)
	}
	return Restarted{Report: rep, Settings: set}, nil
}

// movedPort is the port a gear registered with haproxy restarts on when the
// listening socket cannot pass from the old server to the new one (either
// binds its own port): the new instance starts beside the old one on
// another port, haproxy takes it in, then drains the old one. The gear
// moves between its home port and a free one; 0 means no move.
func movedPort(rep control.Report, base, set cartridge.Settings, spec control.Spec) int {
	if rep.Balancer == nil || rep.Balancer.Backend == "" || set.Port != base.Port || set.Host != base.Host {
		return 0
	}
	old, _, err := Resolve(base, portOf(rep.Listen))
	if err == nil && old.TakesFD && spec.TakesFD && spec.ProbeFD {
		return 0
	}
	if portOf(rep.Listen) != set.Port {
		return set.Port // back home
	}
	l, err := net.Listen("tcp", net.JoinHostPort(set.Host, "0"))
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func portOf(address string) int {
	_, p, _ := net.SplitHostPort(address)
	n, _ := strconv.Atoi(p)
	return n
}

// Reloaded is what a reload did: the gear after its server's graceful
// reload, with the settings it runs with.
type Reloaded = Restarted

// Reload asks for the server's own graceful reload and waits, within the
// server's start timeout, until it answers again. A server without one
// is control.ErrNoReload (restart it instead); no supervisor is
// ErrNotRunning.
func Reload(ctx context.Context, g control.Gear) (Reloaded, error) {
	cl, rep, err := running(ctx, g)
	if err != nil {
		return Reloaded{}, err
	}
	timeout := 60 * time.Second
	if set, err := Settings(rep); err == nil {
		timeout = set.StartTimeout
	}
	if err := cl.Reload(ctx, timeout); err != nil {
		if errors.Is(err, control.ErrNoSupervisor) {
			return Reloaded{}, ErrNotRunning
		}
		return Reloaded{Report: rep}, err
	}
	rep, err = cl.Status(ctx)
	set, _ := Settings(rep)
	return Reloaded{Report: rep, Settings: set}, err
}

// Tidy starts a new server log file and removes what is stale in the
// gear's directory; it returns what it removed.
func Tidy(ctx context.Context, g control.Gear) ([]string, error) {
	if err := g.Client().Rotate(ctx); err != nil && !errors.Is(err, control.ErrNoSupervisor) {
		return nil, err
	}
	return g.Tidy()
}
