package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gearctl/gearctl/internal/environ"
	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
)

// setting is one application setting: its flag (name, variables,
// default, help) and the field of server.Settings it fills.
type setting struct {
	flag cli.Flag
	// read sets the field from c's flag.
	read func(c *cli.Context, s *server.Settings)
	// keep copies the field from the running gear's settings, for a
	// restart that does not give it again.
	keep func(dst, src *server.Settings)
	// value is the field's value.
	value func(s *server.Settings) any
}

// field makes the setting of flag, whose value get reads, stored in the
// field that at points to.
func field[T any](flag cli.Flag, get func(*cli.Context, string) T, at func(*server.Settings) *T) setting {
	name := flag.Names()[0]
	return setting{
		flag:  flag,
		read:  func(c *cli.Context, s *server.Settings) { *at(s) = get(c, name) },
		keep:  func(dst, src *server.Settings) { *at(dst) = *at(src) },
		value: func(s *server.Settings) any { return *at(s) },
	}
}

// reportValue is v as status --json has it.
func reportValue(v any) any {
	switch x := v.(type) {
	case time.Duration:
		return x.Seconds()
	case []string:
		if x == nil {
			return []string{}
		}
	}
	return v
}

var (
	str  = (*cli.Context).String
	num  = (*cli.Context).Int
	dur  = (*cli.Context).Duration
	list = (*cli.Context).StringSlice
)

// settingsTable is the one list of application settings: the flags of
// run, start, restart and the control actions, with their variables
// (OpenShift's names included), and where each goes. Each call makes new
// flags: urfave keeps what it parsed in them.
func settingsTable() []setting {
	return []setting{
		field(&cli.StringFlag{Name: "server", Value: "auto", EnvVars: []string{"GEARCTL_SERVER", "OPENSHIFT_PYTHON_SERVER"},
			Usage: "auto or one of " + strings.Join(server.Names(), ", ") + " (program: app.py run as a program)"},
			str, func(s *server.Settings) *string { return &s.Server }),
		field(&cli.StringFlag{Name: "app", EnvVars: []string{"GEARCTL_APP", "OPENSHIFT_PYTHON_WSGI_APPLICATION"},
			Usage:       "the WSGI entry point: FILE.py, FILE.py:callable or module:callable, such as wsgi.py or mysite.wsgi:application",
			DefaultText: "detected: a program app.py, wsgi/application, wsgi.py, app.py, application.py, a Django project; see README"},
			str, func(s *server.Settings) *string { return &s.App }),
		field(&cli.StringFlag{Name: "chdir", EnvVars: []string{"GEARCTL_CHDIR", "OPENSHIFT_REPO_DIR"},
			Usage: "the application's directory", DefaultText: "the current directory"},
			str, func(s *server.Settings) *string { return &s.Chdir }),
		field(&cli.StringFlag{Name: "host", Value: "127.0.0.1", EnvVars: []string{"GEARCTL_HOST", "OPENSHIFT_PYTHON_IP"},
			Usage: "the address the application listens on, without a port, such as 0.0.0.0 or 10.0.0.5"},
			str, func(s *server.Settings) *string { return &s.Host }),
		field(intFlag(cli.GenericFlag{Name: "port", EnvVars: []string{"GEARCTL_PORT", "OPENSHIFT_PYTHON_PORT"},
			Usage: "the port the application listens on"}, 8080, acceptedPort),
			num, func(s *server.Settings) *int { return &s.Port }),
		field(intFlag(cli.GenericFlag{Name: "workers", EnvVars: []string{"GEARCTL_WORKERS"},
			Usage: "server worker processes"}, 2, acceptedNumber),
			num, func(s *server.Settings) *int { return &s.Workers }),
		field(intFlag(cli.GenericFlag{Name: "threads", EnvVars: []string{"GEARCTL_THREADS"},
			Usage: "threads per worker"}, 1, acceptedNumber),
			num, func(s *server.Settings) *int { return &s.Threads }),
		field(&cli.StringFlag{Name: "python", EnvVars: []string{"GEARCTL_PYTHON", "VIRTUAL_ENV"},
			Usage: "the interpreter or virtualenv that runs the application, such as .venv or /usr/bin/python3", DefaultText: "/usr/bin/python3 when it exists, else python3 on PATH"},
			str, func(s *server.Settings) *string { return &s.Python }),
		field(&cli.StringFlag{Name: "command", EnvVars: []string{"GEARCTL_COMMAND"},
			Usage: "run this command line as the server, {host} {port} {fd} {app} substituted, such as 'waitress-serve --listen={host}:{port} {app}'"},
			str, func(s *server.Settings) *string { return &s.Command }),
		field(&cli.StringFlag{Name: "ready-path", Value: "/", EnvVars: []string{"GEARCTL_READY_PATH"},
			Usage: "ready once a GET of this path answers with a status in --ready-status, such as /health"},
			str, func(s *server.Settings) *string { return &s.ReadyPath }),
		field(&cli.StringFlag{Name: "ready-status", Value: "200-499", EnvVars: []string{"GEARCTL_READY_STATUS"},
			Usage: "the statuses that mean ready, LO-HI (200-399: a 4xx is not ready)"},
			str, func(s *server.Settings) *string { return &s.ReadyStatus }),
		field(&cli.StringSliceFlag{Name: "static", EnvVars: []string{"GEARCTL_STATIC"},
			Usage: "serve DIR at URL, URL=DIR, repeatable, such as /media=uploads", DefaultText: "wsgi/static at /static where it exists"},
			list, func(s *server.Settings) *[]string { return &s.Static }),
		field(&cli.StringSliceFlag{Name: "env", EnvVars: []string{"GEARCTL_ENV"},
			Usage: "KEY=VALUE for the server, repeatable, such as DJANGO_DEBUG=0; kept by later restarts"},
			list, func(s *server.Settings) *[]string { return &s.Vars }),
		field(&cli.StringSliceFlag{Name: "env-file", EnvVars: []string{"GEARCTL_ENV_FILE"},
			Usage: "a file of KEY=VALUE lines for the server, repeatable, such as .env; read again at each restart"},
			list, func(s *server.Settings) *[]string { return &s.EnvFiles }),
		field(&cli.StringFlag{Name: "user", EnvVars: []string{"GEARCTL_USER"},
			Usage: "run the server as this user (name or uid) with its groups; root only: gearctl stays root"},
			str, func(s *server.Settings) *string { return &s.User }),
		field(&cli.StringFlag{Name: "group", EnvVars: []string{"GEARCTL_GROUP"},
			Usage: "with --user: this group (name or gid) instead of the user's primary one"},
			str, func(s *server.Settings) *string { return &s.Group }),
		field(durationFlag(cli.GenericFlag{Name: "start-timeout", EnvVars: []string{"GEARCTL_START_TIMEOUT"},
			Usage: "how long the server may take to answer before the start fails"}, 60*time.Second),
			dur, func(s *server.Settings) *time.Duration { return &s.StartTimeout }),
		field(durationFlag(cli.GenericFlag{Name: "stop-timeout", EnvVars: []string{"GEARCTL_STOP_TIMEOUT"},
			Usage: "how long a graceful stop may take before the server is killed"}, 30*time.Second),
			dur, func(s *server.Settings) *time.Duration { return &s.StopTimeout }),
		field(durationFlag(cli.GenericFlag{Name: "probe-interval", EnvVars: []string{"GEARCTL_PROBE_INTERVAL"},
			Usage: "how often a ready server is probed again; 0 turns it off"}, 5*time.Second),
			dur, func(s *server.Settings) *time.Duration { return &s.ProbeInterval }),
		field(intFlag(cli.GenericFlag{Name: "probe-failures", EnvVars: []string{"GEARCTL_PROBE_FAILURES"},
			Usage: "failed probes in a row that restart a ready server"}, 3, acceptedNumber),
			num, func(s *server.Settings) *int { return &s.ProbeFailures }),
	}
}

