package server

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gearctl/gearctl/internal/testenv"
)

// realVenv is a virtualenv of systemPython, made without pip (fast), with
// --system-site-packages when systemSite, and files named like the given
// executables in its bin, never run. It returns its python and itself.
func realVenv(t *testing.T, systemSite bool, names ...string) (python, venv string) {
	t.Helper()
	if !isExecutable(systemPython) {
		testenv.Need(t, systemPython+" (Debian: python3)", ErrNotInstalled)
	}
	venv = filepath.Join(t.TempDir(), "venv")
	args := []string{"-m", "venv", "--without-pip"}
	if systemSite {
		args = append(args, "--system-site-packages")
	}
	if out, err := exec.Command(systemPython, append(args, venv)...).CombinedOutput(); err != nil {
		t.Fatalf("%s -m venv: %v: %s", systemPython, err, out)
	}
	// As root, Apache checks that nobody can read it.
	if err := os.Chmod(filepath.Dir(venv), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(venv, "bin", n), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(venv, "bin", "python"), venv
}

// fakePython answers the probe as a Python of version installed at prefix
// would, with gunicorn importable or not.
func fakePython(t *testing.T, version, prefix string, gunicorn bool) string {
	t.Helper()
	g := "0"
	if gunicorn {
		g = "1"
	}
	p := filepath.Join(t.TempDir(), "python"+minor(version))
	script := "#!/bin/sh\nprintf '%s\\n%s\\n%s\\n' " + version + " " + prefix + " " + g + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeVenvOf is a virtualenv directory whose pyvenv.cfg says version and
// whose bin/python is python.
func fakeVenvOf(t *testing.T, version, python string) string {
	t.Helper()
	venv := fakeVenv(t)
	if err := os.WriteFile(filepath.Join(venv, "pyvenv.cfg"), []byte("home = /usr/bin\nversion = "+version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(python, filepath.Join(venv, "bin", "python")); err != nil {
		t.Fatal(err)
	}
	return venv
}

func TestFindPython(t *testing.T) {
	py, venv, err := findPython("")
	if want, _ := DefaultPython(); err != nil || py != want || venv != "" {
		t.Errorf("default: %s, %q, %v; want %s", py, venv, err, want)
	}
	if isExecutable(systemPython) && py != systemPython {
		t.Errorf("default %s; want %s, which the distribution's servers are built for", py, systemPython)
	}
	vpy, v := realVenv(t, false)
	for _, value := range []string{v, vpy} {
		if py, venv, err := findPython(value); err != nil || py != vpy || venv != v {
			t.Errorf("%s: %s, %s, %v; want %s in %s", value, py, venv, err, vpy, v)
		}
	}
	for _, bad := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing"), "no-such-python"} {
		if _, _, err := findPython(bad); !isInputError(err, "--python") {
			t.Errorf("%s: err = %v, want an InputError for --python", bad, err)
		}
	}
}

func TestProbe(t *testing.T) {
	c := testConfig(t, "wsgiref")
	in, err := probe(c)
	if err != nil || !versionRE.MatchString(in.version) {
		t.Fatalf("%s: %+v, %v", c.Python, in, err)
	}
	if samePython(c.Python, systemPython) && minor(in.version) != nameVersion(systemPython) {
		t.Errorf("%s says Python %s, its name %s", c.Python, in.version, nameVersion(systemPython))
	}
	c.Python, _ = realVenv(t, false)
	if in, err := probe(c); err != nil || in.prefix != filepath.Dir(filepath.Dir(c.Python)) || in.gunicorn {
		t.Errorf("virtualenv without gunicorn: %+v, %v", in, err)
	}
	for _, bad := range []string{"/bin/false", "/bin/true", filepath.Join(c.Chdir, "wsgi.py"), ""} {
		c.Python = bad
		if _, err := probe(c); !isInputError(err, "--python") || !strings.Contains(err.Error(), "not a Python interpreter") {
			t.Errorf("%q: err = %v, want an InputError: not a Python interpreter", bad, err)
		}
		c.Server = "wsgiref"
		if err := notInstalled(c); !isInputError(err, "--python") {
			t.Errorf("%q: notInstalled = %v, want the interpreter's error", bad, err)
		}
	}
}

func TestVenvVersion(t *testing.T) {
	for cfg, want := range map[string]string{
		"home = /usr/bin\nversion = 3.11.2\n":                     "3.11.2",
		"home = /usr/bin\nversion_info = 3.12.1.final.0\n":        "3.12.1",
		"home=/usr/bin\nimplementation = CPython\nversion=3.9.18": "3.9.18",
		"home = /usr/bin\n":                                       "",
		"version = three\n":                                       "",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pyvenv.cfg"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := venvVersion(dir); got != want {
			t.Errorf("%q: %q, want %q", cfg, got, want)
		}
	}
	if got := venvVersion(t.TempDir()); got != "" {
		t.Errorf("no pyvenv.cfg: %q", got)
	}
}

// The servers that embed Python are built for systemPython's version.
func TestEmbeddedVersion(t *testing.T) {
	want := nameVersion(systemPython)
	for _, module := range []string{"/usr/lib/uwsgi/plugins/python3_plugin.so", "/usr/lib/apache2/modules/mod_wsgi.so"} {
		if !fileExists(module) {
			continue
		}
		if got := embeddedVersion(module); got != want {
			t.Errorf("%s: built for Python %q, want %q", module, got, want)
		}
	}
	if got := embeddedVersion(systemPython); got != "" && got != want {
		t.Errorf("%s links libpython%s", systemPython, got)
	}
	if got := embeddedVersion(filepath.Join(t.TempDir(), "missing.so")); got != "" {
		t.Errorf("a missing module: %q", got)
	}
}

func TestEmbedFor(t *testing.T) {
	c := testConfig(t, "uwsgi")
	const what = "the test's server"
	for _, tc := range []struct {
		name           string
		python, venv   string
		home, describe string // describe: Interpreter; "" for refused
	}{
		{"a virtualenv", fakePython(t, "3.11.7", "/ignored", false), "",
			"VENV", "embedded Python 3.11 (the test's server, home VENV)"},
		{"another version's virtualenv", fakePython(t, "3.12.1", "/ignored", false), "3.12.1", "", ""},
		{"another installation", fakePython(t, "3.11.7", "/opt/py", false), "-",
			"/opt/py", "embedded Python 3.11 (the test's server, home /opt/py)"},
		{"another version", fakePython(t, "3.99.1", "/opt/py", false), "-", "", ""},
	} {
		c.Python, c.Venv = tc.python, ""
		switch tc.venv {
		case "":
			c.Venv = fakeVenvOf(t, "3.11.2", tc.python)
		case "-":
		default:
			c.Venv = fakeVenvOf(t, tc.venv, tc.python)
		}
		e, err := embedFor(c, what, "3.11")
		if tc.describe == "" {
			if !isInputError(err, "--python") || !strings.Contains(err.Error(), "embeds Python 3.11") {
				t.Errorf("%s: err = %v, want an InputError naming both versions", tc.name, err)
			}
			continue
		}
		home := strings.ReplaceAll(tc.home, "VENV", c.Venv)
		describe := strings.ReplaceAll(tc.describe, "VENV", c.Venv)
		if err != nil || e.home != home || e.interpreter != describe {
			t.Errorf("%s: %+v, %v; want home %q, %q", tc.name, e, err, home, describe)
		}
	}
	// The system's own interpreter is the embedded one's installation: no
	// home, and no Python started to know its version.
	if !isExecutable(systemPython) {
		return
	}
	c.Python, c.Venv = systemPython, ""
	e, err := embedFor(c, what, nameVersion(systemPython))
	if err != nil || e.home != "" {
		t.Errorf("%s: %+v, %v; want no home", systemPython, e, err)
	}
	if _, err := embedFor(c, what, "2.7"); !isInputError(err, "--python") {
		t.Errorf("%s for an embedded 2.7: %v, want refused", systemPython, err)
	}
	if e, err := embedFor(c, what, ""); err != nil || !strings.Contains(e.interpreter, "unknown version") {
		t.Errorf("unknown embedded version: %+v, %v", e, err)
	}
}

// A gunicorn that the interpreter cannot import is refused with the fix,
// for --server gunicorn, and is not installed, for auto.
func TestGunicornNotImportable(t *testing.T) {
	c := testConfig(t, "gunicorn")
	c.Python = fakePython(t, "3.11.2", "/srv/venv", false)
	c.Venv = fakeVenvOf(t, "3.11.2", c.Python)
	_, err := c.Spec()
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "gunicorn is not installed for "+c.Python+" (Python 3.11.2): pip install gunicorn into "+c.Venv+", or choose another --server") {
		t.Errorf("Spec: %v; want an InputError naming the fix", err)
	}
	if Installed("gunicorn", c) || Auto(c) == "gunicorn" {
		t.Errorf("gunicorn installed for an interpreter that cannot import it")
	}
	if err := notInstalled(c); !isInputError(err, "--server") || !strings.Contains(err.Error(), "pip install gunicorn") ||
		!strings.Contains(err.Error(), "accepted: ") || !strings.Contains(err.Error(), "wsgiref") {
		t.Errorf("notInstalled: %v; want the fix and the servers that can run", err)
	}
	c.Venv = ""
	if _, err := c.Spec(); err == nil || !strings.Contains(err.Error(), c.Python+" -m pip install gunicorn") {
		t.Errorf("Spec outside a virtualenv: %v; want the fix for that interpreter", err)
	}
}
