package server

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gearctl/gearctl/control"
)

// gunicorn runs as `PYTHON -m gunicorn`, on the interpreter the user chose:
// its workers import the application there, so only that interpreter's
// gunicorn will do. A gunicorn executable elsewhere (/usr/bin/gunicorn)
// would run the application on another interpreter, without the
// virtualenv's packages.
func gunicornInstalled(c Config) bool {
	_, err := gunicornPython(c)
	return err == nil
}

// gunicornPython is c's interpreter when it can import gunicorn, else an
// *InputError naming the fix.
func gunicornPython(c Config) (interp, error) {
	in, err := probe(c)
	if err != nil || in.gunicorn {
		return in, err
	}
	fix := c.Python + " -m pip install gunicorn"
	if c.Venv != "" {
		fix = "pip install gunicorn into " + c.Venv
	}
	return in, &InputError{Flag: "--server", Value: "gunicorn",
		Msg: fmt.Sprintf("gunicorn is not installed for %s (Python %s): %s, or choose another --server", c.Python, in.version, fix)}
}

func buildGunicorn(c Config, s *control.Spec) error {
	in, err := gunicornPython(c)
	if err != nil {
		return err
	}
	workers, threads := workersThreads(c)
	s.Path = c.Python
	s.Interpreter = interpreterOf(c, in)
	s.Args = []string{c.Python, "-m", "gunicorn",
		// The supervisor's socket. gunicorn would also take LISTEN_FDS,
		// but only when LISTEN_PID is its own PID, which a parent cannot
		// know before the exec.
		"--bind", "fd://3",
		// This instance's own socket, where readiness is probed while
		// the instance it replaces still serves fd 3.
		"--bind", "fd://4",
		"--workers", strconv.Itoa(workers),
		"--threads", strconv.Itoa(threads),
		"--chdir", c.Chdir,
		// TERM waits this long for in-flight requests, then SIGKILLs the
		// workers left. A worker still booting when the master relays TERM
		// (right after a start or a HUP) misses it, as its handlers are not
		// installed yet, and is only killed at this timeout.
		"--graceful-timeout", seconds(c.StopTimeout),
		"--access-logfile", "-",
		"--error-logfile", "-",
	}
	s.Args = append(s.Args, gunicornApp(c, s)...)
	s.TakesFD, s.ProbeFD = true, true
	// HUP re-imports the code in new workers under the same master. USR2
	// is never sent: it forks the new master as a child of the old one,
	// which is orphaned when the old one exits; gearctl replaces servers
	// itself instead.
	s.Signals = termHup
	// A gunicorn worker finishes its request and exits on TERM.
	s.Signals.Worker = syscall.SIGTERM
	return nil
}

// gunicornApp is the module:callable argument. gunicorn imports modules
// only (with --chdir on sys.path), so a file that is not a top-level X.py in
// the application directory goes through the shim; so does every
// application with --static directories, which gunicorn cannot serve and
// the shim's wrapper does.
func gunicornApp(c Config, s *control.Spec) []string {
	if len(c.Static) == 0 {
		if c.App.Module != "" {
			return []string{c.App.Module + ":" + appCallable(c.App)}
		}
		if mod, ok := strings.CutSuffix(filepath.Base(c.App.File), ".py"); ok &&
			fileAppDir(c) == "" && isIdentifier(mod) {
			return []string{mod + ":" + appCallable(c.App)}
		}
	}
	dir := filesDir(c)
	s.Files[shimPath(dir)] = shimSource(c.App, c.Static...)
	return []string{"--pythonpath", dir, shimModule + ":application"}
}
