package server

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWSGIRef(t *testing.T) { testServer(t, "wsgiref") }

// An application that fails to import is a failed start: traceback, exit
// status not 0, no server left listening.
func TestWSGIRefImportError(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "wsgiref")
	c.App = App{File: filepath.Join(c.Chdir, "broken.py")}
	r := start(t, c)
	err := r.waitExit()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("exit = %v, want a non-zero status", err)
	}
	if out := r.out.String(); !strings.Contains(out, "Traceback") || !strings.Contains(out, "broken at import") {
		t.Errorf("no traceback in output:\n%s", out)
	}
}

func TestWSGIRefArgv(t *testing.T) {
	c := testConfig(t, "wsgiref")
	c.App = App{Module: "pkg.web", Callable: "app"}
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	runner := filepath.Join(c.Dir, "wsgiref_runner.py")
	if spec.Files[runner] != wsgirefRunner {
		t.Errorf("Files lack the runner at %s", runner)
	}
	want := []string{c.Python, runner, "--fd", "3", "--probe-fd", "4", "--app", "pkg.web:app", "--chdir", c.Chdir, "--workers", "2", "--threads", "2"}
	if strings.Join(spec.Args, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv\n got %q\nwant %q", spec.Args, want)
	}
	if !spec.TakesFD || spec.Path != c.Python {
		t.Errorf("TakesFD %v, Path %s", spec.TakesFD, spec.Path)
	}
}
