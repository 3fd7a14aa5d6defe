package test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// simGear is an OpenShift v2 gear simulated in temporary directories: the
// OPENSHIFT_* variables the node would set (directories with their
// trailing slash, as the node writes them), the application in the repo
// directory, a symlink named control to gearctl, and a tag on every process
// started for it, found and killed by the cleanup whatever happens.
type simGear struct {
	t *testing.T
	// base holds the rest; repo is the application (a copy of the
	// example's wsgi.py); pyDir is OPENSHIFT_PYTHON_DIR.
	base, repo, pyDir, data, logs string
	port                          int
	tag                           string
	env                           []string
	control                       string
}

func newSimGear(t *testing.T, server string, files map[string]string) *simGear {
	t.Helper()
	base := tempDir(t)
	s := &simGear{
		t:     t,
		base:  base,
		repo:  appDir(t, files),
		pyDir: filepath.Join(base, "python"),
		data:  filepath.Join(base, "data"),
		port:  freePort(t),
		tag:   fmt.Sprintf("sim-%d-%d", os.Getpid(), rand.Uint64()),
	}
	s.logs = filepath.Join(s.pyDir, "logs")
	for _, d := range []string{s.pyDir, s.data, filepath.Join(base, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.control = filepath.Join(base, "bin", "control")
	if err := os.Symlink(gearctlBin, s.control); err != nil {
		t.Fatal(err)
	}
	s.env = []string{
		"OPENSHIFT_PYTHON_DIR=" + s.pyDir + "/",
		"OPENSHIFT_PYTHON_LOG_DIR=" + s.logs + "/",
		"OPENSHIFT_REPO_DIR=" + s.repo + "/",
		"OPENSHIFT_DATA_DIR=" + s.data + "/",
		"OPENSHIFT_PYTHON_IP=127.0.0.1",
		"OPENSHIFT_PYTHON_PORT=" + strconv.Itoa(s.port),
		"OPENSHIFT_PYTHON_SERVER=" + server,
		// Overrides the tag startGear gives each command: one tag for
		// every process of this gear, the background supervisor's too.
		tagVar + "=" + s.tag,
	}
	t.Cleanup(func() {
		for _, pid := range tagged(s.tag) {
			killTagged(pid, s.tag)
		}
	})
	return s
}

// ctlResult is what one control action did.
type ctlResult struct {
	args           []string
	code           int
	stdout, stderr string
}

// ctl runs `control ACTION...` through the symlink, in the gear's base
// directory (not the application's: the variables must say where it is),
// with env added to the gear's, and waits for it.
func (s *simGear) ctl(env []string, args ...string) ctlResult {
	s.t.Helper()
	return s.exec(env, append([]string{s.control}, args...)...)
}

func (s *simGear) exec(env []string, argv ...string) ctlResult {
	s.t.Helper()
	g := startGear(s.t, s.base, 0, append(append([]string(nil), s.env...), env...), argv...)
	code := g.wait()
	return ctlResult{args: argv[1:], code: code, stdout: g.stdout.text(), stderr: g.stderr.text()}
}

// want asserts the exit status.
func (r ctlResult) want(t *testing.T, code int) ctlResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s exited %d; want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// has asserts that a stdout line matches pattern, and returns its
// submatches.
func (r ctlResult) has(t *testing.T, pattern string) []string {
	t.Helper()
	return r.matchLine(t, "stdout", r.stdout, pattern)
}

// hasStderr is has for stderr.
func (r ctlResult) hasStderr(t *testing.T, pattern string) []string {
	t.Helper()
	return r.matchLine(t, "stderr", r.stderr, pattern)
}

func (r ctlResult) matchLine(t *testing.T, name, text, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for _, line := range strings.Split(text, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			return m
		}
	}
	t.Fatalf("%s: no %s line matches %q\n%s:\n%s", strings.Join(r.args, " "), name, pattern, name, text)
	return nil
}

// hook installs an executable action hook: a shell script.
func (s *simGear) hook(name, script string) {
	s.t.Helper()
	writeHook(s.t, filepath.Join(s.repo, ".openshift", "action_hooks"), name, script)
}

// writeHook writes the shell script for hook name into dir, executable.
func writeHook(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// recordingHooks installs hooks that append their name to hooks.log in
// OPENSHIFT_DATA_DIR (which they must therefore get) and say so on stdout.
func (s *simGear) recordingHooks(names ...string) {
	for _, name := range names {
		s.hook(name, fmt.Sprintf("echo \"hook %s says hello\"\necho %s >> \"${OPENSHIFT_DATA_DIR}hooks.log\"\n", name, name))
	}
}

// hooksRan returns the hooks recorded since the last call.
func (s *simGear) hooksRan() []string {
	path := filepath.Join(s.data, "hooks.log")
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	os.Remove(path)
	return strings.Fields(string(b))
}

func (s *simGear) wantHooks(want ...string) {
	s.t.Helper()
	if got := s.hooksRan(); strings.Join(got, " ") != strings.Join(want, " ") {
		s.t.Errorf("hooks ran: %q; want %q", got, want)
	}
}

// marker sets or removes a marker.
func (s *simGear) marker(name string, on bool) {
	s.t.Helper()
	path := filepath.Join(s.repo, ".openshift", "markers", name)
	if !on {
		os.Remove(path)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		s.t.Fatal(err)
	}
	writeFile(s.t, path, "")
}

// statusPID is the server master's PID that a ready status names.
func (s *simGear) statusPID(server string) int {
	s.t.Helper()
	r := s.ctl(nil, "status").want(s.t, 0)
	r.has(s.t, `^CLIENT_RESULT: Application is running$`)
	m := r.has(s.t, `^CLIENT_RESULT: ready\s+(\S+)\s+pid (\d+)\b`)
	if m[1] != server {
		s.t.Fatalf("status says %s; want %s", m[1], server)
	}
	pid, _ := strconv.Atoi(m[2])
	return pid
}

// assertStopped asserts that the gear is stopped: status says so with exit
// status 3, no process of the gear is left, nothing listens on its port.
func (s *simGear) assertStopped() {
	s.t.Helper()
	r := s.ctl(nil, "status").want(s.t, 3)
	r.has(s.t, `^CLIENT_RESULT: Application is either stopped or inaccessible$`)
	for _, pid := range tagged(s.tag) {
		s.t.Errorf("process of the gear left: pid %d: %s", pid, cmdline(pid))
	}
	if c, err := net.DialTimeout("tcp", addr(s.port), 2*time.Second); err == nil {
		c.Close()
		s.t.Errorf("something still listens on %s", addr(s.port))
	}
}

// assertClientLines asserts that every stdout line is the user's: a line
// of ours behind a cartridge SDK prefix, or output of a hook (own, a
// pattern).
func assertClientLines(t *testing.T, r ctlResult, own string) {
	t.Helper()
	re := regexp.MustCompile(`^CLIENT_(RESULT|MESSAGE|ERROR): |` + own)
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if line != "" && !re.MatchString(line) {
			t.Errorf("%s: stdout line %q has no CLIENT_ prefix", strings.Join(r.args, " "), line)
		}
	}
}

// serverFor is the server the tests of the control contract use: gunicorn
// when installed, else the wsgiref runner, which needs only Python.
func serverFor() string {
	if _, err := lookExe("gunicorn"); err == nil {
		return "gunicorn"
	}
	return "wsgiref"
}

// venvProbe is the outcome of making one virtualenv with pip, once per
// test binary.
var venvProbe struct {
	once sync.Once
	err  error
	out  []byte
}

// needVenv skips a test when python3 cannot make virtualenvs with pip in
// them (Debian without python3-venv: no ensurepip).
func needVenv(t *testing.T) {
	t.Helper()
	venvProbe.once.Do(func() {
		dir, err := os.MkdirTemp(scratch, "venv-probe")
		if err != nil {
			venvProbe.err = err
			return
		}
		defer os.RemoveAll(dir)
		venvProbe.out, venvProbe.err = exec.Command("python3", "-m", "venv", dir).CombinedOutput()
	})
	if venvProbe.err != nil {
		need(t, "python3 -m venv (Debian: apt-get install python3-venv)",
			fmt.Errorf("%w: %s", venvProbe.err, bytes.TrimSpace(venvProbe.out)))
	}
}

// inTreeBackend is a PEP 517/660 build backend in a few lines, so that
// pip can install a directory, as a wheel or editable, with no network and
// no setuptools: `requires = []` leaves pip nothing to download.
const inTreeBackend = `import base64, hashlib, os, zipfile

NAME, VERSION = "hellopkg", "0.1"
DIST = "%s-%s" % (NAME, VERSION)
HERE = os.path.dirname(os.path.abspath(__file__))


def _wheel(directory, files):
    files = dict(files)
    files[DIST + ".dist-info/METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (NAME, VERSION)
    files[DIST + ".dist-info/WHEEL"] = "Wheel-Version: 1.0\nGenerator: gearctl-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    name = DIST + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as z:
        for path, text in files.items():
            data = text.encode()
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        record.append(DIST + ".dist-info/RECORD,,")
        z.writestr(DIST + ".dist-info/RECORD", "\n".join(record) + "\n")
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(HERE, NAME, "__init__.py")) as f:
        return _wheel(wheel_directory, {NAME + "/__init__.py": f.read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {NAME + ".pth": HERE + "\n"})
`

const inTreePyproject = `[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
`

// localPackage writes the package hellopkg, saying greeting, into dir.
func localPackage(t *testing.T, dir, greeting string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "hellopkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "backend.py"), inTreeBackend)
	writeFile(t, filepath.Join(dir, "pyproject.toml"), inTreePyproject)
	writeFile(t, filepath.Join(dir, "hellopkg", "__init__.py"), fmt.Sprintf("GREETING = %q\n", greeting))
}
