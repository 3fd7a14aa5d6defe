package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// systemPython is the default interpreter when it exists: the
// distribution's, which its gunicorn, uWSGI python3 plugin and mod_wsgi are
// built for. A python3 found first on PATH (pyenv, a /usr/local build) has
// none of those, and another version than the servers that embed Python.
const systemPython = "/usr/bin/python3"

const pythonForms = "a virtualenv directory or a Python interpreter"

// DefaultPython is the interpreter when neither --python nor VIRTUAL_ENV
// names one: systemPython, else python3 on PATH.
func DefaultPython() (string, error) {
	if isExecutable(systemPython) {
		return systemPython, nil
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		return "", &InputError{Flag: "--python", Msg: "no " + systemPython + " and no python3 on PATH", Accepted: pythonForms}
	}
	return filepath.Abs(p)
}

// findPython resolves --python: a virtualenv directory, an interpreter, or
// DefaultPython when empty.
func findPython(value string) (python, venv string, err error) {
	if value == "" {
		p, err := DefaultPython()
		return p, "", err
	}
	if fi, err := os.Stat(value); err == nil && fi.IsDir() {
		venv, _ = filepath.Abs(value)
		python = filepath.Join(venv, "bin", "python")
		if !isFile(python) {
			return "", "", &InputError{Flag: "--python", Value: value, Msg: "a directory without bin/python", Accepted: pythonForms}
		}
		return python, venv, nil
	}
	p, err := exec.LookPath(value)
	if err != nil {
		return "", "", &InputError{Flag: "--python", Value: value, Msg: "not found", Accepted: pythonForms}
	}
	p, _ = filepath.Abs(p)
	// An interpreter inside a virtualenv brings the virtualenv with it.
	if root := filepath.Dir(filepath.Dir(p)); isFile(filepath.Join(root, "pyvenv.cfg")) {
		venv = root
	}
	return p, venv, nil
}

// interp is what an interpreter says of itself.
type interp struct {
	version string // sys.version_info, "3.11.2"
	prefix  string // sys.prefix: the virtualenv, or the installation
	// gunicorn: `import gunicorn` would find it (not imported to know).
	gunicorn bool
}

// probeScript prints what interp holds, one item a line. find_spec looks
// for gunicorn on sys.path without importing it, so none of its code runs.
const probeScript = `import sys
try:
    from importlib.util import find_spec
    g = find_spec("gunicorn") is not None
except Exception:
    g = False
print("%d.%d.%d" % sys.version_info[:3])
print(sys.prefix)
print(int(g))
`

// probes memoizes probe: Installed, Auto and Spec each ask for the same
// interpreter, and a gearctl process lives for one verb, so the next verb
// sees a `pip install` made in between.
var probes = struct {
	sync.Mutex
	m map[string]interp
}{m: map[string]interp{}}

// probe runs c.Python once, with the environment the server gets (so
// PYTHONPATH and the user's site directory count as they will), outside
// the application directory (so a file there cannot break the probe). A
// program that is not a Python interpreter is an *InputError.
func probe(c Config) (interp, error) {
	key := c.Python + "\x00" + strings.Join(c.Env, "\x00")
	probes.Lock()
	defer probes.Unlock()
	if in, ok := probes.m[key]; ok {
		return in, nil
	}
	bad := func(why string) error {
		return &InputError{Flag: "--python", Value: c.Python, Msg: "not a Python interpreter: " + why, Accepted: pythonForms}
	}
	if c.Python == "" || !isExecutable(c.Python) {
		return interp{}, bad("not an executable file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Python, "-c", probeScript)
	cmd.Dir = "/"
	cmd.Env = c.Env
	out, err := cmd.Output()
	if err != nil {
		why := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			why = lastLine(string(ee.Stderr))
		}
		return interp{}, bad(why)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !versionRE.MatchString(lines[0]) {
		return interp{}, bad(fmt.Sprintf("it printed %q", lastLine(string(out))))
	}
	in := interp{version: lines[0], prefix: lines[1], gunicorn: lines[2] == "1"}
	probes.m[key] = in
	return in, nil
}

var versionRE = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// interpreterOf names the interpreter that runs the application itself
// (gunicorn, wsgiref), for status.
func interpreterOf(c Config, in interp) string {
	return fmt.Sprintf("%s (Python %s)", c.Python, in.version)
}

// minor is "3.11" of "3.11.2".
func minor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return version
	}
	return parts[0] + "." + parts[1]
}

// venvVersion is the Python version a virtualenv's pyvenv.cfg records:
// `version` (python -m venv) or `version_info` (the virtualenv package,
// "3.11.2.final.0"). "" when it records none.
func venvVersion(venv string) string {
	f, err := os.Open(filepath.Join(venv, "pyvenv.cfg"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if ok && (k == "version" || k == "version_info") {
			parts := strings.Split(v, ".")
			if len(parts) > 3 {
				parts = parts[:3] // "final.0"
			}
			if v = strings.Join(parts, "."); versionRE.MatchString(v) {
				return v
			}
		}
	}
	return ""
}

var libpythonRE = regexp.MustCompile(`^libpython(\d+\.\d+)`)

// nameVersion is the major.minor in the name of the file an interpreter
// path resolves to (/usr/bin/python3 -> python3.11), "" when it has none.
func nameVersion(python string) string {
	resolved, err := filepath.EvalSymlinks(python)
	if err != nil {
		return ""
	}
	if v, ok := strings.CutPrefix(filepath.Base(resolved), "python"); ok && versionRE.MatchString(v) {
		return v
	}
	return ""
}

// samePython says whether two interpreter paths are one file (a venv's
// python and /usr/bin/python3 are symlinks to python3.11).
func samePython(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// notInstalled is the error for a --server that Installed says cannot run
// for c, with the servers that can: an interpreter that does not run
// explains any; gunicorn, which runs on the chosen interpreter, needs
// installing there.
func notInstalled(c Config) error {
	if _, err := probe(c); err != nil {
		return err
	}
	e := &InputError{Flag: "--server", Value: c.Server, Msg: "not installed here"}
	var missing *InputError
	switch c.Server {
	case "gunicorn":
		if _, err := gunicornPython(c); errors.As(err, &missing) {
			e = missing
		}
	case "mod_wsgi-express":
		// It names the virtualenv it is missing from and the pip install.
		if _, _, err := modWSGIExpress(c); err != nil {
			e.Msg = strings.TrimPrefix(err.Error(), "mod_wsgi-express: ")
		}
	}
	e.Accepted = strings.Join(installedNames(c), ", ")
	return e
}
