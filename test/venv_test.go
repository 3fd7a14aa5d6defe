package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// venvSource answers with what proves where it runs: the greeting of
// hellopkg, which only the test's virtualenv holds, then sys.prefix and
// sys.executable.
const venvSource = `import sys
import hellopkg


def application(environ, start_response):
    body = ("%s\n%s\n%s\n" % (hellopkg.GREETING, sys.prefix, sys.executable)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
`

const venvGreeting = "hello from the virtualenv"

// venvs are the test's virtualenvs of debianPython, made once per test
// binary: "site" with --system-site-packages (it sees Debian's gunicorn)
// and hellopkg installed by pip, offline; "bare" without either.
var venvs struct {
	once       sync.Once
	site, bare string
	err        error
}

func makeVenvs(t *testing.T) (site, bare string) {
	t.Helper()
	venvs.once.Do(func() {
		// What stands if a helper below ends this test first.
		venvs.err = errors.New("making the virtualenvs did not finish")
		// In scratch, which outlives every test: the tests that share the
		// virtualenvs end in any order.
		dir := filepath.Join(scratch, "venvs")
		if err := os.Mkdir(dir, 0o755); err != nil {
			venvs.err = err
			return
		}
		site, bare := filepath.Join(dir, "site"), filepath.Join(dir, "bare")
		pkg := filepath.Join(dir, "pkg")
		localPackage(t, pkg, venvGreeting)
		for _, argv := range [][]string{
			{debianPython, "-m", "venv", "--system-site-packages", site},
			{filepath.Join(site, "bin", "pip"), "install", "-q", "--no-index", "--no-build-isolation", pkg},
			{debianPython, "-m", "venv", "--without-pip", bare},
		} {
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				venvs.err = fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
				return
			}
		}
		venvs.site, venvs.bare, venvs.err = site, bare, nil
	})
	need(t, "a virtualenv of "+debianPython+" with pip (Debian: python3-venv)", venvs.err)
	return venvs.site, venvs.bare
}

// TestVenv runs an application that imports a package found only in a
// virtualenv, under every server that runs on Debian's Python, with the
// virtualenv named by --python and by VIRTUAL_ENV: the page shows the
// package imported and sys.prefix the virtualenv (sys.executable too where
// the interpreter itself runs), and status names the interpreter.
func TestVenv(t *testing.T) {
	t.Parallel()
	site, _ := makeVenvs(t)
	for _, server := range []string{"gunicorn", "uwsgi", "apache", "wsgiref"} {
		for _, how := range []string{"--python", "VIRTUAL_ENV"} {
			t.Run(server+"/"+how, func(t *testing.T) {
				t.Parallel()
				needServer(t, server)
				b := newBGGear(t, map[string]string{"wsgi.py": venvSource})
				var args []string
				if how == "VIRTUAL_ENV" {
					b.env = []string{"VIRTUAL_ENV=" + site}
				} else {
					args = []string{"--python", site}
				}
				b.start(server, args...)
				lines := strings.Split(mustGet(t, b.port, "/"), "\n")
				if len(lines) < 3 || lines[0] != venvGreeting || lines[1] != site {
					t.Errorf("page says %q; want %q and sys.prefix %s", lines, venvGreeting, site)
				}
				embedded := server == "uwsgi" || server == "apache"
				python := filepath.Join(site, "bin", "python")
				if !embedded && len(lines) > 2 && lines[2] != python {
					t.Errorf("sys.executable %q; want %s", lines[2], python)
				}
				var st struct {
					Interpreter string `json:"interpreter"`
				}
				r := b.do("status", "--json")
				if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
					t.Fatalf("status --json: %v\n%s", err, r.stdout)
				}
				want := python + " (Python 3."
				if embedded {
					want = "embedded Python 3."
				}
				if !strings.HasPrefix(st.Interpreter, want) || !strings.Contains(st.Interpreter, site) {
					t.Errorf("status --json interpreter %q; want %s… naming %s", st.Interpreter, want, site)
				}
				b.stop()
			})
		}
	}
}

// TestVenvRefused: what cannot run the application on the interpreter the
// user chose is refused before anything starts, in one line, exit 2: a
// virtualenv that cannot import gunicorn under --server gunicorn (never
// /usr/bin/gunicorn on another interpreter), a virtualenv of another
// Python than the one uWSGI's plugin and mod_wsgi embed, a --python that
// is not an interpreter.
func TestVenvRefused(t *testing.T) {
	t.Parallel()
	_, bare := makeVenvs(t)
	// A virtualenv of a Python this machine has not: its pyvenv.cfg says
	// so, its interpreter is Debian's.
	other := tempDir(t)
	if err := os.Mkdir(filepath.Join(other, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(debianPython, filepath.Join(other, "bin", "python")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(other, "pyvenv.cfg"), "home = /opt/python3.99/bin\nversion = 3.99.0\n")
	notVenv := tempDir(t)
	for _, tc := range []struct {
		name, server, python string
		want                 []string
	}{
		{"gunicorn not in the virtualenv", "gunicorn", bare,
			[]string{"gunicorn is not installed for " + filepath.Join(bare, "bin", "python"), "pip install gunicorn into " + bare, "another --server"}},
		{"uwsgi for Python 3.99", "uwsgi", other, []string{"--python", other, "Python 3.99.0", "uWSGI's python3 plugin embeds Python 3."}},
		{"apache for Python 3.99", "apache", other, []string{"--python", other, "Python 3.99.0", "mod_wsgi embeds Python 3."}},
		{"a directory without bin/python", "wsgiref", notVenv, []string{"--python", notVenv, "bin/python"}},
		{"a program that is not Python", "wsgiref", "/bin/true", []string{"--python", "/bin/true", "not a Python interpreter"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			needServer(t, tc.server)
			port := freePort(t)
			g := startGear(t, appDir(t, map[string]string{"wsgi.py": venvSource}), port, nil,
				gearctlBin, "--dir", tempDir(t), "start", "--port", fmt.Sprint(port), "--server", tc.server, "--python", tc.python)
			assertBadInput(t, g, tc.want, []string{"goroutine", "panic"})
		})
	}
}
