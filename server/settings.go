package server

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gearctl/gearctl/internal/environ"
)

// Settings are the application settings as the user gave them, through
// flags or environment, before they are checked and resolved into a Config.
type Settings struct {
	Server       string
	App          string
	Chdir        string
	Host         string
	Port         int
	Workers      int
	Threads      int
	Python       string
	Command      string
	ReadyPath    string
	StartTimeout time.Duration
	StopTimeout  time.Duration
	// ProbeInterval and ProbeFailures drive the liveness probe of a ready
	// server (--probe-interval, --probe-failures).
	ProbeInterval time.Duration
	ProbeFailures int
	// Dir is the gear's state directory.
	Dir       string
	ExtraArgs []string
	// Static maps URL prefixes to directories, "URL=DIR" each (--static).
	Static []string
	// Vars are KEY=VALUE pairs the server gets on top of Env (--env);
	// EnvFiles are files of such lines (--env-file), read at each resolve
	// so that an edited file takes effect at the next restart.
	Vars     []string
	EnvFiles []string
	// ReadyStatus is the range of probe statuses that mean ready, "LO-HI".
	ReadyStatus string
	// User and Group are who the server runs as (--user, --group), names
	// or ids; "" is gearctl's own user.
	User  string `json:",omitempty"`
	Group string `json:",omitempty"`
	// Env is the environment servers inherit (usually os.Environ()).
	Env []string `json:"-"`
}

// Resolve checks every setting and resolves the automatic ones: the
// server, the interpreter and the application entry point. Bad input is an
// *InputError naming the flag and what it accepts.
func (in Settings) Resolve() (Config, error) {
	c := Config{
		Host: in.Host, Port: in.Port, Workers: in.Workers, Threads: in.Threads,
		Command: in.Command, ReadyPath: in.ReadyPath,
		StartTimeout: in.StartTimeout, StopTimeout: in.StopTimeout,
		ProbeInterval: in.ProbeInterval, ProbeFailures: in.ProbeFailures,
		ExtraArgs: in.ExtraArgs,
	}
	var err error
	if err = checkRange("--port", in.Port, 1, 65535); err != nil {
		return c, err
	}
	if err = checkRange("--workers", in.Workers, 1, 1024); err != nil {
		return c, err
	}
	if err = checkRange("--threads", in.Threads, 1, 1024); err != nil {
		return c, err
	}
	if err = checkHost(in.Host); err != nil {
		return c, err
	}
	if err = checkReadyPath(in.ReadyPath); err != nil {
		return c, err
	}
	if err = checkTimeout("--start-timeout", in.StartTimeout); err != nil {
		return c, err
	}
	if err = checkTimeout("--stop-timeout", in.StopTimeout); err != nil {
		return c, err
	}
	if c.Chdir, err = absDir("--chdir", in.Chdir); err != nil {
		return c, err
	}
	if c.Dir, err = filepath.Abs(in.Dir); err != nil {
		return c, &InputError{Flag: "--dir", Value: in.Dir, Msg: err.Error()}
	}
	if c.User, err = resolveAccount(os.Geteuid(), in.User, in.Group); err != nil {
		return c, err
	}
	if c.Python, c.Venv, err = findPython(in.Python); err != nil {
		return c, err
	}
	if c.Server, err = in.server(); err != nil {
		return c, err
	}
	if c.App, c.Server, err = findEntry(c, in.App, in.Command); err != nil {
		return c, err
	}
	if c.ReadyStatus, err = ParseReadyStatus(in.ReadyStatus); err != nil {
		return c, err
	}
	if c.Static, err = parseStatic(c.Chdir, in.Static); err != nil {
		return c, err
	}
	vars, err := gearVars(c.Chdir, in.Vars, in.EnvFiles)
	if err != nil {
		return c, err
	}
	c.Env = c.App.environ(serverEnv(append(append([]string(nil), in.Env...), vars...), c.Venv, c.Python))
	if c.Server == "auto" {
		c.Server = Auto(c)
	} else if !Installed(c.Server, c) {
		return c, notInstalled(c)
	}
	return c, nil
}

// server is the --server value checked against the catalog, "auto" kept
// for later; a --command implies the command server.
func (in Settings) server() (string, error) {
	name := in.Server
	if name == "" {
		name = "auto"
	}
	switch {
	case in.Command != "" && (name == "auto" || name == "command"):
		return "command", nil
	case in.Command != "":
		return "", &InputError{Flag: "--command", Value: in.Command, Msg: fmt.Sprintf("runs its own server, but --server is %s", name), Accepted: "--command with --server command or auto"}
	case name == "command":
		return "", &InputError{Flag: "--server", Value: name, Msg: "needs --command", Accepted: "--command 'PROGRAM ARGS…' ({host} {port} {fd} {app} are substituted)"}
	case name == "auto":
		return name, nil
	}
	for _, n := range Names() {
		if n == name {
			return name, nil
		}
	}
	return "", &InputError{Flag: "--server", Value: name, Msg: "unknown server", Accepted: "auto, " + strings.Join(Names(), ", ")}
}

