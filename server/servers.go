package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/control"
)

// ErrNotInstalled: the chosen server's executable, plugin or module is
// missing. Bad input is an *InputError naming the flag.
var ErrNotInstalled = errors.New("not installed")

// server is one catalog entry: how to tell it is installed and how to fill
// in the server-specific part of a Spec.
type server struct {
	name string
	// auto: --server auto may pick it, in the catalog's order.
	auto      bool
	installed func(Config) bool
	// switches: run as root, the server switches its own processes to
	// the Account (Apache's User and Group, mod_wsgi-express's --user and
	// --group): the Apache parent stays root to bind its port and manage
	// its children. The others are exec'ed as the Account (Credential), so
	// that none of their code runs as root: the socket they would need
	// root for is the supervisor's, handed over as fd 3 (and fd 4).
	// gunicorn's --user would leave its master root and give the workers
	// no supplementary groups (without --initgroups); uWSGI's --uid drops
	// only after loading plugins and options as root.
	switches bool
	// build sets Path, Args, Signals, TakesFD and Files on a Spec whose
	// common fields are already filled in.
	build func(Config, *control.Spec) error
}

// catalog is the one list of servers, in --server auto's order of
// preference; wsgiref, which needs nothing but Python's standard library,
// is what auto falls back to.
var catalog = []server{
	{"gunicorn", true, gunicornInstalled, false, buildGunicorn},
	{"uwsgi", true, uwsgiInstalled, false, buildUWSGI},
	{"mod_wsgi-express", true, modWSGIExpressInstalled, true, buildModWSGIExpress},
	{"apache", true, apacheInstalled, true, buildApache},
	{fallback, false, wsgirefInstalled, false, buildWSGIRef},
	{"command", false, func(c Config) bool { return c.Command != "" }, false, buildCommand},
	{programServer, false, programInstalled, false, buildProgram},
}

// fallback is what --server auto picks when no other server is installed.
const fallback = "wsgiref"

// Names lists the catalog's server names, for usage and error messages;
// --server also accepts "auto".
func Names() []string {
	names := make([]string, len(catalog))
	for i, s := range catalog {
		names[i] = s.name
	}
	return names
}

func lookup(name string) (server, bool) {
	for _, s := range catalog {
		if s.name == name {
			return s, true
		}
	}
	return server{}, false
}

// Installed says whether the named server can run for c: its executable is
// in the virtualenv's bin or on PATH (Apache's also in /usr/sbin), plus what
// it needs beside it (uWSGI's python3 plugin, Apache's mod_wsgi.so);
// gunicorn, run as `PYTHON -m gunicorn`, must be importable by c.Python.
func Installed(name string, c Config) bool {
	s, ok := lookup(name)
	return ok && s.installed(c)
}

// Auto picks the server for --server auto: the first installed of gunicorn,
// uwsgi, mod_wsgi-express and apache, else wsgiref, which needs nothing but
// Python's standard library.
func Auto(c Config) string {
	for _, s := range catalog {
		if s.auto && s.installed(c) {
			return s.name
		}
	}
	return fallback
}

// Spec builds the control.Spec that runs c's application under c.Server
// ("auto" or "" picks one with Auto). c.ExtraArgs end every argv.
//
// With an Account (--user, or the one Apache and mod_wsgi-express switch
// to as root), the spec makes the gear directory reachable by it at spawn
// where the server needs that; the application must be readable by it
// already.
func (c Config) Spec() (control.Spec, error) {
	name := c.Server
	if name == "" || name == "auto" {
		name = Auto(c)
	}
	srv, ok := lookup(name)
	if !ok {
		return control.Spec{}, &InputError{Flag: "--server", Value: c.Server, Msg: "unknown server",
			Accepted: "auto, " + strings.Join(Names(), ", ")}
	}
	if name != "command" && c.App.File == "" && c.App.Module == "" {
		return control.Spec{}, &InputError{Flag: "--app", Msg: name + " needs an application", Accepted: appForms}
	}
	if err := validApp(c.App); err != nil {
		return control.Spec{}, err
	}
	if err := c.runAs(srv); err != nil {
		return control.Spec{}, err
	}
	readyPath := c.ReadyPath
	if readyPath == "" {
		readyPath = "/"
	}
	s := control.Spec{
		Name:          name,
		Env:           c.Env,
		Dir:           c.Chdir,
		Host:          c.Host,
		Port:          c.Port,
		ReadyPath:     readyPath,
		ReadyStatus:   c.ReadyStatus,
		App:           c.App.Why,
		StartTimeout:  c.StartTimeout,
		StopTimeout:   c.StopTimeout,
		ProbeInterval: c.ProbeInterval,
		ProbeFailures: c.ProbeFailures,
		Files:         map[string]string{},
	}
	if err := srv.build(c, &s); err != nil {
		var input *InputError
		if errors.As(err, &input) {
			return control.Spec{}, err // names its flag already
		}
		return control.Spec{}, fmt.Errorf("%s: %w", name, err)
	}
	if c.User != nil {
		if !srv.switches {
			if err := c.User.execAs(c, &s); err != nil {
				return control.Spec{}, fmt.Errorf("%s: %w", name, err)
			}
		}
		s.Env, s.User = c.User.environ(s.Env), c.User.String()
	}
	s.Args = append(s.Args, c.ExtraArgs...)
	return s, nil
}

