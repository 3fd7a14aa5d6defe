package server

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The argv for each form of --app; test/modwsgi_express_test.go runs it.
func TestModWSGIExpressArgv(t *testing.T) {
	c := testConfig(t, "mod_wsgi-express")
	c.Venv = fakeVenv(t, "mod_wsgi-express")
	c.Port = 8081
	exe := filepath.Join(c.Venv, "bin", "mod_wsgi-express")
	root := filepath.Join(c.Dir, "mod_wsgi-express-"+strconv.Itoa(c.Port))
	common := []string{"--host", "127.0.0.1", "--port", "8081", "--server-root", root,
		"--log-to-terminal", "--access-log", "--processes", "2", "--threads", "2",
		"--working-directory", c.Chdir, "--shutdown-timeout", "5"}
	var asRoot []string
	if os.Geteuid() == 0 {
		// The application directory is root's: nobody serves it.
		asRoot = []string{"--user", "nobody", "--group", "nogroup"}
	}
	for _, tc := range []struct {
		app  App
		want []string
	}{
		{App{File: filepath.Join(c.Chdir, "wsgi.py")},
			join([]string{exe, "start-server", filepath.Join(c.Chdir, "wsgi.py")}, common, asRoot)},
		{App{File: filepath.Join(c.Chdir, "src", "site.py"), Callable: "serve"},
			join([]string{exe, "start-server", filepath.Join(c.Chdir, "src", "site.py")}, common,
				[]string{"--python-path", filepath.Join(c.Chdir, "src"), "--callable-object", "serve"}, asRoot)},
		{App{Module: "pkg.web", Callable: "app"},
			join([]string{exe, "start-server"}, common,
				[]string{"--application-type", "module", "--entry-point", "pkg.web", "--callable-object", "app"}, asRoot)},
	} {
		c.App = tc.app
		spec, err := c.Spec()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(spec.Args, "\x00") != strings.Join(tc.want, "\x00") {
			t.Errorf("%+v:\n got %q\nwant %q", tc.app, spec.Args, tc.want)
		}
		if spec.Path != exe || spec.TakesFD || spec.Signals.Stop != syscall.SIGWINCH || spec.Signals.Reload != syscall.SIGUSR1 {
			t.Errorf("%+v: Path %s TakesFD %v Signals %v", tc.app, spec.Path, spec.TakesFD, spec.Signals)
		}
		if !strings.HasPrefix(spec.Interpreter, c.Python+" (Python 3.") {
			t.Errorf("%+v: Interpreter %q; want the virtualenv's %s and its version", tc.app, spec.Interpreter, c.Python)
		}
	}
}

// TestModWSGIExpressInterpreter: the mod_wsgi-express chosen is one that
// runs on the chosen interpreter, never one for another Python found on
// PATH, and Interpreter names that interpreter.
func TestModWSGIExpressInterpreter(t *testing.T) {
	c := testConfig(t, "mod_wsgi-express")
	bin := t.TempDir()
	c.Env = append(c.Env, "PATH="+bin)
	exe := filepath.Join(bin, "mod_wsgi-express")
	// python3 on PATH is a symlink (python3 -> python3.11): the same file.
	alias := filepath.Join(t.TempDir(), "python3")
	if err := os.Symlink(c.Python, alias); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "python3.99")
	if err := os.WriteFile(other, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, shebang, venv, want string // want: Interpreter, or "" for not installed
	}{
		{"the same Python", alias, "", alias},
		{"another Python", other, "", ""},
		{"a #! that names no interpreter", "/usr/bin/env python3", "", c.Python},
		{"pip's #!/bin/sh for a long path", "/bin/sh", "", c.Python},
		{"a virtualenv without it", alias, fakeVenv(t, "python"), ""},
	} {
		if err := os.WriteFile(exe, []byte("#!"+tc.shebang+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.Venv = tc.venv
		spec, err := c.Spec()
		switch {
		case tc.want == "" && !errors.Is(err, ErrNotInstalled):
			t.Errorf("%s: Spec error %v; want %v", tc.name, err, ErrNotInstalled)
		case tc.want == "" && Installed("mod_wsgi-express", c):
			t.Errorf("%s: installed; want not, for --server auto", tc.name)
		case tc.want != "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (spec.Path != exe || !strings.HasPrefix(spec.Interpreter, tc.want+" (Python 3.")):
			t.Errorf("%s: %s on %q; want %s on %s", tc.name, spec.Path, spec.Interpreter, exe, tc.want)
		}
	}
}

func join(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}
