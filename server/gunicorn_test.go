package server

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The lifecycle test stops the server right after a reload. A new worker
// still booting then misses the TERM its master relays, so some runs take
// StopTimeout longer: the master SIGKILLs it at --graceful-timeout. The
// outcome holds either way; uWSGI does the same at --worker-reload-mercy.
func TestGunicorn(t *testing.T) { testServer(t, "gunicorn") }

func TestGunicornArgv(t *testing.T) {
	c := testConfig(t, "gunicorn")
	// Runs on the chosen interpreter: its gunicorn, not an executable's.
	c.Python = fakePython(t, "3.11.2", "/srv/venv", true)
	c.Venv = fakeVenvOf(t, "3.11.2", c.Python)
	for _, tc := range []struct {
		app  App
		want string
		shim bool
	}{
		{App{File: filepath.Join(c.Chdir, "wsgi.py")}, "wsgi:application", false},
		{App{Module: "pkg.web", Callable: "app"}, "pkg.web:app", false},
		{App{File: filepath.Join(c.Chdir, "wsgi", "application")}, "gearctl_wsgi:application", true},
		{App{File: filepath.Join(c.Chdir, "src", "site.py"), Callable: "serve"}, "gearctl_wsgi:application", true},
	} {
		c.App = tc.app
		spec, err := c.Spec()
		if err != nil {
			t.Fatal(err)
		}
		if last := spec.Args[len(spec.Args)-1]; last != tc.want {
			t.Errorf("%+v: app argument %s, want %s", tc.app, last, tc.want)
		}
		_, hasShim := spec.Files[filepath.Join(c.Dir, "gearctl_wsgi.py")]
		if hasShim != tc.shim || slices.Contains(spec.Args, "--pythonpath") != tc.shim {
			t.Errorf("%+v: shim %v, --pythonpath %v; want %v", tc.app, hasShim, slices.Contains(spec.Args, "--pythonpath"), tc.shim)
		}
		if spec.Path != c.Python || !slices.Equal(spec.Args[:3], []string{c.Python, "-m", "gunicorn"}) {
			t.Errorf("%+v: %s %q; want %s -m gunicorn", tc.app, spec.Path, spec.Args[:3], c.Python)
		}
		if want := c.Python + " (Python 3.11.2)"; spec.Interpreter != want {
			t.Errorf("%+v: Interpreter %q, want %q", tc.app, spec.Interpreter, want)
		}
		argv := strings.Join(spec.Args, " ")
		for _, want := range []string{"--bind fd://3", "--chdir " + c.Chdir, "--graceful-timeout 5", "--access-logfile -"} {
			if !strings.Contains(argv, want) {
				t.Errorf("argv %q lacks %q", argv, want)
			}
		}
	}
}
