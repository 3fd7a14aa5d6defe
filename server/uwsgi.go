package server

import (
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/gearctl/gearctl/control"
)

func uwsgiInstalled(c Config) bool {
	exe, err := lookExe(c, "uwsgi")
	if err != nil {
		return false
	}
	_, ok := uwsgiPython(c, exe)
	return ok
}

// uwsgiPython says how exe gets Python: distribution packages build uWSGI
// as a core plus plugins (python3_plugin.so in a plugin directory, loaded
// with --plugin python3; plugin is its path); pip builds it with Python
// inside, so one in the virtualenv needs no plugin (plugin ""). ok is false
// when neither holds.
func uwsgiPython(c Config, exe string) (plugin string, ok bool) {
	if c.Venv != "" && filepath.Dir(exe) == filepath.Join(c.Venv, "bin") {
		return "", true
	}
	prefix := filepath.Dir(filepath.Dir(exe))
	for _, dir := range []string{
		filepath.Join(prefix, "lib", "uwsgi", "plugins"), // Debian, Ubuntu
		filepath.Join(prefix, "lib", "uwsgi"),            // Alpine
		filepath.Join(prefix, "lib64", "uwsgi"),          // Fedora, RHEL
		"/usr/lib/uwsgi/plugins",
		"/usr/lib/uwsgi",
		"/usr/lib64/uwsgi",
	} {
		if p := filepath.Join(dir, "python3_plugin.so"); fileExists(p) {
			return p, true
		}
	}
	return "", false
}

// uwsgiEmbedding is the Python exe runs the application on: the plugin's,
// or, for pip's build, the one it was built with, which is the
// virtualenv's.
func uwsgiEmbedding(c Config, exe, plugin string) (embedding, error) {
	if plugin != "" {
		return embedFor(c, "uWSGI's python3 plugin", embeddedVersion(plugin))
	}
	version := embeddedVersion(exe)
	if version == "" {
		version = minor(venvVersion(c.Venv))
	}
	return embedFor(c, "uWSGI built into "+exe, version)
}

func buildUWSGI(c Config, s *control.Spec) error {
	exe, err := lookExe(c, "uwsgi")
	if err != nil {
		return err
	}
	plugin, ok := uwsgiPython(c, exe)
	if !ok {
		return fmt.Errorf("%w: no python3 plugin for %s (Debian: apt-get install uwsgi-plugin-python3)", ErrNotInstalled, exe)
	}
	py, err := uwsgiEmbedding(c, exe, plugin)
	if err != nil {
		return err
	}
	workers, threads := workersThreads(c)
	stop := seconds(c.StopTimeout)
	s.Path = exe
	s.Interpreter = py.interpreter
	s.Args = []string{exe}
	if plugin != "" {
		s.Args = append(s.Args, "--plugin", "python3")
	}
	s.Args = append(s.Args,
		"--master",
		"--http-socket", "fd://3",
		// This instance's own socket, where readiness is probed while
		// the instance it replaces still serves fd 3.
		"--http-socket", "fd://4",
		// Without it uWSGI keeps running with no application and answers
		// every request with 500.
		"--need-app",
		"--processes", strconv.Itoa(workers),
		"--threads", strconv.Itoa(threads),
		// Threads the application starts itself run only with the GIL
		// set up, which uWSGI skips when --threads is 1.
		"--enable-threads",
		"--chdir", c.Chdir,
	)
	if len(c.Static) > 0 {
		s.Args = append(s.Args, uwsgiStaticArgs(c, s)...)
	} else if c.App.Module != "" {
		// Found through --chdir: uWSGI imports from its working directory.
		s.Args = append(s.Args, "--module", c.App.Module+":"+appCallable(c.App))
	} else {
		// Any file name works, extension or not; the path is absolute
		// because uWSGI opens it after --chdir.
		s.Args = append(s.Args, "--wsgi-file", c.App.File, "--callable", appCallable(c.App))
		if d := fileAppDir(c); d != "" {
			s.Args = append(s.Args, "--pythonpath", d)
		}
	}
	if py.home != "" {
		// PYTHONHOME of the embedded interpreter (alias --virtualenv):
		// a virtualenv's pyvenv.cfg then brings its site-packages, and
		// the system's too when it was made with --system-site-packages.
		s.Args = append(s.Args, "--home", py.home)
	}
	s.Args = append(s.Args,
		// Plain TERM makes the uWSGI master do a brutal reload: it kills
		// in-flight requests and starts over. This hook, run again after
		// every reload, turns TERM into a graceful stop. (--die-on-term
		// would make TERM a stop too, but a brutal one.)
		"--hook-master-start", "unix_signal:15 gracefully_kill_them_all",
		// How long a graceful stop or reload waits for a worker before
		// SIGKILL ("NO MERCY"). A worker spawned a moment before the
		// master relays the signal can miss it and is only killed then.
		"--reload-mercy", stop,
		"--worker-reload-mercy", stop,
	)
	s.TakesFD, s.ProbeFD = true, true
	// Workers answer before the master has run the hook above; until then
	// TERM is still a brutal reload, so the gear is ready only after it.
	s.ReadyLine = `"unix_signal:15 gracefully_kill_them_all" (master-start)`
	// HUP: graceful reload, the master re-executes itself (same PID) and
	// imports the application again.
	s.Signals = termHup
	// A uWSGI worker's graceful exit is HUP ("gracefully killing worker");
	// its TERM is a brutal reload.
	s.Signals.Worker = syscall.SIGHUP
	return nil
}
