package test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// host is the gears of one test as a user sees them from a shell: each
// gearctl command runs in a directory of the test's choosing, without
// --dir, and all of them share a registry of the test's own, so that
// list shows this test's gears alone. Every process started for them
// carries one tag, by which the cleanup finds and kills what is left.
type host struct {
	t   *testing.T
	reg string
	tag string
}

func newHost(t *testing.T) *host {
	t.Helper()
	h := &host{t: t, reg: filepath.Join(tempDir(t), "registry"), tag: fmt.Sprintf("host-%d-%d", os.Getpid(), rand.Uint64())}
	t.Cleanup(func() {
		for _, pid := range tagged(h.tag) {
			killTagged(pid, h.tag)
		}
	})
	return h
}

// env is what every command of the host runs with, before a command's own.
func (h *host) env(extra ...string) []string {
	return append([]string{tagVar + "=" + h.tag, "GEARCTL_REGISTRY=" + h.reg}, extra...)
}

// in runs `gearctl args...` in dir and waits for it.
func (h *host) in(dir string, args ...string) ctlResult {
	h.t.Helper()
	return h.inEnv(dir, nil, args...)
}

// inEnv is in with env added to the host's.
func (h *host) inEnv(dir string, env []string, args ...string) ctlResult {
	h.t.Helper()
	g := startGear(h.t, dir, 0, h.env(env...), append([]string{gearctlBin}, args...)...)
	code := g.wait()
	return ctlResult{args: args, code: code, stdout: g.stdout.text(), stderr: g.stderr.text()}
}

// started is a gear a test started: what start said of it.
type started struct {
	server        string
	pid, sup      int
	port          int
	appDir, state string
}

// start runs `[globals...] start --server SERVER --port PORT args...` in
// dir, which must start a gear of the application in appDir, with its
// state in appDir/.gearctl.
func (h *host) start(dir, appDir, server string, globals []string, args ...string) started {
	h.t.Helper()
	port := freePort(h.t)
	argv := append(append(append([]string{}, globals...), "start", "--server", server, "--port", strconv.Itoa(port)), args...)
	m := h.in(dir, argv...).want(h.t, 0).has(h.t, startedRE)
	if m[1] != server || m[3] != strconv.Itoa(port) {
		h.t.Fatalf("start says %q; want %s on port %d", m[0], server, port)
	}
	state := filepath.Join(appDir, ".gearctl")
	if fi, err := os.Stat(state); err != nil || !fi.IsDir() {
		h.t.Fatalf("start in %s %v: no state directory %s: %v", dir, args, state, err)
	}
	pid, _ := strconv.Atoi(m[2])
	sup, _ := strconv.Atoi(m[4])
	return started{server: server, pid: pid, sup: sup, port: port, appDir: appDir, state: state}
}

// listedGear is one gear of `list --json`.
type listedGear struct {
	Name          string    `json:"name"`
	State         string    `json:"state"`
	Server        string    `json:"server"`
	PID           int       `json:"pid"`
	SupervisorPID int       `json:"supervisor_pid"`
	Listen        string    `json:"listen"`
	AppDir        string    `json:"app_dir"`
	Dir           string    `json:"dir"`
	LogDir        string    `json:"log_dir"`
	StartedAt     time.Time `json:"started_at"`
	Uptime        float64   `json:"uptime_seconds"`
	Restarts      int       `json:"restarts"`
	Detail        string    `json:"detail"`
}

// list runs `list --json` in a fresh directory, which must exit 0, and
// returns the gears by name, and the names in the order listed.
func (h *host) list() (map[string]listedGear, []string) {
	h.t.Helper()
	r := h.in(tempDir(h.t), "list", "--json").want(h.t, 0)
	var l struct {
		Registry string       `json:"registry"`
		Gears    []listedGear `json:"gears"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		h.t.Fatalf("list --json is not JSON: %v\n%s", err, r.stdout)
	}
	if l.Registry != h.reg || l.Gears == nil {
		h.t.Errorf("list --json: registry %q, gears %v; want %s and a list", l.Registry, l.Gears, h.reg)
	}
	byName := map[string]listedGear{}
	var names []string
	for _, g := range l.Gears {
		byName[g.Name] = g
		names = append(names, g.Name)
	}
	return byName, names
}

// assertListed asserts that list shows the gear name as s, with state.
func (h *host) assertListed(gears map[string]listedGear, name, state string, s started) {
	h.t.Helper()
	g, ok := gears[name]
	switch {
	case !ok:
		h.t.Errorf("list does not show %s", name)
	case g.State != state || g.Server != s.server || g.PID != s.pid || g.SupervisorPID != s.sup ||
		g.Listen != addr(s.port) || g.AppDir != s.appDir || g.Dir != s.state:
		h.t.Errorf("list shows %s as %+v; want %s, %s pid %d, supervisor %d, listen %s, app dir %s, state dir %s",
			name, g, state, s.server, s.pid, s.sup, addr(s.port), s.appDir, s.state)
	}
}

// assertEmpty asserts that dir holds nothing: no verb left a .gearctl
// there.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	if files, err := os.ReadDir(dir); err != nil || len(files) != 0 {
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		t.Errorf("%s holds %s (%v); want nothing", dir, strings.Join(names, ", "), err)
	}
}

// oneLine asserts that r exited code with exactly one line on stderr that
// holds every one of want, and returns that line.
func oneLine(t *testing.T, r ctlResult, code int, want ...string) string {
	t.Helper()
	line := strings.TrimSuffix(r.stderr, "\n")
	if r.code != code || line == "" || strings.Contains(line, "\n") {
		t.Errorf("%s: exit %d, stderr %q; want %d and one line", strings.Join(r.args, " "), r.code, r.stderr, code)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("%s: %q does not name %q", strings.Join(r.args, " "), line, w)
		}
	}
	return line
}
