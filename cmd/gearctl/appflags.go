package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// appFlags are the application flags of run, start and restart; each has
// its variables, OpenShift's names included.
func appFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Value: "auto", EnvVars: []string{"GEARCTL_SERVER", "OPENSHIFT_PYTHON_SERVER"},
			Usage: "auto or one of " + strings.Join(cartridge.Names(), ", ") + " (program: app.py run as a program)"},
		&cli.StringFlag{Name: "app", EnvVars: []string{"GEARCTL_APP", "OPENSHIFT_PYTHON_WSGI_APPLICATION"},
			Usage: "FILE.py, FILE.py:callable or module:callable (default: detected, see README: a program app.py, wsgi/application, wsgi.py, app.py, application.py, a Django project)"},
		&cli.StringFlag{Name: "chdir", EnvVars: []string{"GEARCTL_CHDIR", "OPENSHIFT_REPO_DIR"},
			Usage: "the application's directory (default: the current directory)"},
		&cli.StringFlag{Name: "host", Value: "127.0.0.1", EnvVars: []string{"GEARCTL_HOST", "OPENSHIFT_PYTHON_IP"}},
		&cli.IntFlag{Name: "port", Value: 8080, EnvVars: []string{"GEARCTL_PORT", "OPENSHIFT_PYTHON_PORT"}},
		&cli.IntFlag{Name: "workers", Value: 2, EnvVars: []string{"GEARCTL_WORKERS"}},
		&cli.IntFlag{Name: "threads", Value: 1, EnvVars: []string{"GEARCTL_THREADS"}},
		&cli.StringFlag{Name: "python", EnvVars: []string{"GEARCTL_PYTHON", "VIRTUAL_ENV"},
			Usage: "interpreter or virtualenv (default: /usr/bin/python3 when it exists, else python3 on PATH)"},
		&cli.StringFlag{Name: "command", EnvVars: []string{"GEARCTL_COMMAND"},
			Usage: "run this command line as the server; {host} {port} {fd} {app} are substituted"},
		&cli.StringFlag{Name: "ready-path", Value: "/", EnvVars: []string{"GEARCTL_READY_PATH"},
			Usage: "ready once a GET of this path answers with a status in --ready-status"},
		&cli.StringFlag{Name: "ready-status", Value: "200-499", EnvVars: []string{"GEARCTL_READY_STATUS"},
			Usage: "the statuses that mean ready, LO-HI (200-399: a 4xx is not ready)"},
		&cli.StringSliceFlag{Name: "static", EnvVars: []string{"GEARCTL_STATIC"},
			Usage: "serve DIR at URL, URL=DIR, repeatable (default: wsgi/static at /static where it exists)"},
		&cli.StringSliceFlag{Name: "env", EnvVars: []string{"GEARCTL_ENV"},
			Usage: "KEY=VALUE for the server, repeatable; kept by later restarts"},
		&cli.StringSliceFlag{Name: "env-file", EnvVars: []string{"GEARCTL_ENV_FILE"},
			Usage: "a file of KEY=VALUE lines for the server, repeatable; read again at each restart"},
		&cli.DurationFlag{Name: "start-timeout", Value: 60 * time.Second, EnvVars: []string{"GEARCTL_START_TIMEOUT"}},
		&cli.DurationFlag{Name: "stop-timeout", Value: 30 * time.Second, EnvVars: []string{"GEARCTL_STOP_TIMEOUT"}},
		&cli.DurationFlag{Name: "probe-interval", Value: 5 * time.Second, EnvVars: []string{"GEARCTL_PROBE_INTERVAL"},
			Usage: "how often a ready server is probed again; 0 turns it off"},
		&cli.IntFlag{Name: "probe-failures", Value: 3, EnvVars: []string{"GEARCTL_PROBE_FAILURES"},
			Usage: "failed probes in a row that restart a ready server"},
	}
}

// keepers copy one setting from the running gear's settings, for a restart
// that does not give it again: a restart changes only what it is told to.
var keepers = map[string]func(dst, src *cartridge.Settings){
	"server":         func(d, s *cartridge.Settings) { d.Server = s.Server },
	"app":            func(d, s *cartridge.Settings) { d.App = s.App },
	"chdir":          func(d, s *cartridge.Settings) { d.Chdir = s.Chdir },
	"host":           func(d, s *cartridge.Settings) { d.Host = s.Host },
	"port":           func(d, s *cartridge.Settings) { d.Port = s.Port },
	"workers":        func(d, s *cartridge.Settings) { d.Workers = s.Workers },
	"threads":        func(d, s *cartridge.Settings) { d.Threads = s.Threads },
	"python":         func(d, s *cartridge.Settings) { d.Python = s.Python },
	"command":        func(d, s *cartridge.Settings) { d.Command = s.Command },
	"ready-path":     func(d, s *cartridge.Settings) { d.ReadyPath = s.ReadyPath },
	"ready-status":   func(d, s *cartridge.Settings) { d.ReadyStatus = s.ReadyStatus },
	"static":         func(d, s *cartridge.Settings) { d.Static = s.Static },
	"env":            func(d, s *cartridge.Settings) { d.Vars = s.Vars },
	"env-file":       func(d, s *cartridge.Settings) { d.EnvFiles = s.EnvFiles },
	"start-timeout":  func(d, s *cartridge.Settings) { d.StartTimeout = s.StartTimeout },
	"stop-timeout":   func(d, s *cartridge.Settings) { d.StopTimeout = s.StopTimeout },
	"probe-interval": func(d, s *cartridge.Settings) { d.ProbeInterval = s.ProbeInterval },
	"probe-failures": func(d, s *cartridge.Settings) { d.ProbeFailures = s.ProbeFailures },
}

