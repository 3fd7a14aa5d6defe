package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/internal/testenv"
)

// The tests here run the real servers on a tiny application. Each server
// test builds a Spec, writes its Files, execs it the way control does (own
// process group, the listening socket as fd 3 when it takes one) and kills
// the group when done.

// patience bounds every wait for a server; polls end as soon as the
// condition holds.
const patience = 20 * time.Second

// Test applications. Each answers "hello VARIANT TOKEN"; TOKEN is new at
// every import, so a reload shows. /slow marks that it has begun (a file in
// $GEARCTL_TEST_MARK) and answers a second later.
var testApps = map[string]string{
	"hello.py": `import os, time, uuid

TOKEN = uuid.uuid4().hex


def make(variant):
    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/slow":
            mark = os.path.join(os.environ["GEARCTL_TEST_MARK"], uuid.uuid4().hex)
            open(mark, "w").close()
            time.sleep(1)
        body = ("hello %s %s\n" % (variant, TOKEN)).encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return application
`,
	"wsgi.py": `from hello import make
application = make("wsgi.py")
`,
	// OpenShift's layout: no extension, and it imports a sibling in wsgi/.
	"wsgi/application": `import sibling
application = sibling.app
`,
	"wsgi/sibling.py": `from hello import make
app = make("wsgi/application")
`,
	"pkg/__init__.py": "",
	"pkg/web.py": `from hello import make
app = make("pkg.web")
`,
	"src/site.py": `from hello import make
serve = make("src/site.py")
`,
	"broken.py": `raise RuntimeError("broken at import")
`,
}

// testConfig is a gear for server with the test applications in its own
// directory, serving wsgi.py.
func testConfig(t *testing.T, server string) Config {
	t.Helper()
	chdir, dir, mark := t.TempDir(), t.TempDir(), t.TempDir()
	for name, content := range testApps {
		p := filepath.Join(chdir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// As root, Apache runs the application as nobody, which must read it
	// and write the marks; the test's temporary root is 0700. The gear
	// directory is 0700, as gearctl makes it: the builder must let nobody
	// through itself.
	for d, mode := range map[string]os.FileMode{filepath.Dir(chdir): 0o755, chdir: 0o755, mark: 0o777, dir: 0o700} {
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
	}
	// The interpreter gearctl runs by default, which the distribution's
	// servers are built for.
	py, err := DefaultPython()
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Server:       server,
		App:          App{File: filepath.Join(chdir, "wsgi.py")},
		Chdir:        chdir,
		Host:         "127.0.0.1",
		Workers:      2,
		Threads:      2,
		Python:       py,
		ReadyPath:    "/",
		StartTimeout: patience,
		// Also what gunicorn and uWSGI wait before they SIGKILL a worker
		// that missed the graceful signal (see TestGunicorn): it bounds
		// how long such a stop takes.
		StopTimeout: 5 * time.Second,
		Dir:         dir,
		Env:         append(os.Environ(), "GEARCTL_TEST_MARK="+mark, "PYTHONDONTWRITEBYTECODE=1"),
	}
}

// appVariants are the --app forms every server must run, with the variant
// each answers with.
func appVariants(chdir string) map[string]App {
	return map[string]App{
		"wsgi.py":          {File: filepath.Join(chdir, "wsgi.py")},
		"wsgi/application": {File: filepath.Join(chdir, "wsgi", "application")},
		"pkg.web":          {Module: "pkg.web", Callable: "app"},
		"src/site.py":      {File: filepath.Join(chdir, "src", "site.py"), Callable: "serve"},
	}
}

// running is one spawned server.
type running struct {
	t    *testing.T
	spec control.Spec
	url  string
	// probeURL is the instance's own probe socket, for servers that take one.
	probeURL string
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan struct{}
	err      error // from Wait, once done is closed
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start builds c's Spec and runs it as control would.
func start(t *testing.T, c Config) *running {
	t.Helper()
	// A port of our own: the socket handed over as fd 3, or, for a server
	// that binds itself, a port that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = ln.Addr().(*net.TCPAddr).Port
	spec, err := c.Spec()
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := spec.Prepare(); err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, spec: spec, out: &syncBuffer{}, done: make(chan struct{}),
		url: fmt.Sprintf("http://127.0.0.1:%d", c.Port)}
	r.cmd = &exec.Cmd{
		Path: spec.Path, Args: spec.Args, Env: spec.Env, Dir: spec.Dir,
		Stdout: r.out, Stderr: r.out,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if spec.TakesFD {
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		// Blocking, as control hands it over and servers expect.
		if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() }) // held like the supervisor holds it
		r.cmd.ExtraFiles = []*os.File{f}
	}
	if spec.ProbeFD {
		// This instance's own socket, as fd 4, where control probes it.
		pl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := pl.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		unix.SetNonblock(int(f.Fd()), false)
		r.probeURL = "http://" + pl.Addr().String()
		pl.Close()
		t.Cleanup(func() { f.Close() })
		r.cmd.ExtraFiles = append(r.cmd.ExtraFiles, f)
	}
	ln.Close()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		// The whole group: Apache's children outlive a killed parent.
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-r.done:
		case <-time.After(patience):
			t.Errorf("%s: pid %d not reaped after SIGKILL", spec.Name, r.cmd.Process.Pid)
		}
		// GEARCTL_TEST_LOG=1 shows every server's output, passed or not.
		if t.Failed() || os.Getenv("GEARCTL_TEST_LOG") != "" {
			t.Logf("%s %q output:\n%s", spec.Name, spec.Args, r.out)
		}
	})
	return r
}

