package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/registry"
	"github.com/urfave/cli/v2"
)

// noGear is a gear not found where a verb looked; its message says where
// it looked and which gears run instead.
type noGear struct{ msg string }

func (e *noGear) Error() string { return e.msg }

// findGear is lookGear with a gear not found as the verb's exit status
// for "not running" (status 3, stop 0), its message on one line.
func findGear(c *cli.Context, name string, notFound int) (control.Gear, error) {
	g, err := lookGear(c, name)
	var ng *noGear
	if errors.As(err, &ng) {
		return g, exitWith(notFound, "%s", ng.msg)
	}
	return g, err
}

// restartDir is restart's gear: the one lookGear finds, else a new one
// made as start makes it — a restart of nothing is a start.
func restartDir(c *cli.Context) (control.Gear, error) {
	g, err := lookGear(c, "")
	var ng *noGear
	if errors.As(err, &ng) {
		return gearDir(c)
	}
	return g, err
}

// lookGear finds the gear of a verb that looks at one and makes nothing:
// the one --dir names; else the registry's gear of name (a NAME argument)
// or of --name; else the one in the default state directory; else the
// registry's gear of the application's directory. A NAME the registry
// does not know is bad input; any other gear not found is a *noGear, with
// the gear of the directory looked in where there was one. Without
// --log-dir, the log directory is the one the gear registered.
func lookGear(c *cli.Context, name string) (control.Gear, error) {
	reg := registry.Default()
	dir, logDir := globalString(c, "dir"), globalString(c, "log-dir")
	arg := name != ""
	switch {
	case arg && dir != "":
		return control.Gear{}, usageErrorf("%s and --dir %s both name a gear; accepted: one of them", name, dir)
	case dir != "":
		return openFound(reg, "--dir", dir, logDir)
	case !arg:
		name = os.Getenv(nameVar)
	}
	if name != "" {
		f, err := reg.Lookup(name)
		switch {
		case err == nil:
			return openFound(reg, "gear "+name+": its state directory", f.Dir, logDir)
		case !errors.Is(err, registry.ErrUnknown):
			return control.Gear{}, registryErr(err)
		case arg:
			return control.Gear{}, usageErrorf("no gear named %s; %s", name, elsewhere(reg))
		}
	}
	g, err := inAppDir(c, reg, logDir)
	var ng *noGear
	if name != "" && errors.As(err, &ng) {
		// --name also names the gear a start makes: a gear of that name
		// that does not run is not running, not bad input.
		ng.msg = fmt.Sprintf("no gear named %s runs; %s", name, elsewhere(reg))
	}
	if other := registeredAs(reg, g.Dir); err == nil && name != "" && other != "" && other != name {
		// The application's gear, stopped, may be the one named; a
		// running one of another name is not.
		return control.Gear{}, &noGear{fmt.Sprintf("no gear named %s runs (the one in %s is %s); %s", name, g.Dir, other, elsewhere(reg))}
	}
	return g, err
}

// inAppDir is the gear of the application's directory: the one in the
// default state directory, else the registry's gear of that application.
func inAppDir(c *cli.Context, reg registry.Registry, logDir string) (control.Gear, error) {
	dir := stateDir(c)
	g, err := openGear("--dir", dir, logDir, false)
	if !errors.Is(err, errMissing) {
		return withLogs(reg, g, logDir), err
	}
	f, err := byAppDir(reg, appDir(c))
	if err != nil {
		return control.Gear{}, err
	}
	if f == nil {
		return g, &noGear{fmt.Sprintf("no gear in %s (no %s); %s", appDir(c), dir, elsewhere(reg))}
	}
	return openFound(reg, "gear "+f.Name+": its state directory", f.Dir, logDir)
}

// openFound opens the state directory dir that what names; a missing one
// is a *noGear.
func openFound(reg registry.Registry, what, dir, logDir string) (control.Gear, error) {
	g, err := openGear(what, dir, logDir, false)
	if errors.Is(err, errMissing) {
		return g, &noGear{fmt.Sprintf("no gear in %s (no such directory); %s", dir, elsewhere(reg))}
	}
	return withLogs(reg, g, logDir), err
}

// registeredAs is the name of the live gear whose state directory is dir,
// "" when none runs there.
func registeredAs(reg registry.Registry, dir string) string {
	all, _ := reg.List()
	for _, f := range all {
		if f.Err == nil && !f.Gone && f.Dir == dir {
			return f.Name
		}
	}
	return ""
}

// withLogs gives g the log directory its gear registered, unless --log-dir
// named one: `logs` then finds a log that start was told to put elsewhere.
func withLogs(reg registry.Registry, g control.Gear, logDir string) control.Gear {
	if logDir != "" || g.Dir == "" {
		return g
	}
	all, _ := reg.List()
	for _, f := range all {
		if f.Err == nil && f.Dir == g.Dir {
			g.LogDir = f.LogDir
		}
	}
	return g
}

// byAppDir is the registry's gear of the application in dir, nil when it
// has none. Several live ones (one application, several --dir) are bad
// input: which one is meant is for the caller to say.
func byAppDir(reg registry.Registry, dir string) (*registry.Found, error) {
	all, _ := reg.List() // an unreadable registry is said by elsewhere
	var found []registry.Found
	for _, f := range all {
		if f.Err == nil && f.AppDir == dir && !f.Gone {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	return nil, usageErrorf("%d gears run from %s: %s; accepted: one of their names, or --dir", len(found), dir, strings.Join(registry.Names(found), ", "))
}

// maxNamed is how many names a one-line message lists.
const maxNamed = 10

// elsewhere says which gears the registry knows, for a verb that found
// none where it looked.
func elsewhere(reg registry.Registry) string {
	all, err := reg.List()
	if err != nil {
		return fmt.Sprintf("the registry cannot be read (%v)", err)
	}
	live := registry.Names(all)
	var gone []string
	for _, f := range all {
		if f.Err == nil && f.Gone {
			gone = append(gone, f.Name)
		}
	}
	var s string
	switch len(live) {
	case 0:
		s = "no gear runs on this host"
	case 1:
		s = "1 gear runs on this host: " + named(live)
	default:
		s = fmt.Sprintf("%d gears run on this host: %s", len(live), named(live))
	}
	if len(gone) > 0 {
		s += "; gone: " + named(gone)
	}
	return s + " — see gearctl list"
}

// named lists names, the first maxNamed of them.
func named(names []string) string {
	if len(names) <= maxNamed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxNamed], ", "), len(names)-maxNamed)
}

// nameArg is the verb's NAME argument, "" without one.
func nameArg(c *cli.Context) (string, error) {
	args := c.Args().Slice()
	switch {
	case len(args) > 1 && strings.HasPrefix(args[1], "-"):
		// The flag parser stops at the first argument that is not a flag.
		return "", usageErrorf("%s after NAME; accepted: flags before it, gearctl %s [flags] NAME", args[1], c.Command.Name)
	case len(args) > 1:
		return "", usageErrorf("unexpected argument %q; accepted: one gear NAME", args[1])
	}
	return c.Args().First(), nil
}
