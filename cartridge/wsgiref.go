package cartridge

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/gearctl/gearctl/control"
)

// wsgirefRunner serves the application with Python's standard library only:
// the server of last resort, always installed where Python is.
//
//go:embed wsgiref_runner.py
var wsgirefRunner string

func wsgirefInstalled(c Config) bool {
	_, err := python(c)
	return err == nil
}

// python is the interpreter to run: --python, else python3 from the
// virtualenv or PATH.
func python(c Config) (string, error) {
	if c.Python != "" {
		if !isExecutable(c.Python) {
			return "", fmt.Errorf("--python %s: %w (not an executable file)", c.Python, ErrNotInstalled)
		}
		return c.Python, nil
	}
	return lookExe(c, "python3")
}

func buildWSGIRef(c Config, s *control.Spec) error {
	py, err := python(c)
	if err != nil {
		return err
	}
	runner := filepath.Join(c.Dir, "wsgiref_runner.py")
	s.Files[runner] = wsgirefRunner

	// The runner takes --app in the CLI's own forms; a file always gets
	// its callable, so a ':' in its path cannot be mistaken for one.
	target := c.App.Module
	if c.App.File != "" {
		target = c.App.File
	}
	app := target + ":" + appCallable(c.App)
	workers, threads := workersThreads(c)
	s.Path = py
	s.Args = []string{py, runner,
		"--fd", "3",
		"--probe-fd", "4",
		"--app", app,
		"--chdir", c.Chdir,
		"--workers", strconv.Itoa(workers),
		"--threads", strconv.Itoa(threads),
	}
	s.TakesFD, s.ProbeFD = true, true
	s.Signals = termHup
	return nil
}