var client = &http.Client{
	Timeout: patience,
	// A fresh connection per request, as a reload or stop is judged by
	// what a new client gets.
	Transport: &http.Transport{DisableKeepAlives: true},
}

func get(url string) (int, string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// waitBody polls path until it answers 200 with a body that ok accepts.
func (r *running) waitBody(path string, ok func(string) bool) string {
	r.t.Helper()
	deadline := time.Now().Add(patience)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			r.t.Fatalf("%s exited (%v) while waiting for %s", r.spec.Name, r.err, path)
		default:
		}
		code, body, err := get(r.url + path)
		if err == nil && code == 200 && ok(body) {
			return body
		}
		last = fmt.Sprintf("%d %q %v", code, body, err)
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("%s: no good answer on %s in %v; last: %s", r.spec.Name, path, patience, last)
	return ""
}

func (r *running) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("%s: signal %v: %v", r.spec.Name, sig, err)
	}
}

// waitExit waits for the server to exit and returns its exit error.
func (r *running) waitExit() error {
	r.t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(patience):
		r.t.Fatalf("%s did not exit in %v", r.spec.Name, patience)
		return nil
	}
}

// waitMark waits until a /slow request has begun in the application.
func waitMark(t *testing.T, c Config) {
	t.Helper()
	var mark string
	for _, kv := range c.Env {
		if v, ok := strings.CutPrefix(kv, "GEARCTL_TEST_MARK="); ok {
			mark = v
		}
	}
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if entries, _ := os.ReadDir(mark); len(entries) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("/slow never began")
}

func tokenOf(body string) string {
	f := strings.Fields(body)
	if len(f) != 3 {
		return ""
	}
	return f[2]
}

// testServer is the contract every real server is held to.
func testServer(t *testing.T, name string) {
	t.Parallel()
	if !Installed(name, testConfig(t, name)) {
		testenv.Need(t, name, errors.New("not installed (scripts/test installs every server)"))
	}
	t.Run("lifecycle", func(t *testing.T) {
		t.Parallel()
		c := testConfig(t, name)
		r := start(t, c)
		first := r.waitBody("/", func(b string) bool { return strings.HasPrefix(b, "hello wsgi.py ") })
		// Each worker imports the application with a token of its own:
		// the tokens before the reload are those of the workers seen.
		before := map[string]bool{tokenOf(first): true}
		for range 20 {
			if _, body, err := get(r.url + "/"); err == nil {
				before[tokenOf(body)] = true
			}
		}
		if r.spec.ProbeFD {
			code, body, err := get(r.probeURL + "/")
			if code != 200 || !strings.HasPrefix(body, "hello wsgi.py ") {
				t.Fatalf("%s on its probe socket: %d %q %v; want the application", name, code, body, err)
			}
			before[tokenOf(body)] = true
		}

		// Reload: same PID, the code imported again.
		r.signal(r.spec.Signals.Reload)
		r.waitBody("/", func(b string) bool { return strings.HasPrefix(b, "hello wsgi.py ") && !before[tokenOf(b)] })
		select {
		case <-r.done:
			t.Fatalf("%s exited on reload: %v", name, r.err)
		default:
		}

		// Graceful stop: the request in flight completes, then it exits.
		slow := make(chan error, 1)
		go func() {
			code, body, err := get(r.url + "/slow")
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d %q", code, body)
			}
			slow <- err
		}()
		waitMark(t, c)
		r.signal(r.spec.Signals.Stop)
		select {
		case err := <-slow:
			if err != nil {
				t.Errorf("in-flight request during graceful stop: %v", err)
			}
		case <-time.After(patience):
			t.Fatalf("in-flight request never answered")
		}
		if err := r.waitExit(); err != nil {
			t.Errorf("%s after graceful stop: %v", name, err)
		}
	})
	for _, variant := range []string{"wsgi.py", "wsgi/application", "pkg.web", "src/site.py"} {
		t.Run("app="+strings.ReplaceAll(variant, "/", "_"), func(t *testing.T) {
			t.Parallel()
			c := testConfig(t, name)
			c.App = appVariants(c.Chdir)[variant]
			r := start(t, c)
			r.waitBody("/", func(b string) bool { return strings.HasPrefix(b, "hello "+variant+" ") })
		})
	}
}