// settings collects the application flags. With base (the running gear's
// settings), flags and variables not given now keep base's values.
func settings(c *cli.Context, dir string, extra []string, base *cartridge.Settings) cartridge.Settings {
	s := cartridge.Settings{
		Server:        c.String("server"),
		App:           c.String("app"),
		Chdir:         c.String("chdir"),
		Host:          c.String("host"),
		Port:          c.Int("port"),
		Workers:       c.Int("workers"),
		Threads:       c.Int("threads"),
		Python:        c.String("python"),
		Command:       c.String("command"),
		ReadyPath:     c.String("ready-path"),
		ReadyStatus:   c.String("ready-status"),
		Static:        c.StringSlice("static"),
		Vars:          c.StringSlice("env"),
		EnvFiles:      c.StringSlice("env-file"),
		StartTimeout:  c.Duration("start-timeout"),
		StopTimeout:   c.Duration("stop-timeout"),
		ProbeInterval: c.Duration("probe-interval"),
		ProbeFailures: c.Int("probe-failures"),
		Dir:           dir,
		ExtraArgs:     extra,
		Env:           os.Environ(),
	}
	if base != nil {
		for name, keep := range keepers {
			if !c.IsSet(name) {
				keep(&s, base)
			}
		}
		if extra == nil {
			s.ExtraArgs = base.ExtraArgs
		}
	}
	return s
}

// gear is the gear named by --dir and --log-dir. --dir defaults to
// $OPENSHIFT_PYTHON_DIR/run, else ./.gearctl, and is created 0700: it holds
// the control socket and pidfiles, which only the owner may reach.
func gear(c *cli.Context) (control.Gear, error) {
	dir := c.String("dir")
	if dir == "" {
		dir = ".gearctl"
		if d := os.Getenv("OPENSHIFT_PYTHON_DIR"); d != "" {
			dir = filepath.Join(d, "run")
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return control.Gear{}, usageErrorf("--dir %s: %v", dir, err)
	}
	g := control.Gear{Dir: dir, LogDir: c.String("log-dir"), Rebuild: rebuild}
	if err := g.Check(); err != nil {
		return g, usageErrorf("--dir: %v", err)
	}
	err = os.MkdirAll(dir, 0o700)
	if err == nil {
		err = unix.Access(dir, unix.W_OK|unix.X_OK)
	}
	if err != nil {
		return g, usageErrorf("--dir %s: %v; accepted: a directory this user can create or write", dir, err)
	}
	if err := g.Trust(); err != nil {
		return g, untrusted(err)
	}
	return g, nil
}

// rebuild makes an adopted server's spec from its recorded settings, on
// the port it was started on, as this caller's own flags would have.
func rebuild(recorded control.Spec) (control.Spec, error) {
	var s cartridge.Settings
	if err := json.Unmarshal(recorded.Settings, &s); err != nil {
		return control.Spec{}, fmt.Errorf("recorded settings: %w", err)
	}
	spec, _, err := specFor(s, recorded.Port)
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

// resolve checks the application flags and builds the server's Spec; bad
// input is a usage error, and nothing has been touched yet.
func resolve(c *cli.Context, g control.Gear, base *cartridge.Settings) (control.Spec, cartridge.Settings, error) {
	extra, err := extraArgs(c)
	if err != nil {
		return control.Spec{}, cartridge.Settings{}, err
	}
	return specFor(settings(c, g.Dir, extra, base), 0)
}

// specFor checks settings and builds their Spec, on port instead of the
// settings' own when port is not 0 (the settings keep theirs).
func specFor(s cartridge.Settings, port int) (control.Spec, cartridge.Settings, error) {
	run := s
	if port != 0 {
		run.Port = port
	}
	cfg, err := run.Resolve()
	var spec control.Spec
	if err == nil {
		spec, err = cfg.Spec()
	}
	if err != nil {
		return spec, s, usageErrorf("%v", err)
	}
	// Pin what was automatic, so that the background supervisor and later
	// restarts run what was checked here, wherever they are called from.
	s.Chdir, s.Python = cfg.Chdir, cfg.Python
	if !cfg.App.Program {
		// A program app.py is left to detection: once the file imports as
		// WSGI, the next restart serves it on a WSGI server.
		s.Server = cfg.Server
	}
	spec.Settings, err = json.Marshal(s)
	return spec, s, err
}
