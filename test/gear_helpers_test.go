package test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// bgGear is a gear run in the background by `gearctl start` and driven verb
// by verb, as a user at a shell would: each verb is a gearctl process of its
// own, run in the application directory. Every process started for the
// gear, the background supervisor and the servers included, carries one
// tag, by which the cleanup finds and kills whatever is left.
type bgGear struct {
	t *testing.T
	// dir is --dir; by default a path that does not exist yet, so that
	// gearctl creates it.
	dir  string
	app  string
	port int
	tag  string
	// env is added to every verb's environment.
	env []string
}

func newBGGear(t *testing.T, files map[string]string) *bgGear {
	t.Helper()
	b := &bgGear{
		t:    t,
		dir:  filepath.Join(tempDir(t), "gear"),
		app:  appDir(t, files),
		port: freePort(t),
		tag:  fmt.Sprintf("bg-%d-%d", os.Getpid(), rand.Uint64()),
	}
	t.Cleanup(func() {
		for _, pid := range tagged(b.tag) {
			killTagged(pid, b.tag)
		}
	})
	return b
}

// do runs `gearctl --dir DIR args...` and waits for it.
func (b *bgGear) do(args ...string) ctlResult {
	b.t.Helper()
	return b.doEnv(nil, args...)
}

// doEnv is do with env added to the gear's environment.
func (b *bgGear) doEnv(env []string, args ...string) ctlResult {
	b.t.Helper()
	g := b.spawn(env, args...)
	code := g.wait()
	r := ctlResult{args: append([]string{"--dir", b.dir}, args...), code: code, stdout: g.stdout.text(), stderr: g.stderr.text()}
	// Every status --json a test makes is held to the schema.
	if len(args) > 0 && args[0] == "status" && slices.Contains(args, "--json") {
		checkStatusJSON(b.t, r.stdout)
	}
	return r
}

// spawn starts `gearctl --dir DIR args...` without waiting for it.
func (b *bgGear) spawn(env []string, args ...string) *gear {
	b.t.Helper()
	env = append(append([]string{tagVar + "=" + b.tag}, b.env...), env...)
	return startGear(b.t, b.app, 0, env, append([]string{gearctlBin, "--dir", b.dir}, args...)...)
}

// startedRE is start's line for a server it started: server, master PID,
// port, supervisor PID.
var startedRE = `^gearctl: (\S+) pid (\d+) ready on 127\.0\.0\.1:(\d+) in \d+\.\d\ds, GET \S+ answered \d{3} [^(]*\(supervisor pid (\d+)\)$`

// start runs `start --port PORT args...`, which must start the gear and
// say so; it returns the server master's and the supervisor's PIDs.
func (b *bgGear) start(server string, args ...string) (pid, supervisor int) {
	b.t.Helper()
	args = append([]string{"start", "--port", strconv.Itoa(b.port), "--server", server}, args...)
	m := b.do(args...).want(b.t, 0).has(b.t, startedRE)
	if m[1] != server || m[3] != strconv.Itoa(b.port) {
		b.t.Fatalf("start says %q; want %s on port %d", m[0], server, b.port)
	}
	pid, _ = strconv.Atoi(m[2])
	supervisor, _ = strconv.Atoi(m[4])
	return pid, supervisor
}

// gearStatus is `status --json` as the contract names its fields.
type gearStatus struct {
	State         string    `json:"state"`
	Server        string    `json:"server"`
	PID           int       `json:"pid"`
	SupervisorPID int       `json:"supervisor_pid"`
	StartedAt     time.Time `json:"started_at"`
	ReadyAt       time.Time `json:"ready_at"`
	Restarts      int       `json:"restarts"`
	Crashes       int       `json:"crashes"`
	Requested     int       `json:"requested_restarts"`
	LastExit      *struct {
		PID    int       `json:"pid"`
		Code   int       `json:"code"`
		Signal string    `json:"signal"`
		At     time.Time `json:"at"`
	} `json:"last_exit"`
	Listen      string `json:"listen"`
	Interpreter string `json:"interpreter"`
	Detail      string `json:"detail"`
	Handover    string `json:"handover"`
	Processes   []struct {
		PID     int     `json:"pid"`
		PPID    int     `json:"ppid"`
		RSS     uint64  `json:"rss"`
		CPU     float64 `json:"cpu"`
		Command string  `json:"command"`
	} `json:"processes"`
	Settings map[string]any `json:"settings"`
	HAProxy  *struct {
		Desired   string    `json:"desired"`
		Backend   string    `json:"backend"`
		Server    string    `json:"server"`
		State     string    `json:"state"`
		Healthy   *bool     `json:"healthy"`
		LearnedAt time.Time `json:"learned_at"`
		Error     string    `json:"error"`
	} `json:"haproxy"`
}

