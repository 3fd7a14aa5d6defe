package server

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gearctl/gearctl/control"
)

func modWSGIExpressInstalled(c Config) bool {
	_, _, err := modWSGIExpress(c)
	return err == nil
}

// modWSGIExpress finds the mod_wsgi-express that runs the application on
// the chosen interpreter, and names that interpreter. mod_wsgi-express
// serves with the mod_wsgi it was built with, for the Python that runs it
// (its #! line), with that Python's sys.prefix as WSGIPythonHome: the
// virtualenv's own, or one for c.Python, never another one found on PATH.
func modWSGIExpress(c Config) (exe, python string, err error) {
	exe, err = lookExe(c, "mod_wsgi-express")
	if c.Venv != "" {
		if err != nil || filepath.Dir(exe) != filepath.Join(c.Venv, "bin") {
			return "", "", fmt.Errorf("%w in the virtualenv %s: pip install mod_wsgi into it, or choose another --server", ErrNotInstalled, c.Venv)
		}
		return exe, c.Python, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("%w for %s: %s -m pip install mod_wsgi, or choose another --server", ErrNotInstalled, c.Python, c.Python)
	}
	// A #! that names no interpreter (#!/usr/bin/env python3, or pip's
	// #!/bin/sh for a long path) runs the python3 on PATH, or one we cannot
	// tell without running it: c.Python stands.
	py := shebang(exe)
	if py == "" {
		return exe, c.Python, nil
	}
	if _, venv, _ := findPython(py); venv != "" || !samePython(py, c.Python) {
		return "", "", fmt.Errorf("%w for %s (%s -m pip install mod_wsgi, or choose another --server); the one at %s runs on %s",
			ErrNotInstalled, c.Python, c.Python, exe, py)
	}
	return exe, py, nil
}

// shebang is the Python interpreter the #! line of script names by
// absolute path, else "".
func shebang(script string) string {
	f, err := os.Open(script)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	py, ok := strings.CutPrefix(strings.TrimSpace(line), "#!")
	if !ok || !filepath.IsAbs(py) || strings.ContainsAny(py, " \t") || !strings.HasPrefix(filepath.Base(py), "python") {
		return ""
	}
	return py
}

func buildModWSGIExpress(c Config, s *control.Spec) error {
	exe, python, err := modWSGIExpress(c)
	if err != nil {
		return err
	}
	c.Python = python
	in, err := probe(c)
	if err != nil {
		return err
	}
	s.Interpreter = interpreterOf(c, in)
	// One server root per port, as for apache.
	root := filepath.Join(c.Dir, "mod_wsgi-express-"+strconv.Itoa(c.Port))
	workers, threads := workersThreads(c)
	s.Path = exe
	s.Args = []string{exe, "start-server"}
	if c.App.File != "" {
		s.Args = append(s.Args, c.App.File)
	}
	s.Args = append(s.Args,
		"--host", c.Host,
		"--port", strconv.Itoa(c.Port),
		// Its generated httpd.conf, apachectl and sockets go here instead
		// of /tmp/mod_wsgi-HOST:PORT:UID.
		"--server-root", root,
		"--log-to-terminal",
		"--access-log",
		"--processes", strconv.Itoa(workers),
		"--threads", strconv.Itoa(threads),
		// Its default is the script's directory.
		"--working-directory", c.Chdir,
		// mod_wsgi kills a daemon process this long after asking it to
		// stop, in-flight requests or not (5 s by default).
		"--shutdown-timeout", seconds(c.StopTimeout),
	)
	if d := fileAppDir(c); d != "" {
		s.Args = append(s.Args, "--python-path", d)
	}
	if c.App.Module != "" {
		s.Args = append(s.Args,
			"--application-type", "module",
			"--entry-point", c.App.Module,
			"--callable-object", appCallable(c.App))
	} else if appCallable(c.App) != "application" {
		s.Args = append(s.Args, "--callable-object", appCallable(c.App))
	}
	static, err := modWSGIExpressStaticArgs(c, s)
	if err != nil {
		return err
	}
	s.Args = append(s.Args, static...)
	if a := c.User; a != nil {
		// It refuses to start as root without them: it is Apache
		// underneath, with Apache's and mod_wsgi's rules (see
		// defaultAccount).
		s.Args = append(s.Args, "--user", a.User, "--group", a.Group)
		if err := a.prepare(c, root, s); err != nil {
			return err
		}
	}
	// It binds its own socket; it exec()s through its generated apachectl
	// into httpd, so the spawned PID ends up as the Apache parent, and
	// Apache's signals apply.
	s.TakesFD = false
	s.Signals = control.Signals{Stop: syscall.SIGWINCH, Reload: syscall.SIGUSR1}
	return nil
}