// appFlags are the flags of settingsTable.
func appFlags() []cli.Flag {
	table := settingsTable()
	flags := make([]cli.Flag, len(table))
	for i, s := range table {
		flags[i] = s.flag
	}
	return flags
}

// settings collects the application flags. With base (the running gear's
// settings), flags and variables not given now keep base's values: a
// restart changes only what it is told to.
func settings(c *cli.Context, dir string, extra []string, base *server.Settings) server.Settings {
	s := server.Settings{Dir: dir, ExtraArgs: extra, Env: os.Environ()}
	for _, f := range settingsTable() {
		if base != nil && !c.IsSet(f.flag.Names()[0]) {
			f.keep(&s, base)
		} else {
			f.read(c, &s)
		}
	}
	if base != nil && extra == nil {
		s.ExtraArgs = base.ExtraArgs
	}
	return s
}

// settingsReport is s as status --json shows it: each setting by its
// flag's name in snake case, and the --env variables by name only, since
// their values may be secrets.
func settingsReport(s server.Settings) map[string]any {
	m := map[string]any{"dir": s.Dir, "extra_args": reportValue(s.ExtraArgs)}
	for _, f := range settingsTable() {
		m[jsonName(f.flag)] = reportValue(f.value(&s))
	}
	m["env"] = environ.Names(s.Vars)
	return m
}

// jsonName is a flag's name as a JSON field: --start-timeout is
// start_timeout.
func jsonName(f cli.Flag) string { return strings.ReplaceAll(f.Names()[0], "-", "_") }

// givenSettings are the flag names of the settings c's command line or
// environment gives.
func givenSettings(c *cli.Context) []string {
	var given []string
	for _, f := range settingsTable() {
		if name := f.flag.Names()[0]; c.IsSet(name) {
			given = append(given, name)
		}
	}
	return given
}

// differing are the given settings whose value in asked is not the one
// running has, as "--flag ASKED (running: VALUE)", and as restart's flags
// that would apply them (--env's values left out: they may be secrets).
func differing(given []string, asked, running server.Settings) (said, flags []string) {
	for _, f := range settingsTable() {
		name := f.flag.Names()[0]
		av, rv := f.value(&asked), f.value(&running)
		if !slices.Contains(given, name) || reflect.DeepEqual(av, rv) {
			continue
		}
		if name == "env" {
			said = append(said, "--env (other values)")
			flags = append(flags, "--env ...")
			continue
		}
		said = append(said, fmt.Sprintf("--%s %s (running: %s)", name, flagText(av), flagText(rv)))
		if list, ok := av.([]string); ok {
			for _, x := range list {
				flags = append(flags, "--"+name, x)
			}
		} else {
			flags = append(flags, fmt.Sprintf("--%s=%s", name, flagText(av)))
		}
	}
	return said, flags
}

// flagText is a setting's value as it is written on a command line.
func flagText(v any) string {
	if list, ok := v.([]string); ok {
		return strings.Join(list, ",")
	}
	return fmt.Sprint(v)
}
