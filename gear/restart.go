package gear

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/server"
)

// ErrNotRunning is a restart of a gear no supervisor runs: the caller
// starts it instead (which adopts a server left without its supervisor).
var ErrNotRunning = errors.New("not running")

// Restarted is what a restart did: the gear as the supervisor reports it
// after the restart, and the settings it now runs with.
type Restarted struct {
	control.Report
	Settings server.Settings
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
func Restart(ctx context.Context, g control.Gear, over func(base *server.Settings) (server.Settings, error)) (Restarted, error) {
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
	err = onFreePort(set.Host, movedPort(rep, base, set, spec), func(port int) error {
		if port != 0 {
			if spec, _, err = Resolve(set, port); err != nil {
				return &SettingsError{err}
			}
		}
		return cl.Restart(ctx, spec)
	})
	if err != nil {
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
