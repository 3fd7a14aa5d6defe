package server

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gearctl/gearctl/internal/testenv"
)

func TestApache(t *testing.T) { testServer(t, "apache") }

var errNoApache = errors.New("not installed (Debian: apt-get install apache2 libapache2-mod-wsgi-py3)")

// The generated configuration passes Apache's own check with spaces in
// every path, and, as root, names the unprivileged account.
func TestApacheConfig(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "apache")
	if !Installed("apache", c) {
		testenv.Need(t, "apache2 with mod_wsgi", errNoApache)
	}
	spaced := filepath.Join(c.Chdir, "my app")
	if err := os.Mkdir(spaced, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hello.py", "wsgi.py"} {
		if err := os.Rename(filepath.Join(c.Chdir, name), filepath.Join(spaced, name)); err != nil {
			t.Fatal(err)
		}
	}
	c.Chdir = spaced
	c.App = App{File: filepath.Join(spaced, "wsgi.py"), Callable: "application"}
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.Dir = filepath.Join(c.Dir, "gear dir")
	if err := os.Mkdir(c.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c.Port = 8082
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(c.Dir, "apache-8082", "httpd.conf")
	// Building a spec changes nothing on disk; spawning it does.
	if _, err := os.Stat(filepath.Dir(conf)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("building the spec made %s (%v)", filepath.Dir(conf), err)
	}
	if fi, err := os.Stat(c.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("building the spec changed %s: %v %v; want it 0700 as it was", c.Dir, fi.Mode(), err)
	}
	if err := os.MkdirAll(filepath.Dir(conf), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(spec.Files[conf]), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(spec.Path, "-t", "-f", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Errorf("apache2 -t: %v\n%s\n%s", err, out, spec.Files[conf])
	}
	if strings.Contains(spec.Files[conf], "WSGICallableObject") {
		t.Errorf("WSGICallableObject for the default callable")
	}
	if got := strings.Contains(spec.Files[conf], "\nUser nobody\n"); got != (os.Geteuid() == 0) {
		t.Errorf("User nobody in the configuration: %v, running as root: %v", got, os.Geteuid() == 0)
	}
}

// As root, an application nobody can read is refused before anything
// starts, with a message that says who cannot read what.
func TestApacheUnreadableApp(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		testenv.Need(t, "root", errors.New("only root switches Apache to another account"))
	}
	c := testConfig(t, "apache")
	if !Installed("apache", c) {
		testenv.Need(t, "apache2 with mod_wsgi", errNoApache)
	}
	private := filepath.Join(c.Chdir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	c.Chdir = private
	c.App = App{Module: "web"}
	_, err := c.Spec()
	if err == nil || !strings.Contains(err.Error(), "nobody") || !strings.Contains(err.Error(), private) {
		t.Errorf("err = %v, want one naming nobody and %s", err, private)
	}
}

// mod_wsgi embeds the system's Python: a virtualenv of that version is its
// python-home, one of another version is refused.
func TestApacheVirtualenv(t *testing.T) {
	c := testConfig(t, "apache")
	if !Installed("apache", c) {
		testenv.Need(t, "apache2 with mod_wsgi", errNoApache)
	}
	c.Python, c.Venv = realVenv(t, false)
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	conf := spec.Files[filepath.Join(c.Dir, "apache-0", "httpd.conf")]
	if !strings.Contains(conf, ` python-home="`+c.Venv+`" `) {
		t.Errorf("no python-home for %s in\n%s", c.Venv, conf)
	}
	if !strings.HasPrefix(spec.Interpreter, "embedded Python 3.") || !strings.HasSuffix(spec.Interpreter, "(mod_wsgi, home "+c.Venv+")") {
		t.Errorf("Interpreter %q", spec.Interpreter)
	}
	c.Python = fakePython(t, "3.99.1", "/opt/py", true)
	c.Venv = fakeVenvOf(t, "3.99.1", c.Python)
	if _, err := c.Spec(); !isInputError(err, "--python") || !strings.Contains(err.Error(), "mod_wsgi embeds Python") {
		t.Errorf("a Python 3.99 virtualenv: %v; want an InputError naming both versions", err)
	}
}