func TestNames(t *testing.T) {
	names := Names()
	for _, s := range catalog {
		if !slices.Contains(names, s.name) {
			t.Errorf("Names() lacks %s", s.name)
		}
	}
	if len(names) != len(catalog) {
		t.Errorf("Names() = %q, the catalog has %d servers", names, len(catalog))
	}
}

func TestUnknownServer(t *testing.T) {
	c := testConfig(t, "tomcat")
	_, err := c.Spec()
	if !isInputError(err, "--server") {
		t.Fatalf("err = %v, want an InputError for --server", err)
	}
	for _, name := range append(Names(), "auto") {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestBadApp(t *testing.T) {
	c := testConfig(t, "wsgiref")
	c.App = App{Module: "pkg.web", Callable: "app; import os"}
	if _, err := c.Spec(); !isInputError(err, "--app") {
		t.Errorf("callable with code: err = %v, want an InputError for --app", err)
	}
	c.App = App{}
	if _, err := c.Spec(); !isInputError(err, "--app") {
		t.Errorf("no application: err = %v, want an InputError for --app", err)
	}
}

// fakeVenv is a virtualenv whose bin holds files named like the given
// executables, never run: for tests of argv and lookup only.
func fakeVenv(t *testing.T, names ...string) string {
	t.Helper()
	venv := t.TempDir()
	if err := os.Chmod(venv, 0o755); err != nil { // as root, apache checks nobody can read it
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(venv, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(venv, "bin", n), []byte("#!/bin/false\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return venv
}

func TestAutoAndInstalled(t *testing.T) {
	c := testConfig(t, "auto")
	c.Env = []string{"PATH=" + t.TempDir()} // nothing on PATH
	// A virtualenv that cannot import gunicorn: uwsgi in it (pip's build,
	// Python inside) comes first.
	c.Python, c.Venv = realVenv(t, false, "uwsgi", "mod_wsgi-express")
	if got := Auto(c); got != "uwsgi" {
		t.Errorf("Auto = %s, want uwsgi", got)
	}
	if Installed("gunicorn", c) {
		t.Errorf("gunicorn installed for a virtualenv that cannot import it")
	}
	c.Python, c.Venv = realVenv(t, true, "uwsgi")
	if !Installed("gunicorn", c) {
		testenv.Need(t, "gunicorn for "+systemPython, errors.New("not importable (Debian: apt-get install gunicorn)"))
	}
	if got := Auto(c); got != "gunicorn" {
		t.Errorf("Auto = %s, want gunicorn", got)
	}
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "gunicorn" || spec.Path != c.Python || !slices.Equal(spec.Args[:3], []string{c.Python, "-m", "gunicorn"}) {
		t.Errorf("auto Spec: %s at %s %q, want gunicorn run by the virtualenv's python", spec.Name, spec.Path, spec.Args[:3])
	}
	if !Installed("wsgiref", c) {
		t.Errorf("wsgiref not installed with --python %s", c.Python)
	}
	if Installed("no-such-server", c) {
		t.Errorf("an unknown server is installed")
	}
}

func TestExtraArgs(t *testing.T) {
	c := testConfig(t, "")
	c.Venv = fakeVenv(t, "gunicorn", "uwsgi", "mod_wsgi-express")
	c.ExtraArgs = []string{"--extra", "x y"}
	for _, s := range catalog {
		if s.name == "apache" && !Installed("apache", c) || s.name == "uwsgi" && !Installed("uwsgi", c) {
			continue
		}
		c.Server = s.name
		c.Command = "python3 -m http.server {port}"
		spec, err := c.Spec()
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		if n := len(spec.Args); n < 3 || spec.Args[n-2] != "--extra" || spec.Args[n-1] != "x y" {
			t.Errorf("%s: argv %q does not end with the extra arguments", s.name, spec.Args)
		}
		if spec.Path == "" || spec.Args[0] == "" || spec.Env == nil || spec.Dir != c.Chdir ||
			spec.Signals.Stop == 0 || spec.ReadyPath != "/" || spec.StopTimeout != c.StopTimeout {
			t.Errorf("%s: incomplete Spec %+v", s.name, spec)
		}
	}
}