// status runs `status --json` and returns what it says and its exit
// status.
func (b *bgGear) status() (gearStatus, int) {
	b.t.Helper()
	r := b.do("status", "--json")
	var st gearStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		b.t.Fatalf("status --json (exit %d) is not JSON: %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
	return st, r.code
}

// ready asserts that status says ready (exit 0) with server and returns
// the status.
func (b *bgGear) ready(server string) gearStatus {
	b.t.Helper()
	st, code := b.status()
	if code != 0 || st.State != "ready" || st.Server != server || st.PID == 0 {
		b.t.Fatalf("status exit %d state %q server %q pid %d; want 0, ready, %s and a pid", code, st.State, st.Server, st.PID, server)
	}
	return st
}

// stop runs `stop`, which must exit 0, and asserts that nothing of the gear
// is left.
func (b *bgGear) stop() ctlResult {
	b.t.Helper()
	r := b.do("stop").want(b.t, 0)
	b.assertNothingLeft()
	return r
}

// assertNothingLeft fails for every process of the gear still running and
// for a listener on its port; status must say not running.
func (b *bgGear) assertNothingLeft() {
	b.t.Helper()
	for _, pid := range tagged(b.tag) {
		b.t.Errorf("process of the gear left: pid %d: %s", pid, cmdline(pid))
	}
	if c, err := net.DialTimeout("tcp", addr(b.port), 2*time.Second); err == nil {
		c.Close()
		b.t.Errorf("something still listens on %s", addr(b.port))
	}
	if _, code := b.status(); code != 3 {
		b.t.Errorf("status exits %d after the stop; want 3 (not running)", code)
	}
}

// isGearctl reports whether pid runs the gearctl under test.
func isGearctl(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && exe == gearctlBin
}

// tree sorts the running processes of the gear: supervisors (gearctl
// processes), masters (the top process of each server, whoever its parent
// now is), and all of them.
func (b *bgGear) tree() (supervisors, masters, all []int) {
	all = tagged(b.tag)
	for _, pid := range all {
		p, ok := readProc(pid)
		switch {
		case !ok || p.state == 'Z':
		case isGearctl(pid):
			supervisors = append(supervisors, pid)
		case isGearctl(p.ppid) || !slices.Contains(all, p.ppid):
			masters = append(masters, pid)
		}
	}
	return supervisors, masters, all
}

// assertOne asserts that the gear comes down to exactly one supervisor,
// sup if not 0, and exactly one server master, master if not 0. (A start
// that lost the race for the gear may return before the supervisor it
// launched has seen that and exited.)
func (b *bgGear) assertOne(sup, master int) {
	b.t.Helper()
	var sups, masters []int
	eventually(waitLine, func() bool {
		sups, masters, _ = b.tree()
		return len(sups) == 1 && len(masters) == 1
	})
	if len(sups) != 1 || (sup != 0 && sups[0] != sup) {
		b.t.Errorf("supervisors of the gear: %v; want exactly one%s", describe(sups), pidSuffix(sup))
	}
	if len(masters) != 1 || (master != 0 && masters[0] != master) {
		b.t.Errorf("server masters of the gear: %v; want exactly one%s", describe(masters), pidSuffix(master))
	}
}

func pidSuffix(pid int) string {
	if pid == 0 {
		return ""
	}
	return fmt.Sprintf(", pid %d", pid)
}

// describe lists pids with their command lines, for failure messages.
func describe(pids []int) []string {
	var out []string
	for _, pid := range pids {
		out = append(out, fmt.Sprintf("%d (%s)", pid, cmdline(pid)))
	}
	return out
}

// alive reports whether p still runs: same PID, same start, not a zombie.
func alive(p proc) bool {
	now, ok := readProc(p.pid)
	return ok && now.start == p.start && now.state != 'Z'
}

// restartedRE is restart's line: server, master PID, port, handover.
var restartedRE = `^gearctl: restarted: (\S+) pid (\d+) ready on 127\.0\.0\.1:(\d+), GET \S+ answered \d{3} [^;]*; (.+)$`

// restart runs `restart args...`, which must succeed; it asserts that the
// master changed and that the old one and everything that was below it
// have gone by the time restart returns, and returns the new master's PID
// and the handover restart reported.
func (b *bgGear) restart(server string, args ...string) (int, string) {
	b.t.Helper()
	before, code := b.status()
	if code != 0 || before.State != "ready" {
		b.t.Fatalf("status before the restart: exit %d, state %q; want 0, ready", code, before.State)
	}
	old := append(descendants(before.PID), mustProc(b.t, before.PID))
	m := b.do(append([]string{"restart"}, args...)...).want(b.t, 0).has(b.t, restartedRE)
	for _, p := range old {
		if alive(p) {
			b.t.Errorf("restart returned while pid %d of the old instance still ran: %s", p.pid, cmdline(p.pid))
		}
	}
	pid, _ := strconv.Atoi(m[2])
	if m[1] != server || m[3] != strconv.Itoa(b.port) {
		b.t.Errorf("restart says %q; want %s on port %d", m[0], server, b.port)
	}
	if pid == before.PID {
		b.t.Errorf("restart kept the master pid %d", pid)
	}
	if st := b.ready(server); st.PID != pid {
		b.t.Errorf("status names pid %d after restart said %d", st.PID, pid)
	}
	return pid, m[4]
}

// Bounds of a load: it ends when told to, or at these.
const (
	loadRequests = 50000 // per client
	loadTime     = 3 * time.Minute
)

// load sends GET / to one port from a few clients, each request on a new
// connection as a user's browser or a health checker would, and counts
// what those users saw.
type load struct {
	port int
	stop chan struct{}
	wg   sync.WaitGroup
	ok   atomic.Int64

	mu       sync.Mutex
	failures int
	// resets are the failures that were a connection reset by the server.
	resets   int
	first    []string // the first few failures
	progress chan struct{}
}

func startLoad(t *testing.T, port, clients int) *load {
	l := &load{port: port, stop: make(chan struct{}), progress: make(chan struct{})}
	deadline := time.Now().Add(loadTime)
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for range loadRequests {
				select {
				case <-l.stop:
					return
				default:
				}
				if time.Now().After(deadline) {
					return
				}
				l.one()
			}
		}()
	}
	t.Cleanup(l.end)
	return l
}

