package test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mod_wsgi-express, live: the server the cartridge scripts were rewritten
// around. It is pip-only; scripts/test builds it from ../shared/vendor into
// a virtualenv and names that virtualenv in GEARCTL_TEST_MOD_WSGI_EXPRESS.
// It binds its own port, as Apache does: a restart on its own port stops the
// old instance first, and only a restart through haproxy hands over
// without a failed request.

// needModWSGIExpress returns the virtualenv mod_wsgi-express is installed
// in: GEARCTL_TEST_MOD_WSGI_EXPRESS, else the one of mod_wsgi-express on
// PATH.
func needModWSGIExpress(t *testing.T) string {
	t.Helper()
	venv, err := modWSGIExpressVenv()
	need(t, "mod_wsgi-express (scripts/test builds it; else pip install mod_wsgi into a virtualenv and set GEARCTL_TEST_MOD_WSGI_EXPRESS to it)", err)
	return venv
}

func modWSGIExpressVenv() (string, error) {
	venv := os.Getenv("GEARCTL_TEST_MOD_WSGI_EXPRESS")
	if venv == "" {
		exe, err := exec.LookPath("mod_wsgi-express")
		if err != nil {
			return "", errors.New("GEARCTL_TEST_MOD_WSGI_EXPRESS is not set and no mod_wsgi-express is on PATH")
		}
		venv = filepath.Dir(filepath.Dir(exe))
	}
	if _, err := os.Stat(filepath.Join(venv, "pyvenv.cfg")); err != nil {
		return "", fmt.Errorf("%s is not a virtualenv: %w", venv, err)
	}
	if _, err := exec.LookPath(filepath.Join(venv, "bin", "mod_wsgi-express")); err != nil {
		return "", err
	}
	return venv, nil
}

// prefixSource is the example application plus /prefix, which answers
// sys.prefix: the environment the application really runs in.
var prefixSource = `
import sys

_hello = application


def application(environ, start_response):
    if environ.get("PATH_INFO") != "/prefix":
        return _hello(environ, start_response)
    data = sys.prefix.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
`

