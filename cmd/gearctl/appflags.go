package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// gearDir is the gear of a verb that makes one — run, start, a restart
// that starts, the control actions: --dir, else the default state
// directory of the application's (stateDir), created 0700: it holds the
// control socket and pidfiles, which only the owner may reach.
func gearDir(c *cli.Context) (control.Gear, error) {
	dir := globalString(c, "dir")
	if dir == "" {
		dir = stateDir(c)
	}
	return openGear("--dir", dir, globalString(c, "log-dir"), true)
}

// errMissing is a state directory that is not there.
var errMissing = errors.New("no such directory")

// openGear checks the state directory dir, which what names (--dir, or
// the gear's name), and refuses one another user could have written. It
// makes dir when create is set; otherwise a missing one is errMissing,
// and nothing is made.
func openGear(what, dir, logDir string, create bool) (control.Gear, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return control.Gear{}, usageErrorf("%s %s: %v", what, dir, err)
	}
	g := control.Gear{Dir: dir, LogDir: logDir, Rebuild: rebuild}
	if err := g.Check(); err != nil {
		return g, usageErrorf("%s: %v", what, err)
	}
	if create {
		err = os.MkdirAll(dir, 0o700)
	} else if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		return g, errMissing
	}
	if err == nil {
		err = unix.Access(dir, unix.W_OK|unix.X_OK)
	}
	if err != nil {
		return g, usageErrorf("%s %s: %v; accepted: a directory this user can create or write", what, dir, err)
	}
	if err := g.Trust(); err != nil {
		return g, untrusted(err)
	}
	return g, nil
}

// stateDir is the default state directory: $OPENSHIFT_PYTHON_DIR/run,
// else .gearctl in the application's directory, so that a gear is found
// from where its application is, not from where its start ran.
func stateDir(c *cli.Context) string {
	if d := os.Getenv("OPENSHIFT_PYTHON_DIR"); d != "" {
		return filepath.Join(d, "run")
	}
	return filepath.Join(appDir(c), ".gearctl")
}

// appDir is the application's directory, absolute: --chdir, or for a verb
// without the flag its variables (the settings table's), else the current
// directory.
func appDir(c *cli.Context) string {
	dir := c.String("chdir")
	for _, s := range settingsTable() {
		if f, ok := s.flag.(*cli.StringFlag); ok && f.Name == "chdir" && dir == "" {
			for _, v := range f.EnvVars {
				if dir = os.Getenv(v); dir != "" {
					break
				}
			}
		}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// rebuild makes an adopted server's spec from its recorded settings, on
// the port it was started on, as this caller's own flags would have.
func rebuild(recorded control.Spec) (control.Spec, error) {
	var s server.Settings
	if err := json.Unmarshal(recorded.Settings, &s); err != nil {
		return control.Spec{}, fmt.Errorf("recorded settings: %w", err)
	}
	spec, _, err := gear.Resolve(s, recorded.Port)
	if err != nil {
		return control.Spec{}, fmt.Errorf("rebuilding the recorded spec: %w", err)
	}
	return spec, nil
}

// checkServerFile refuses to start over a server pidfile that cannot be
// read: what it names is unknown, so nothing is started or signalled.
func checkServerFile(g control.Gear) error {
	p, _, err := g.Orphan()
	if p != nil {
		p.Close()
	}
	if errors.Is(err, pidfile.ErrGarbage) {
		return garbage(err)
	}
	if errors.Is(err, pidfile.ErrUntrusted) {
		return untrusted(err)
	}
	return nil
}

// untrusted is the usage error for a state file or directory another user
// could have written: what it says is not acted on.
func untrusted(err error) error {
	return usageErrorf("%v; nothing was read or signalled", err)
}

// garbage is the usage error for a server pidfile that cannot be read.
func garbage(err error) error {
	return usageErrorf("%v; nothing was signalled — remove it (gearctl tidy) once sure no server of this gear runs", err)
}

// extraArgs are the positional arguments, accepted only after "--" so that
// a mistyped verb or flag is not passed to the server.
func extraArgs(c *cli.Context) ([]string, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return nil, nil
	}
	for _, a := range os.Args {
		if a == "--" {
			return args, nil
		}
	}
	return nil, usageErrorf("unexpected argument %q; server arguments go after --", args[0])
}