func (l *load) one() {
	code, body, err := get(l.port, "/")
	if err == nil && code == http.StatusOK {
		l.ok.Add(1)
		l.mu.Lock()
		close(l.progress)
		l.progress = make(chan struct{})
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures++
	if errors.Is(err, syscall.ECONNRESET) {
		l.resets++
	}
	if len(l.first) < 5 {
		msg := fmt.Sprintf("%d %q", code, body)
		if err != nil {
			msg = err.Error()
		}
		l.first = append(l.first, time.Now().Format("15:04:05.000")+" "+msg)
	}
}

// advance waits until n more requests have been answered 200, so that the
// next step happens under load.
func (l *load) advance(t *testing.T, n int64) {
	t.Helper()
	want := l.ok.Load() + n
	timeout := time.After(waitLine)
	for {
		l.mu.Lock()
		progress := l.progress
		l.mu.Unlock()
		if l.ok.Load() >= want {
			return
		}
		select {
		case <-progress:
		case <-timeout:
			t.Fatalf("the load got no %d answers within %s (%d so far)", n, waitLine, l.ok.Load())
		}
	}
}

func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// finish ends the load and asserts that every request was answered 200.
func (l *load) finish(t *testing.T) {
	t.Helper()
	l.end()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures > 0 {
		t.Errorf("%d of %d requests failed (refused, cut or not 200); first: %s",
			l.failures, int64(l.failures)+l.ok.Load(), strings.Join(l.first, "; "))
	}
	t.Logf("load: %d requests answered 200", l.ok.Load())
}

// socketInode is the inode of the socket fd of pid refers to, 0 if none.
func socketInode(pid, fd int) uint64 {
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`^socket:\[(\d+)\]$`).FindStringSubmatch(link)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// holdsSocket reports whether pid has an fd on the socket with inode.
func holdsSocket(pid int, inode uint64) bool {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && socketInode(pid, fd) == inode {
			return true
		}
	}
	return false
}

// listeners are the inodes of the TCP sockets listening on port.
func listeners(port int) []uint64 {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	var out []uint64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// State 0A is LISTEN.
		if len(f) < 10 || f[3] != "0A" || hexPort(f[1]) != port {
			continue
		}
		n, _ := strconv.ParseUint(f[9], 10, 64)
		out = append(out, n)
	}
	return out
}
