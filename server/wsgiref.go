package server

import (
	_ "embed"
	"path/filepath"
	"strconv"

	"github.com/gearctl/gearctl/control"
)

// wsgirefRunner serves the application with Python's standard library only:
// the server of last resort, always installed where Python is.
//
//go:embed wsgiref_runner.py
var wsgirefRunner string

// wsgirefInstalled: the runner needs only an interpreter that runs.
func wsgirefInstalled(c Config) bool {
	_, err := probe(c)
	return err == nil
}

func buildWSGIRef(c Config, s *control.Spec) error {
	in, err := probe(c)
	if err != nil {
		return err
	}
	runner := filepath.Join(filesDir(c), "wsgiref_runner.py")
	s.Files[runner] = wsgirefRunner

	// The runner takes --app in the CLI's own forms; a file always gets
	// its callable, so a ':' in its path cannot be mistaken for one.
	target := c.App.Module
	if c.App.File != "" {
		target = c.App.File
	}
	app := target + ":" + appCallable(c.App)
	workers, threads := workersThreads(c)
	s.Path = c.Python
	s.Interpreter = interpreterOf(c, in)
	s.Args = []string{c.Python, runner,
		"--fd", "3",
		"--probe-fd", "4",
		"--app", app,
		"--chdir", c.Chdir,
		"--workers", strconv.Itoa(workers),
		"--threads", strconv.Itoa(threads),
	}
	s.Args = append(s.Args, wsgirefStaticArgs(c)...)
	s.TakesFD, s.ProbeFD = true, true
	s.Signals = termHup
	return nil
}
