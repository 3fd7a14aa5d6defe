package server

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/internal/environ"
)

// programServer runs app.py as a program: chosen when detection finds that
// it is one, or with --server program (what a start pins for later
// restarts, and the way to run an app.py that reading it does not show to
// be a program, or one beside a wsgi.py, which detection takes first).
const programServer = "program"

func programInstalled(c Config) bool {
	return isFile(filepath.Join(c.Chdir, programCandidate)) && isExecutable(c.Python)
}

// buildProgram runs app.py as the OpenShift cartridge did, `PYTHON -u
// app.py` in the application directory, telling it where to listen in the
// cartridge's variables and gearctl's. It binds its own port. Its PID stays
// the server's through any exec chain (app.py → bash app.sh → gunicorn).
// TERM goes to the whole group, since a shell that did not exec dies of it
// at once and the server must still stop gracefully. It has no graceful
// reload gearctl could know of, as a HUP would end such a shell: reload
// restarts it instead (control.ErrNoReload). That
// app.py exists is Resolve's to check, with the settings that chose it.
func buildProgram(c Config, s *control.Spec) error {
	in, err := probe(c)
	if err != nil {
		return err
	}
	// What app.py execs may run the application on another interpreter.
	s.Interpreter = interpreterOf(c, in) + " runs " + programCandidate
	s.Path = c.Python
	s.Args = []string{c.Python, "-u", programCandidate}
	port := strconv.Itoa(c.Port)
	for _, kv := range [][2]string{{"OPENSHIFT_PYTHON_IP", c.Host}, {"OPENSHIFT_PYTHON_PORT", port},
		{"GEARCTL_HOST", c.Host}, {"GEARCTL_PORT", port}} {
		s.Env = environ.Set(s.Env, kv[0], kv[1])
	}
	s.Signals = control.Signals{Stop: syscall.SIGTERM, Group: true}
	return nil
}

// findEntry finds c's application (--app value) and settles the server
// that runs it (c.Server: a --server value, auto and command included),
// with App.Why saying why in full. A program app.py runs as itself under
// auto or program; a --command replaces it; any other server is refused,
// since that would be two servers at once.
func findEntry(c Config, value, command string) (App, string, error) {
	if c.Server == programServer {
		return programApp(c, value)
	}
	a, err := FindApp(c.Chdir, value)
	switch {
	case c.Server == "command":
		if err != nil && strings.Contains(command, "{app}") {
			return a, "", err
		}
		a.Program, a.Why = false, "--command given: running it"
		if a.File != "" || a.Module != "" {
			a.Why += "; {app} is " + appArg(a)
		}
		return a, c.Server, nil
	case err != nil || !a.Program:
		return a, c.Server, err
	case c.Server == "auto":
		a.Why += programRuns(c)
		return a, programServer, nil
	}
	return App{}, "", &InputError{Flag: "--server", Value: c.Server,
		Msg:      fmt.Sprintf("%s: it runs as a program, not under %s", a.Why, c.Server),
		Accepted: fmt.Sprintf("--server auto or program to run it, --app %s:CALLABLE to serve a callable of it with %s, or --command", programCandidate, c.Server)}
}

// programApp is app.py for --server program, which takes no --app.
func programApp(c Config, value string) (App, string, error) {
	if value != "" {
		return App{}, "", &InputError{Flag: "--app", Value: value, Msg: "--server program runs " + programCandidate + ", not an --app",
			Accepted: "--server program without --app, or a WSGI server for --app"}
	}
	path := filepath.Join(c.Chdir, programCandidate)
	if !isFile(path) {
		return App{}, "", &InputError{Flag: "--server", Value: programServer, Msg: "no " + programCandidate + " in " + c.Chdir,
			Accepted: "--server auto or a WSGI server"}
	}
	src, err := readSource(path, programCandidate)
	if err != nil {
		return App{}, "", err
	}
	why := "--server program given for " + programCandidate
	if reason := programReason(src); reason != "" {
		why = programCandidate + " " + reason
	}
	return App{File: path, Program: true, Why: why + programRuns(c)}, programServer, nil
}

func programRuns(c Config) string {
	return fmt.Sprintf(": running it as a program with %s -u %s", c.Python, programCandidate)
}
