package main

import (
	"errors"
	"log/slog"
	"os"
	"sync"

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

// register enters this supervisor, which holds g's lock, in the registry
// as the gear of spec's application; the function it returns removes the
// entry again, once however often it is called. A name another live gear
// has, or a registry another user could have written, is bad input; a
// registry that cannot be written (a read-only /run) leaves the gear
// running unregistered, with a warning.
func register(g control.Gear, spec control.Spec, log *slog.Logger) (unregister func(), err error) {
	none := func() {}
	// PID 1 has no start time to tell it from a later PID 1 (nor has its
	// supervisor pidfile): a container's gear is the container.
	if os.Getpid() == 1 {
		return none, nil
	}
	rec, err := pidfile.Lookup(os.Getpid())
	if err != nil {
		return nil, exitWith(1, "%v", err)
	}
	e := registry.Entry{Name: gearName(spec.Dir), Dir: g.Dir, AppDir: spec.Dir, LogDir: g.Logs(), Supervisor: rec}
	reg := registry.Default()
	err = reg.Register(e)
	var taken *registry.TakenError
	switch {
	case errors.As(err, &taken):
		return nil, nameTaken(taken)
	case errors.Is(err, pidfile.ErrUntrusted):
		return nil, registryErr(err)
	case err != nil:
		log.Warn("{err}: this gear is not registered, gearctl list does not show it", "err", err)
		return none, nil
	}
	return sync.OnceFunc(func() {
		if err := reg.Remove(e); err != nil {
			log.Warn("{err}: the registry still has this gear, as gone", "err", err)
		}
	}), nil
}

// unregisterAtEnd is an OnChange that calls unregister once the gear is
// stopped or failed, for good.
func unregisterAtEnd(unregister func()) func(control.Status) {
	return func(st control.Status) {
		if st.State == control.Stopped || st.State == control.Failed {
			unregister()
		}
	}
}