// TestModWSGIExpressStart starts mod_wsgi-express from a virtualenv: the
// PID start and status name is the Apache parent (gearctl's child, whose
// children are the httpd workers and mod_wsgi daemon processes), the first
// request is answered by one of those, the application runs in the
// virtualenv, status names the virtualenv's interpreter, and reload keeps
// the parent while the new code serves.
func TestModWSGIExpressStart(t *testing.T) {
	t.Parallel()
	venv := needModWSGIExpress(t)
	b := newBGGear(t, map[string]string{"wsgi.py": helloSource + prefixSource})
	pid, sup := b.start("mod_wsgi-express", "--python", venv)
	answered := helloPID(t, mustGet(t, b.port, "/"))

	st := b.ready("mod_wsgi-express")
	if st.PID != pid || st.SupervisorPID != sup {
		t.Errorf("status: pid %d supervisor %d; want %d and %d as start said", st.PID, st.SupervisorPID, pid, sup)
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if base := filepath.Base(exe); base != "apache2" && base != "httpd" {
		t.Errorf("pid %d runs %s; want httpd (apache2), which mod_wsgi-express exec()s into", pid, exe)
	}
	if p := mustProc(t, pid); p.ppid != sup {
		t.Errorf("pid %d has parent %d; want the supervisor %d", pid, p.ppid, sup)
	}
	var children []int
	for _, p := range descendants(pid) {
		if p.ppid == pid {
			children = append(children, p.pid)
		}
	}
	// Two mod_wsgi daemon processes (--workers 2) and at least one httpd
	// child that proxies to them.
	if len(children) < 3 {
		t.Errorf("the Apache parent %d has children %v; want its workers", pid, describe(children))
	}
	if !descendsFrom(answered, pid) {
		t.Errorf("GET / was answered by pid %d, not below the Apache parent %d", answered, pid)
	}

	if prefix := mustGet(t, b.port, "/prefix"); prefix != venv {
		t.Errorf("the application runs with sys.prefix %s; want the virtualenv %s", prefix, venv)
	}
	interp := filepath.Join(venv, "bin", "python")
	var raw struct {
		Interpreter string `json:"interpreter"`
	}
	// The interpreter's path, perhaps followed by its version.
	if err := json.Unmarshal([]byte(b.do("status", "--json").stdout), &raw); err != nil || !strings.HasPrefix(raw.Interpreter, interp) {
		t.Errorf("status --json interpreter %q (%v); want %s", raw.Interpreter, err, interp)
	}
	b.do("status").want(t, 0).has(t, `\binterpreter: `+regexp.QuoteMeta(interp)+`\b`)

	code := strings.Replace(helloSource, `"hello from pid`, `"hello again from pid`, 1)
	writeFile(t, filepath.Join(b.app, "wsgi.py"), code+prefixSource)
	b.do("reload").want(t, 0).has(t, fmt.Sprintf(`^gearctl: reloaded mod_wsgi-express pid %d, GET / answered 200 OK$`, pid))
	if body := mustGet(t, b.port, "/"); !strings.HasPrefix(body, "hello again") {
		t.Errorf("GET / after reload says %q; want the new code's \"hello again\"", body)
	}
	if st := b.ready("mod_wsgi-express"); st.PID != pid {
		t.Errorf("after reload status names pid %d; want the same Apache parent %d", st.PID, pid)
	}
	b.stop()
}

// TestModWSGIExpressStop stops mod_wsgi-express with a request in flight:
// the graceful stop (WINCH) lets it finish, and nothing of the gear is
// left, neither the Apache parent nor any of its children, nor a listener.
func TestModWSGIExpressStop(t *testing.T) {
	t.Parallel()
	venv := needModWSGIExpress(t)
	b := newBGGear(t, nil)
	pid, _ := b.start("mod_wsgi-express", "--python", venv)
	procs := append(descendants(pid), mustProc(t, pid))
	slow := startRequest(t, b.port, "/slow?s=1")
	b.do("stop").want(t, 0).has(t, fmt.Sprintf(`^gearctl: stopped mod_wsgi-express pid %d$`, pid))
	if r := slow.answer(t); r.err != nil || r.code != 200 || !strings.HasPrefix(r.body, "slow done") {
		t.Errorf("the request in flight at the stop got %d %q %v; want 200 slow done", r.code, r.body, r.err)
	}
	for _, p := range procs {
		if alive(p) {
			t.Errorf("pid %d of mod_wsgi-express still runs after stop: %s", p.pid, cmdline(p.pid))
		}
	}
	b.assertNothingLeft()
}

// modWSGIExpressRestartRE is what a restart of a server that binds its own
// port says: the old one stopped first, and connections were refused.
const modWSGIExpressRestartRE = `stopped first; connections to 127\.0\.0\.1:\d+ were refused meanwhile`

// TestModWSGIExpressRestart restarts mod_wsgi-express on its own port
// under a small load. It cannot take over a listening socket, so the old
// instance stops before the new one binds: restart must say that
// connections were refused meanwhile, each restart has a new Apache parent
// and the old one is gone, and the load is answered again after each. The
// failed requests are counted and logged, not bounded: there is no
// handover to hold them.
func TestModWSGIExpressRestart(t *testing.T) {
	t.Parallel()
	venv := needModWSGIExpress(t)
	b := newBGGear(t, nil)
	b.start("mod_wsgi-express", "--python", venv)
	l := startLoad(t, b.port, 2)
	var took []string
	for range 3 {
		l.advance(t, 20)
		began := time.Now()
		_, handover := b.restart("mod_wsgi-express")
		took = append(took, time.Since(began).Round(time.Millisecond).String())
		if !regexp.MustCompile(modWSGIExpressRestartRE).MatchString(handover) {
			t.Errorf("restart says %q; want it to say the old one stopped first and connections were refused", handover)
		}
	}
	l.advance(t, 20)
	logFailures(t, l, "3 restarts of mod_wsgi-express on its own port, taking "+strings.Join(took, ", "))
	b.stop()
}

// TestModWSGIExpressSwap swaps mod_wsgi-express for gunicorn and back,
// under load, on the gear's own port: as mod_wsgi-express binds the port
// itself, each swap stops the old server first (restart says so), and
// the new server answers the load. Failed requests are counted and logged.
func TestModWSGIExpressSwap(t *testing.T) {
	t.Parallel()
	venv := needModWSGIExpress(t)
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	b.start("mod_wsgi-express", "--python", venv)
	l := startLoad(t, b.port, 2)
	for _, next := range []string{"gunicorn", "mod_wsgi-express"} {
		l.advance(t, 20)
		_, handover := b.restart(next, "--server", next)
		if !regexp.MustCompile(modWSGIExpressRestartRE).MatchString(handover) {
			t.Errorf("restart --server %s says %q; want it to say the old one stopped first", next, handover)
		}
		// The new server answers what the clients send.
		l.advance(t, 20)
		helloPID(t, mustGet(t, b.port, "/"))
	}
	logFailures(t, l, "mod_wsgi-express → gunicorn → mod_wsgi-express on one port")
	b.stop()
}

// logFailures ends the load and logs how many of its requests failed. A
// client retries a refused connection at once, so the count measures how
// long the port refused more than how many users would have seen an error.
func logFailures(t *testing.T, l *load, what string) {
	t.Helper()
	l.end()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%s: %d requests answered 200, %d failed (refused or cut); first failures: %s",
		what, l.ok.Load(), l.failures, strings.Join(l.first, "; "))
}

// TestModWSGIExpressBehindHAProxy restarts a mod_wsgi-express gear
// registered with a real haproxy, under load through haproxy: each restart
// starts the new server on another port, haproxy takes it in, and only
// then is the old one drained and stopped. No request through haproxy may
// fail, across mod_wsgi-express → mod_wsgi-express, → gunicorn and back.
func TestModWSGIExpressBehindHAProxy(t *testing.T) {
	t.Parallel()
	venv := needModWSGIExpress(t)
	_, err := lookExe("haproxy")
	need(t, "haproxy (Debian: apt-get install haproxy)", err)
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	handOverThroughHAProxy(t, b, []string{"mod_wsgi-express", "--python", venv}, "mod_wsgi-express", "gunicorn", "mod_wsgi-express")
	b.stop()
}

// TestModWSGIExpressStatic serves a directory with --static: under
// mod_wsgi-express it is Apache's own (--url-alias), and the file's bytes
// come back exactly.
func TestModWSGIExpressStatic(t *testing.T) {
	t.Parallel()
	venv := needModWSGIExpress(t)
	static := tempDir(t)
	css := "body { color: #333; }\n/* " + strconv.Itoa(os.Getpid()) + " */\n"
	writeFile(t, filepath.Join(static, "style.css"), css)
	b := newBGGear(t, nil)
	b.start("mod_wsgi-express", "--python", venv, "--static", "/static="+static)
	if body := mustGet(t, b.port, "/static/style.css"); body != css {
		t.Errorf("GET /static/style.css = %q; want the file's bytes %q", body, css)
	}
	helloPID(t, mustGet(t, b.port, "/"))
	b.stop()
}