// runAs settles c.User, the account the application runs as, and checks
// that it can read the application: --user's, else, run as root, the one
// a server that switches must have (defaultAccount).
func (c *Config) runAs(srv server) error {
	if c.User != nil {
		if srv.switches && c.User.UID == 0 {
			return &InputError{Flag: "--user", Value: c.User.User, Msg: srv.name + " refuses to serve as root", Accepted: "an unprivileged user"}
		}
		if err := c.User.readable(*c); err != nil {
			return &InputError{Flag: "--user", Value: c.User.User, Msg: err.Error(),
				Accepted: "a user that can read the application (gearctl changes no permission of it)"}
		}
		return nil
	}
	if !srv.switches || os.Geteuid() != 0 {
		return nil
	}
	a, err := defaultAccount(*c)
	if err != nil {
		return err
	}
	if err := a.readable(*c); err != nil {
		return fmt.Errorf("running as root, %s serves as %s, and %w; make it readable by %s, own the application directory by the user it should run as, or choose one with --user",
			srv.name, a.User, err, a.User)
	}
	c.User = a
	return nil
}

// termHup is the signal map of servers that stop gracefully on TERM and
// reload in place on HUP.
var termHup = control.Signals{Stop: syscall.SIGTERM, Reload: syscall.SIGHUP}

// lookExe finds an executable in the virtualenv's bin first, then on the
// PATH the server will get (c.Env's, else ours). A name with a slash is
// taken as a path, relative to the application's directory.
func lookExe(c Config, name string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Chdir, p)
		}
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s: %w (not an executable file)", p, ErrNotInstalled)
	}
	var dirs []string
	if c.Venv != "" {
		dirs = append(dirs, filepath.Join(c.Venv, "bin"))
	}
	dirs = append(dirs, filepath.SplitList(pathOf(c.Env))...)
	for _, d := range dirs {
		if d == "" {
			continue // an empty PATH entry means ".", which a daemon must not search
		}
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	where := "PATH"
	if c.Venv != "" {
		where = filepath.Join(c.Venv, "bin") + " or PATH"
	}
	return "", fmt.Errorf("%s: %w (not in %s)", name, ErrNotInstalled, where)
}

func pathOf(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return os.Getenv("PATH")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// appCallable is the WSGI callable's name, "application" by default as in
// every server's documentation.
func appCallable(a App) string {
	if a.Callable == "" {
		return "application"
	}
	return a.Callable
}

// validApp rejects module and callable names that would not survive being
// put in an argv option, an Apache directive or Python source: each must be
// a dotted Python identifier. An unset App is valid (--command may not need
// one).
func validApp(a App) error {
	for _, name := range []string{a.Module, a.Callable} {
		if name != "" && !isDottedName(name) {
			return &InputError{Flag: "--app", Value: a.String(), Msg: fmt.Sprintf("%q is not a Python name", name), Accepted: appForms}
		}
	}
	return nil
}

func isDottedName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if !isIdentifier(part) {
			return false
		}
	}
	return true
}

// workersThreads is Workers and Threads with the documented defaults for
// unset values.
func workersThreads(c Config) (workers, threads int) {
	workers, threads = c.Workers, c.Threads
	if workers < 1 {
		workers = 2
	}
	if threads < 1 {
		threads = 1
	}
	return workers, threads
}

// seconds renders a timeout for options that take whole seconds, rounded
// up so a short timeout never becomes "0" (which some servers read as
// "forever" or "at once").
func seconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// fileAppDir is the directory of a file application when it is not the
// application directory itself: every server puts it on sys.path, as
// `python FILE` would, so OpenShift's wsgi/application can import its
// siblings in wsgi/. "" otherwise.
func fileAppDir(c Config) string {
	if c.App.File == "" {
		return ""
	}
	d := filepath.Dir(c.App.File)
	if filepath.Clean(d) == filepath.Clean(c.Chdir) {
		return ""
	}
	return d
}
