package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The supervisor's lifecycle as its clients see it: reload beside helper
// processes, stops that join, and supervisors or servers that do not
// answer.

// lifecycleApp starts a helper process at import, as applications do with
// subprocess.Popen, one that ignores TERM and HUP, and answers /slow after
// 4 s.
const lifecycleApp = `import os, subprocess, time
helper = subprocess.Popen(["sh", "-c", "trap '' TERM HUP; sleep 120"])

def application(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(4)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("hello from pid %d\n" % os.getpid()).encode()]
`

// TestLifecycleReloadWithHelpers: a helper process started at import
// outlives the server's workers; reload waits for the workers only and
// succeeds, the master keeping its PID. (Before: reload waited for every
// earlier descendant, the helper included, and failed after the start
// timeout with an empty cause, stopping the gear; the same for a
// --command.)
func TestLifecycleReloadWithHelpers(t *testing.T) {
	t.Parallel()
	for _, name := range append(socketServers, "command") {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--start-timeout", "15s"}
			if name == "command" {
				// gunicorn given as a command line: reload is its HUP.
				needServer(t, "gunicorn")
				args = append(args, "--command", debianPython+" -m gunicorn --bind fd://{fd} --workers 2 wsgi:application")
			} else {
				needServer(t, name)
			}
			b := newBGGear(t, map[string]string{"wsgi.py": lifecycleApp})
			pid, _ := b.start(name, args...)
			b.do("reload").want(t, 0).has(t, fmt.Sprintf(`^gearctl: reloaded %s pid %d, GET / answered 200 OK$`, name, pid))
			if st := b.ready(name); st.PID != pid {
				t.Errorf("after reload status names pid %d; want the same master %d", st.PID, pid)
			}
			b.stop()
		})
	}
}

// TestLifecycleSecondStopJoins: a second stop while the first drains joins
// it; the request in flight gets its answer. (Before: the second stop
// SIGKILLed the server and the request got nothing.)
func TestLifecycleSecondStopJoins(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, map[string]string{"wsgi.py": lifecycleApp})
	b.start("gunicorn")
	req := startRequest(t, b.port, "/slow")
	first := b.spawn(nil, "stop")
	if !eventually(waitLine, func() bool { st, _ := b.statusIfAny(); return st.State == "stopping" }) {
		t.Fatal("the first stop never made the gear stopping")
	}
	second := b.do("stop")
	if code := first.wait(); code != 0 || second.code != 0 {
		t.Fatalf("stops exited %d and %d; want 0 and 0\n%s", code, second.code, second.stderr)
	}
	if res := req.answer(t); res.err != nil || res.code != http.StatusOK {
		t.Fatalf("in-flight request during two stops: %d %v; want 200", res.code, res.err)
	}
	b.assertNothingLeft()
}

// statusIfAny is status without failing on a gear that is gone.
func (b *bgGear) statusIfAny() (gearStatus, int) {
	b.t.Helper()
	r := b.do("status", "--json")
	var st gearStatus
	json.Unmarshal([]byte(r.stdout), &st)
	return st, r.code
}

// TestLifecycleStoppedSupervisor: with the supervisor SIGSTOPped, status,
// stop and reload give up with exit 1 and say it does not answer.
// (Before: each waited forever.)
func TestLifecycleStoppedSupervisor(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	b := newBGGear(t, nil)
	_, sup := b.start("wsgiref")
	if err := syscall.Kill(sup, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(sup, syscall.SIGCONT)
	noAnswer := regexp.MustCompile(`does not answer`)
	for _, verb := range []string{"status", "stop", "reload"} {
		r := b.do(verb)
		if r.code != 1 || !noAnswer.MatchString(r.stderr) {
			t.Errorf("%s with the supervisor stopped: exit %d, stderr %q; want 1 saying it does not answer", verb, r.code, r.stderr)
		}
	}
	syscall.Kill(sup, syscall.SIGCONT)
	b.stop()
}

// TestLifecycleStoppedServer: a SIGSTOPped server master is unready at the
// first failed liveness probe and restarted after --probe-failures of
// them, counted in restarts. (Before: status said ready, exit 0, while
// requests timed out.)
func TestLifecycleStoppedServer(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	b := newBGGear(t, nil)
	pid, _ := b.start("wsgiref", "--probe-interval", "500ms", "--probe-failures", "3")
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var st gearStatus
	if !eventually(waitExit, func() bool { var code int; st, code = b.statusIfAny(); return code == 1 && st.State == "unready" }) {
		t.Fatalf("status with the server stopped: %q %q; want unready, exit 1", st.State, st.Detail)
	}
	if !eventually(waitExit, func() bool { st, _ = b.statusIfAny(); return st.State == "ready" && st.PID != pid }) {
		t.Fatalf("the stopped server was not replaced: %s pid %d", st.State, st.PID)
	}
	if st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
		t.Errorf("after the liveness restart: restarts %d, last exit %+v; want 1, SIGKILL", st.Restarts, st.LastExit)
	}
	if body := mustGet(t, b.port, "/"); !strings.HasPrefix(body, "hello") {
		t.Errorf("GET / after the restart: %q", body)
	}
	b.stop()
}