func installedNames(c Config) []string {
	var names []string
	for _, n := range Names() {
		if n != "command" && Installed(n, c) {
			names = append(names, n)
		}
	}
	return names
}

func checkRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return &InputError{Flag: flag, Value: fmt.Sprint(v), Msg: "out of range", Accepted: fmt.Sprintf("%d to %d", lo, hi)}
	}
	return nil
}

// acceptedHost is what --host takes; a port has its own flag.
const acceptedHost = "an IP address or host name without a port, such as 127.0.0.1 or ::1 (the port goes in --port)"

// checkHost accepts an IP literal or a host name (RFC 1123 labels). A
// "host:port" would otherwise fail late as "no such host".
func checkHost(host string) error {
	if host == "" {
		return &InputError{Flag: "--host", Msg: "empty", Accepted: acceptedHost}
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	bad := &InputError{Flag: "--host", Value: host, Msg: "not an IP address or host name", Accepted: acceptedHost}
	if _, _, err := net.SplitHostPort(host); err == nil {
		bad.Msg = "has a port"
	}
	if len(host) > 253 {
		return bad
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return bad
			}
		}
	}
	return nil
}

// checkReadyPath accepts what the probe can request: a path that parses
// as a request URI. A bad escape (/%zz) would otherwise make every probe
// fail until the start timeout.
func checkReadyPath(path string) error {
	accepted := "a URL path starting with /, %-escapes as %XX, such as /health"
	if !strings.HasPrefix(path, "/") {
		return &InputError{Flag: "--ready-path", Value: path, Msg: "not an absolute URL path", Accepted: accepted}
	}
	if _, err := url.ParseRequestURI(path); err != nil || strings.ContainsAny(path, " \t\r\n\x00") {
		return &InputError{Flag: "--ready-path", Value: path, Msg: "not a valid URL path", Accepted: accepted}
	}
	return nil
}

// maxTimeout caps the timeouts: beyond it a typo (2000000h) overflows the
// sums of timeouts that bound a start or a stop.
const maxTimeout = 24 * time.Hour

func checkTimeout(flag string, d time.Duration) error {
	if d <= 0 || d > maxTimeout {
		return &InputError{Flag: flag, Value: d.String(), Msg: "out of range", Accepted: "a duration above 0 and at most 24h, such as 30s or 2m"}
	}
	return nil
}

func absDir(flag, dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", &InputError{Flag: flag, Value: dir, Msg: err.Error()}
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", &InputError{Flag: flag, Value: dir, Msg: "no such directory", Accepted: "an existing directory"}
	}
	return abs, nil
}

// supervisorOnly are variables meant for the supervisor: a server that
// saw NOTIFY_SOCKET would tell systemd READY=1 before its application
// imported, and LISTEN_* describe sockets the server gets otherwise.
var supervisorOnly = []string{"NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC"}

// serverEnv is the environment servers get: Python output unbuffered, so
// log lines arrive as they are written, and the virtualenv first on PATH —
// or, without one, the directory of the interpreter python, unless the
// first python3 on PATH is that one already: `python3` in a hook, a shell
// or an app.sh must be the interpreter the application runs on.
func serverEnv(env []string, venv, python string) []string {
	out := slices.DeleteFunc(append([]string(nil), env...), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(supervisorOnly, k)
	})
	if !environ.Has(out, "PYTHONUNBUFFERED") {
		out = append(out, "PYTHONUNBUFFERED=1")
	}
	first := ""
	switch {
	case venv != "":
		out = environ.Set(out, "VIRTUAL_ENV", venv)
		first = filepath.Join(venv, "bin")
	case python != "" && !samePython(firstPython3(out), python):
		first = filepath.Dir(python)
	}
	if first != "" {
		out = environ.Set(out, "PATH", first+string(os.PathListSeparator)+environ.Get(out, "PATH"))
	}
	return out
}

// firstPython3 is the python3 a shell with env would run, "" for none.
func firstPython3(env []string) string {
	for _, d := range filepath.SplitList(environ.Get(env, "PATH")) {
		if p := filepath.Join(d, "python3"); d != "" && isExecutable(p) {
			return p
		}
	}
	return ""
}
