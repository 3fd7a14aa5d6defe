package test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// orphanServer is an HTTP server that orphans a short-lived grandchild on
// every request (a double fork), and on /crash also dies at once. The
// grandchildren are re-parented to PID 1 of the namespace, gearctl, which
// must reap them or they stay zombies.
const orphanServer = `import os, sys, time
from http.server import HTTPServer, BaseHTTPRequestHandler


def orphan():
    child = os.fork()
    if child == 0:
        if os.fork() == 0:
            time.sleep(0.1)
            os._exit(0)
        os._exit(0)
    os.waitpid(child, 0)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        orphan()
        if self.path == "/crash":
            os._exit(1)
        body = b"orphaned one\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
`

// TestPID1 runs gearctl as PID 1 of a PID namespace, as in a container,
// with a server that keeps orphaning children and crashing: no zombie
// stays in the namespace, and SIGTERM stops it all.
func TestPID1(t *testing.T) {
	t.Parallel()
	unshare := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(unshare[0], append(unshare[1:], "true")...).CombinedOutput(); err != nil {
		need(t, "a PID namespace (unshare --pid needs root)", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out))))
	}
	app := appDir(t, map[string]string{"orphans.py": orphanServer})
	port := freePort(t)
	argv := append(unshare, gearctlBin, "--dir", tempDir(t), "run", "--port", strconv.Itoa(port),
		"--command", "python3 orphans.py {host} {port}")
	g := startGear(t, app, port, nil, argv...)
	g.ready("command")

	pid1 := namespacePID1(t, g)

	// Fewer crashes than the supervisor's limit for servers that die
	// within a second of being ready (five in a row make the gear failed).
	const crashes, requests = 3, 30
	for range crashes {
		for range requests {
			mustGet(t, port, "/")
		}
		if code, body, err := get(port, "/crash"); err == nil {
			t.Fatalf("GET /crash answered %d %q; the server should have died", code, body)
		}
		g.stderr.expect(t, `(killed by signal|exit status 1).*; restarting`)
		g.ready("command")
	}
	mustGet(t, port, "/")

	// Each orphan lives 0.1 s; then only the server's master is left below
	// gearctl, and no zombie, or gearctl did not reap what it inherited.
	settled := func() bool {
		ps := descendants(pid1)
		return len(ps) == 1 && ps[0].state != 'Z'
	}
	if !eventually(waitLine, settled) {
		for _, p := range descendants(pid1) {
			t.Errorf("left in the namespace: pid %d state %c: %s", p.pid, p.state, cmdline(p.pid))
		}
	}

	g.snapshot()
	if err := syscall.Kill(pid1, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := g.wait(); code != 0 {
		t.Errorf("unshare exited %d after SIGTERM to gearctl; want 0 (gearctl's own status)", code)
	}
	g.assertNothingLeft()
}

// nsPID is pid's PID in its innermost namespace, from /proc/PID/status.
func nsPID(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			return f[len(f)-1]
		}
	}
	return ""
}

// namespacePID1 is the PID, seen from outside, of gearctl started by
// `unshare --pid --fork` as g: unshare's child, which must be PID 1 of its
// namespace. Every process of the namespace is below it.
func namespacePID1(t *testing.T, g *gear) int {
	t.Helper()
	var pid1 int
	if !eventually(waitLine, func() bool {
		for _, p := range descendants(g.pid) {
			if p.ppid == g.pid {
				pid1 = p.pid
				return true
			}
		}
		return false
	}) {
		t.Fatal("no child of unshare")
	}
	if ns := nsPID(pid1); ns != "1" {
		t.Fatalf("gearctl is pid %s in its namespace; want 1", ns)
	}
	return pid1
}
