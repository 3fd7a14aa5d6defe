package cartridge

import (
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gearctl/gearctl/control"
)

var gunicornInstalled = installedExe("gunicorn")

func buildGunicorn(c Config, s *control.Spec) error {
	exe, err := lookExe(c, "gunicorn")
	if err != nil {
		return err
	}
	workers, threads := workersThreads(c)
	s.Path = exe
	s.Args = []string{exe,
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
// the application directory goes through the shim.
func gunicornApp(c Config, s *control.Spec) []string {
	if c.App.Module != "" {
		return []string{c.App.Module + ":" + appCallable(c.App)}
	}
	if mod, ok := strings.CutSuffix(filepath.Base(c.App.File), ".py"); ok &&
		fileAppDir(c) == "" && isIdentifier(mod) {
		return []string{mod + ":" + appCallable(c.App)}
	}
	s.Files[shimPath(c.Dir)] = shimSource(c.App)
	return []string{"--pythonpath", c.Dir, shimModule + ":application"}
}
