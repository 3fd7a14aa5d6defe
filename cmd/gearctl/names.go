package main

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/gearctl/gearctl/registry"
	"github.com/urfave/cli/v2"
)

// nameVar is --name's variable. The flag sets it as well, so that the
// background supervisor a start launches inherits the name with the rest
// of the environment; gearName reads it.
const nameVar = "GEARCTL_NAME"

func nameFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "name",
		EnvVars: []string{nameVar},
		Usage: "the gear's name in the registry, unique among this user's running gears, such as shop; " +
			"status, stop and logs take it as NAME too",
		DefaultText: "the application directory's base name",
		Action: func(_ *cli.Context, name string) error {
			if name == "" {
				return nil
			}
			if err := registry.ValidName(name); err != nil {
				return usageErrorf("--name %q: %v", name, err)
			}
			return os.Setenv(nameVar, name)
		},
	}
}

// gearName is the name of a gear of the application in appDir: --name,
// else its base name.
func gearName(appDir string) string {
	if name := os.Getenv(nameVar); name != "" {
		return name
	}
	return registry.DefaultName(appDir)
}

// nameFree refuses to start a gear of g and the application in appDir
// under a name that a live gear of another state directory holds, before
// any supervisor is launched; the supervisor checks again as it
// registers, under the registry's lock.
func nameFree(g control.Gear, appDir string) error {
	f, err := registry.Default().Lookup(gearName(appDir))
	switch {
	case errors.Is(err, pidfile.ErrUntrusted):
		return registryErr(err)
	case err != nil || f.Gone || f.Dir == g.Dir:
		return nil
	}
	return nameTaken(&registry.TakenError{Holder: f.Entry})
}

func nameTaken(err *registry.TakenError) error {
	return usageErrorf("%v; accepted: a name no other running gear has (--name)", err)
}

// registryErr is the exit for a registry that could not be used: one
// another user could have written, or an entry in it, is bad input and is
// not followed; an entry that does not parse, too, which tidy removes.
func registryErr(err error) error {
	switch {
	case errors.Is(err, pidfile.ErrUntrusted):
		return usageErrorf("%v; nothing in it was used (%s names another registry)", err, registry.Variable)
	case errors.Is(err, registry.ErrMalformed):
		return usageErrorf("%v; gearctl tidy removes it", err)
	}
	return exitWith(1, "%v", err)
}

// registration is this supervisor's entry in the registry; nil when the
// gear runs unregistered.
type registration struct {
	reg     registry.Registry
	e       registry.Entry
	log     *slog.Logger
	removed sync.Once
}

// register enters this supervisor, which holds g's lock, in the registry
// as the gear of spec's application. A name another live gear has, or a
// registry another user could have written, is bad input; a registry that
// cannot be written (a read-only /run) leaves the gear running
// unregistered, with a warning.
func register(g control.Gear, spec control.Spec, log *slog.Logger) (*registration, error) {
	// PID 1 has no start time to tell it from a later PID 1 (nor has its
	// supervisor pidfile): a container's gear is the container.
	if os.Getpid() == 1 {
		return nil, nil
	}
	rec, err := pidfile.Lookup(os.Getpid())
	if err != nil {
		return nil, exitWith(1, "%v", err)
	}
	r := &registration{reg: registry.Default(), log: log,
		e: registry.Entry{Name: gearName(spec.Dir), Dir: g.Dir, AppDir: spec.Dir, LogDir: g.Logs(), Supervisor: rec}}
	err = r.reg.Register(r.e)
	var taken *registry.TakenError
	switch {
	case errors.As(err, &taken):
		return nil, nameTaken(taken)
	case errors.Is(err, pidfile.ErrUntrusted):
		return nil, registryErr(err)
	case err != nil:
		log.Warn("{err}: this gear is not registered, gearctl list does not show it", "err", err)
		return nil, nil
	}
	return r, nil
}

// OnChange publishes each state of the gear in its entry, and removes the
// entry once the gear is stopped or failed for good, while this
// supervisor still holds the gear's lock: a stop that waits for it to
// exit, and a start after that, find the registry as it will stay.
func (r *registration) OnChange(st control.Status) {
	if r == nil {
		return
	}
	if st.State == control.Stopped || st.State == control.Failed {
		r.remove()
		return
	}
	err := r.reg.Publish(r.e, registry.State{State: string(st.State), Server: st.Server, PID: st.PID,
		Listen: st.Listen, StartedAt: st.StartedAt, Restarts: st.Restarts, At: time.Now()})
	if err != nil {
		r.log.Warn("{err}: gearctl list shows this gear's state as it was", "err", err)
	}
}

// remove takes the entry out of the registry, once however often it is
// called.
func (r *registration) remove() {
	if r == nil {
		return
	}
	r.removed.Do(func() {
		if err := r.reg.Remove(r.e); err != nil {
			r.log.Warn("{err}: the registry still has this gear, as gone", "err", err)
		}
	})
}
