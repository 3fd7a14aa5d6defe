package server

import (
	"strings"
	"testing"

	"github.com/gearctl/gearctl/internal/testenv"
)

func TestUWSGI(t *testing.T) { testServer(t, "uwsgi") }

// uWSGI's python3 plugin embeds the system's Python: a virtualenv of that
// version is its home, one of another version is refused.
func TestUWSGIVirtualenv(t *testing.T) {
	c := testConfig(t, "uwsgi")
	if !Installed("uwsgi", c) {
		testenv.Need(t, "uwsgi with its python3 plugin (Debian: uwsgi uwsgi-plugin-python3)", ErrNotInstalled)
	}
	exe, _ := lookExe(c, "uwsgi")
	plugin, _ := uwsgiPython(c, exe)
	version := embeddedVersion(plugin)
	c.Python, c.Venv = realVenv(t, false)
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if argv := strings.Join(spec.Args, " "); !strings.Contains(argv, " --home "+c.Venv+" ") {
		t.Errorf("argv %q lacks --home %s", argv, c.Venv)
	}
	if want := "embedded Python " + version + " (uWSGI's python3 plugin, home " + c.Venv + ")"; spec.Interpreter != want {
		t.Errorf("Interpreter %q, want %q", spec.Interpreter, want)
	}
	c.Python = fakePython(t, "3.99.1", "/opt/py", true)
	c.Venv = fakeVenvOf(t, "3.99.1", c.Python)
	if _, err := c.Spec(); !isInputError(err, "--python") || !strings.Contains(err.Error(), "Python 3.99.1") {
		t.Errorf("a Python 3.99 virtualenv: %v; want an InputError naming its version", err)
	}
}
