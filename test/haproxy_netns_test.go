package test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/haproxy"
	"golang.org/x/sys/unix"
)

// Scaled gears across hosts: one haproxy host and three gear hosts, each a
// network namespace of its own linked to the others by a bridge in the
// haproxy host's namespace. haproxy runs the shipped example configuration
// (examples/haproxy/haproxy.cfg, only its admin socket path changed); each
// gear host runs `gearctl run --server gunicorn --haproxy unix:SOCK` on its
// own address, port 8080; the load is sent from inside the haproxy host to
// its frontend. Every address is private to the namespaces the test
// creates, and the haproxy admin socket is a file, reachable from all of
// them.

const (
	// hpSubnet is the /24 of the namespaces: the haproxy host is .1, gear
	// host N is .1N.
	hpSubnet = "10.213.0."
	// hpGearPort is every gear's port, each on its own host.
	hpGearPort = 8080
	// hpFront is the example configuration's "bind :80" as seen from
	// inside the haproxy host.
	hpFront = "127.0.0.1:80"
	// hpBackend is the example configuration's backend and gearctl's
	// default --haproxy-backend.
	hpBackend = "express"
	// The load: hpClients clients, each sending one request at a time on
	// a new connection, hpPace apart, at most hpMaxRequests each and for
	// at most hpLoadTime.
	hpClients     = 4
	hpPace        = 5 * time.Millisecond
	hpMaxRequests = 20000
	hpLoadTime    = 3 * time.Minute
)

// hpHelloRE is the example application's answer with VERSION set to the
// gear's name, which tells which gear answered.
var hpHelloRE = regexp.MustCompile(`^hello from pid (\d+) (g\d+)\n?$`)

// TestHAProxyGearsAcrossHosts: a gear that gets ready takes traffic from
// haproxy by itself, a rolling restart of every gear under load fails no
// request, a gear whose server master is SIGKILLed is taken out of haproxy
// and comes back by itself, and a gear stopped under load is drained first
// and deleted after.
func TestHAProxyGearsAcrossHosts(t *testing.T) {
	t.Parallel()
	for _, exe := range []string{"haproxy", "gunicorn"} {
		_, err := lookExe(exe)
		need(t, exe, err)
	}
	lab := newHPLab(t)
	sock := filepath.Join(tempDir(t), "admin.sock")
	client := lab.startHAProxy(sock)
	app := appDir(t, nil)

	// Two gears up before any load.
	g1, g2 := lab.runGear(app, sock, 1), lab.runGear(app, sock, 2)
	for _, g := range []*hpGear{g1, g2} {
		g.ready()
		g.awaitServing(client)
	}

	load := startHPLoad(t, lab.hp, hpFront, hpClients)
	load.await(t, 0, "answers from g1 and g2", func(rs []hpResult) bool {
		return hpServedBy(rs, "g1") && hpServedBy(rs, "g2")
	})

	// A new gear gets traffic once it is ready, and none before.
	from := load.mark()
	g3 := lab.runGear(app, sock, 3)
	g3.ready()
	readyAt := g3.status().ReadyAt
	r := hpFirst(load.await(t, from, "an answer from g3", func(rs []hpResult) bool { return hpServedBy(rs, "g3") }), "g3")
	t.Logf("new gear: g3 ready at %s (gearctl status ready_at); the first request that reached it was sent %s later",
		readyAt.Format("15:04:05.000000"), r.start.Sub(readyAt).Round(time.Millisecond))
	if r.start.Before(readyAt) {
		t.Errorf("haproxy sent g3 a request at %s, before gearctl said it was ready (%s)",
			r.start.Format("15:04:05.000000"), readyAt.Format("15:04:05.000000"))
	}
	g3.awaitServing(client)
	hpAssertNoFailures(t, load.since(from), "while g3 joined")

	// A rolling restart, one gear after the other, under load: no request
	// fails, and each gear answers from its new server afterwards.
	from = load.mark()
	for _, g := range []*hpGear{g1, g2, g3} {
		before := g.status().PID
		g.restart()
		after := g.status()
		if after.State != "ready" || after.PID == before || after.PID == 0 {
			t.Fatalf("%s after restart: state %s pid %d (was %d); want ready with a new pid", g.name, after.State, after.PID, before)
		}
		load.await(t, load.mark(), g.name+" answering from its new server pid "+strconv.Itoa(after.PID),
			hpServedFrom(g.name, after.PID))
	}
	rs := load.since(from)
	hpAssertNoFailures(t, rs, "during the rolling restart")
	t.Logf("rolling restart of g1, g2, g3: %d requests through haproxy, %d failed", len(rs), len(hpFailures(rs)))

	// SIGKILL of g2's server master: gearctl starts a new one, drains the
	// gear meanwhile and brings it back; only requests g2's workers held
	// at that moment may fail.
	master := g2.status().PID
	if !strings.Contains(cmdline(master), "gunicorn") || !descendsFrom(master, g2.pid) {
		t.Fatalf("status pid %d is not g2's gunicorn master: %s", master, cmdline(master))
	}
	drainRE := `haproxy: reconciling server=` + hpBackend + `/g2 desired=drain`
	drains := g2.stderr.count(drainRE)
	watch := watchHPServer(client, "g2")
	from = load.mark()
	if err := syscall.Kill(master, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var now hpStatus
	if !eventually(waitLine, func() bool {
		now = g2.status()
		return now.State == "ready" && now.PID != master && now.PID != 0
	}) {
		t.Fatalf("g2 not ready with a new server after its master was killed: %+v", now)
	}
	load.await(t, from, "g2 answering from its new server pid "+strconv.Itoa(now.PID),
		hpServedFrom("g2", now.PID))
	g2.awaitServing(client)
	t.Logf("sigkill: haproxy's view of g2 (admin/checks), polled every 10ms: %s", strings.Join(watch(), " → "))
	if g2.stderr.count(drainRE) <= drains {
		t.Errorf("gearctl did not drain g2 in haproxy while its server was down")
	}
	if g2.exited() {
		t.Errorf("g2's gearctl exited after its server master was killed")
	}
	rs = load.since(from)
	failed := hpFailures(rs)
	t.Logf("sigkill: %d requests until g2 served again, %d failed (at most %d may: one in flight per client)", len(rs), len(failed), hpClients)
	if len(failed) > hpClients {
		t.Errorf("%d requests failed after the SIGKILL; at most the %d in flight may: %s", len(failed), hpClients, hpDescribe(failed))
	}
	if len(failed) > 0 {
		t.Logf("sigkill: failed: %s", hpDescribe(failed))
	}

	// A gear stopped under load is drained before its server stops and
	// deleted from haproxy after: no request fails.
	from = load.mark()
	g1.stop(syscall.SIGTERM)
	if _, err := hpState(client, "g1"); !errors.Is(err, haproxy.ErrNoSuchServer) {
		t.Errorf("g1 still in haproxy after its gearctl stopped: %v", err)
	}
	load.await(t, load.mark(), "more answers from g2 and g3", func(rs []hpResult) bool {
		return hpServedBy(rs, "g2") && hpServedBy(rs, "g3")
	})
	hpAssertNoFailures(t, load.since(from), "while g1 stopped")

	load.end()
	t.Logf("load: %d requests through haproxy in all", len(load.since(0)))
	for _, g := range []*hpGear{g2, g3} {
		g.stop(syscall.SIGTERM)
	}
	states, err := hpStates(client)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		t.Errorf("server %s/%s left in haproxy after every gear stopped", s.Backend, s.Name)
	}
}

// hpLab is the network namespaces of one test: the haproxy host (with the
// bridge every gear host is linked to) and the gear hosts.
type hpLab struct {
	t      *testing.T
	ip     string // ip(8)
	prefix string // gearctl-PID-N, unique per test run
	hp     string // the haproxy host's namespace
}

var hpLabs atomic.Int32

// newHPLab creates the haproxy host's namespace, or skips the test when
// namespaces cannot be created here.
func newHPLab(t *testing.T) *hpLab {
	t.Helper()
	ipBin, err := lookExe("ip")
	need(t, "ip(8) (Debian: apt-get install iproute2)", err)
	l := &hpLab{t: t, ip: ipBin, prefix: fmt.Sprintf("gearctl-%d-%d", os.Getpid(), hpLabs.Add(1))}
	l.hp = l.prefix + "-hp"
	if out, err := exec.Command(ipBin, "netns", "add", l.hp).CombinedOutput(); err != nil {
		need(t, "network namespaces (ip netns add needs root with CAP_SYS_ADMIN)",
			fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out))))
	}
	l.deleteAtEnd(l.hp)
	l.run("-n", l.hp, "link", "set", "lo", "up")
	l.run("-n", l.hp, "link", "add", "br0", "type", "bridge")
	l.run("-n", l.hp, "addr", "add", hpSubnet+"1/24", "dev", "br0")
	l.run("-n", l.hp, "link", "set", "br0", "up")
	return l
}

// addHost creates gear host n: a namespace whose eth0 is a veth pair's end,
// the other end on the haproxy host's bridge. It returns the namespace
// and the host's address.
func (l *hpLab) addHost(n int) (ns, host string) {
	ns = fmt.Sprintf("%s-g%d", l.prefix, n)
	host = fmt.Sprintf("%s1%d", hpSubnet, n)
	l.run("netns", "add", ns)
	l.deleteAtEnd(ns)
	l.run("-n", ns, "link", "set", "lo", "up")
	veth := "v" + strconv.Itoa(n)
	l.run("-n", l.hp, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
	l.run("-n", l.hp, "link", "set", veth, "master", "br0", "up")
	l.run("-n", ns, "addr", "add", host+"/24", "dev", "eth0")
	l.run("-n", ns, "link", "set", "eth0", "up")
	return ns, host
}

// deleteAtEnd deletes the namespace when the test ends: after the
// processes in it, whose cleanups were registered later and run first.
// Its veth ends go with it.
func (l *hpLab) deleteAtEnd(ns string) {
	l.t.Cleanup(func() {
		// Whatever still runs in the namespace was started by this test.
		out, _ := exec.Command(l.ip, "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				if !l.t.Failed() {
					l.t.Errorf("process left in %s: pid %d: %s", ns, pid, cmdline(pid))
				}
				killInNetns(pid, ns)
			}
		}
		if out, err := exec.Command(l.ip, "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			l.t.Errorf("network namespace %s left behind", ns)
		}
	})
}

// killInNetns SIGKILLs pid if it is still in the namespace; the pidfd
// keeps the check and the kill about the same process.
func killInNetns(pid int, ns string) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	var want, have unix.Stat_t
	if unix.Stat(filepath.Join("/run/netns", ns), &want) != nil ||
		unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &have) != nil ||
		want.Dev != have.Dev || want.Ino != have.Ino {
		return
	}
	unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
}

func (l *hpLab) run(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(l.ip, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// startHAProxy runs haproxy in the foreground in the haproxy host, on the
// shipped example configuration with its admin socket at sock, and
// returns a client of that socket once it answers.
func (l *hpLab) startHAProxy(sock string) *haproxy.Client {
	t := l.t
	t.Helper()
	exe, _ := lookExe("haproxy")
	example, err := os.ReadFile(filepath.Join("..", "examples", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(example), "stats socket /run/haproxy/admin.sock", "stats socket "+sock, 1)
	if cfg == string(example) {
		t.Fatal("examples/haproxy/haproxy.cfg has no 'stats socket /run/haproxy/admin.sock' to point elsewhere")
	}
	dir := filepath.Dir(sock)
	path := filepath.Join(dir, "haproxy.cfg")
	writeFile(t, path, cfg)
	h := startGear(t, dir, 0, nil, l.ip, "netns", "exec", l.hp, exe, "-f", path, "-db")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("haproxy output:\n%s\n%s", h.stdout.text(), h.stderr.text())
		}
	})
	client, err := haproxy.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(waitLine, func() bool {
		if h.exited() {
			t.Fatalf("haproxy exited at start:\n%s", h.stderr.text())
		}
		_, err := hpStates(client)
		return err == nil
	}) {
		t.Fatalf("haproxy's admin socket %s did not answer within %s", sock, waitLine)
	}
	return client
}

// hpGear is `gearctl run` on gear host n, as `ip netns exec` starts it:
// ip execs gearctl, so the process started is gearctl itself.
type hpGear struct {
	*gear
	name string // gN: the haproxy server name and the app's VERSION
	ns   string
	host string
	dir  string
	ip   string // ip(8)
}

func (l *hpLab) runGear(app, sock string, n int) *hpGear {
	l.t.Helper()
	ns, host := l.addHost(n)
	g := &hpGear{name: "g" + strconv.Itoa(n), ns: ns, host: host, dir: tempDir(l.t), ip: l.ip}
	g.gear = startGear(l.t, app, 0, []string{"VERSION=" + g.name},
		l.ip, "netns", "exec", ns, gearctlBin, "--dir", g.dir, "--name", g.name, "run",
		"--host", host, "--port", strconv.Itoa(hpGearPort), "--server", "gunicorn",
		"--haproxy", "unix:"+sock, "--haproxy-server", g.name)
	return g
}

// ready waits until gearctl says the server listens on the gear host's
// address and is ready.
func (g *hpGear) ready() {
	g.t.Helper()
	g.stderr.expect(g.t, logRE+`gunicorn pid \d+ listening on `+regexp.QuoteMeta(g.host)+`:`+strconv.Itoa(hpGearPort)+`$`)
	g.stderr.expect(g.t, readyRE)
}

// awaitServing waits until haproxy shows the gear up and taking traffic.
func (g *hpGear) awaitServing(c *haproxy.Client) {
	g.t.Helper()
	var last string
	if !eventually(waitLine, func() bool {
		st, err := hpState(c, g.name)
		if err != nil {
			last = err.Error()
			return false
		}
		last = fmt.Sprintf("%s, checks say %s", st.AdminState(), st.OpState)
		return st.Serving()
	}) {
		g.t.Fatalf("haproxy does not serve %s within %s: %s", g.name, waitLine, last)
	}
}

// hpStatus is what the test reads of `gearctl status --json`.
type hpStatus struct {
	State    string          `json:"state"`
	PID      int             `json:"pid"`
	ReadyAt  time.Time       `json:"ready_at"`
	Restarts int             `json:"restarts"`
	HAProxy  json.RawMessage `json:"haproxy"`
}

func (g *hpGear) status() hpStatus {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLine)
	defer cancel()
	// Exit status 1 (not ready) still prints the report.
	out, err := exec.CommandContext(ctx, g.ip, "netns", "exec", g.ns, gearctlBin, "--dir", g.dir, "status", "--json").Output()
	var st hpStatus
	if jerr := json.Unmarshal(out, &st); jerr != nil {
		g.t.Fatalf("%s status --json: %v (%v): %q", g.name, jerr, err, out)
	}
	checkStatusJSON(g.t, string(out)) // with the haproxy registration in it
	return st
}

// restart runs `gearctl restart` in the gear host and asserts it
// succeeded.
func (g *hpGear) restart() {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitExit)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.ip, "netns", "exec", g.ns, gearctlBin, "--dir", g.dir, "restart")
	// The new server gets the environment of the restart's caller, not
	// the one the gear was started with: the gear's variables are given
	// again.
	// The tag too: the cleanup finds the new server by it.
	cmd.Env = append(cleanEnv(), "VERSION="+g.name, tagVar+"="+g.tag)
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("%s: gearctl restart: %v\n%s", g.name, err, out)
	}
}

// hpStates lists the servers of the backend.
func hpStates(c *haproxy.Client) ([]haproxy.ServerState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.ShowServersState(ctx, hpBackend)
}

func hpState(c *haproxy.Client, server string) (haproxy.ServerState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.ServerState(ctx, hpBackend, server)
}

// watchHPServer polls haproxy's view of server until the returned func is
// called, which returns each distinct view in order.
func watchHPServer(c *haproxy.Client, server string) func() []string {
	stop := make(chan struct{})
	done := make(chan []string)
	go func() {
		var seen []string
		deadline := time.Now().Add(waitExit)
		for {
			v := "absent"
			if st, err := hpState(c, server); err == nil {
				v = fmt.Sprintf("%s/%s", st.AdminState(), st.OpState)
			} else if !errors.Is(err, haproxy.ErrNoSuchServer) {
				v = "unknown"
			}
			if len(seen) == 0 || seen[len(seen)-1] != v {
				seen = append(seen, v)
			}
			select {
			case <-stop:
				done <- seen
				return
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				<-stop
				done <- seen
				return
			}
		}
	}()
	return func() []string {
		close(stop)
		return <-done
	}
}

// hpResult is one request of the load through haproxy.
type hpResult struct {
	start, end time.Time
	code       int
	gear       string // the gear that answered, from the app's answer
	pid        int    // the worker that answered
	body       string
	err        error
}

func (r hpResult) failed() bool { return r.err != nil || r.code != http.StatusOK || r.gear == "" }

func (r hpResult) String() string {
	at := r.start.Format("15:04:05.000")
	if r.err != nil {
		return at + " " + r.err.Error()
	}
	return fmt.Sprintf("%s %d %q", at, r.code, strings.TrimSpace(r.body))
}

// hpLoad sends GET / to haproxy's frontend from inside the haproxy host:
// each client is a goroutine locked to an OS thread that joined the
// namespace (what `ip netns exec` does for a whole process), so the
// sockets it opens are the haproxy host's. The thread is never unlocked:
// it ends with its goroutine and takes the namespace with it.
type hpLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	results []hpResult
	changed chan struct{} // closed and replaced on every result
}

func startHPLoad(t *testing.T, ns, front string, clients int) *hpLoad {
	t.Helper()
	l := &hpLoad{stop: make(chan struct{}), changed: make(chan struct{})}
	joined := make(chan error, clients)
	deadline := time.Now().Add(hpLoadTime)
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			lockOffMain()
			if err := joinNetns(ns); err != nil {
				joined <- err
				return
			}
			joined <- nil
			for range hpMaxRequests {
				select {
				case <-l.stop:
					return
				default:
				}
				if time.Now().After(deadline) {
					return
				}
				l.add(hpRequest(front))
				time.Sleep(hpPace)
			}
		}()
	}
	t.Cleanup(l.end)
	for range clients {
		if err := <-joined; err != nil {
			t.Fatalf("load client cannot enter namespace %s: %v", ns, err)
		}
	}
	return l
}

// lockOffMain locks the goroutine to an OS thread other than the main
// one. The main thread must never change network namespace: the process's
// /proc/PID/ns/net and /proc/PID/net follow it, and a thread that joined
// one is never given back (Go ends a locked thread when its goroutine
// does, but not the main thread).
func lockOffMain() {
	for {
		runtime.LockOSThread()
		if unix.Gettid() != os.Getpid() {
			return
		}
		runtime.UnlockOSThread()
		time.Sleep(time.Millisecond)
	}
}

// joinNetns moves the calling thread into the named network namespace.
func joinNetns(ns string) error {
	fd, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setns(fd, unix.CLONE_NEWNET)
}

// hpRequest sends one GET / on a new connection, as a user's browser would.
func hpRequest(front string) (r hpResult) {
	r.start = time.Now()
	defer func() { r.end = time.Now() }()
	conn, err := net.DialTimeout("tcp", front, 5*time.Second)
	if err != nil {
		r.err = err
		return r
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitLine))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: gears\r\nConnection: close\r\n\r\n"); err != nil {
		r.err = err
		return r
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		r.err = err
		return r
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.code, r.body, r.err = resp.StatusCode, string(body), err
	if m := hpHelloRE.FindStringSubmatch(r.body); m != nil {
		r.pid, _ = strconv.Atoi(m[1])
		r.gear = m[2]
	}
	return r
}

func (l *hpLoad) add(r hpResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.results = append(l.results, r)
	close(l.changed)
	l.changed = make(chan struct{})
}

// mark is where the results from now on start.
func (l *hpLoad) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.results)
}

// since returns the results from mark on.
func (l *hpLoad) since(mark int) []hpResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]hpResult(nil), l.results[mark:]...)
}

// await waits, at most waitLine, until the results from mark on satisfy
// cond, and returns them.
func (l *hpLoad) await(t *testing.T, mark int, what string, cond func([]hpResult) bool) []hpResult {
	t.Helper()
	timeout := time.After(waitLine)
	for {
		l.mu.Lock()
		rs := append([]hpResult(nil), l.results[mark:]...)
		changed := l.changed
		l.mu.Unlock()
		if cond(rs) {
			return rs
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the load saw no %s within %s (%d requests, %d failed: %s)",
				what, waitLine, len(rs), len(hpFailures(rs)), hpDescribe(hpFailures(rs)))
		}
	}
}

// end stops the clients and waits for them.
func (l *hpLoad) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

func hpServedBy(rs []hpResult, gear string) bool { return hpFirst(rs, gear).gear != "" }

// hpServedFrom is a condition for await: an answer from gear by a worker
// of server master. It remembers which PIDs it looked up in /proc.
func hpServedFrom(gear string, master int) func([]hpResult) bool {
	below := map[int]bool{}
	return func(rs []hpResult) bool {
		for _, r := range rs {
			if r.gear != gear || r.failed() {
				continue
			}
			ok, seen := below[r.pid]
			if !seen {
				ok = descendsFrom(r.pid, master)
				below[r.pid] = ok
			}
			if ok {
				return true
			}
		}
		return false
	}
}

// hpFirst is the first request answered by gear (zero if none).
func hpFirst(rs []hpResult, gear string) hpResult {
	for _, r := range rs {
		if r.gear == gear && !r.failed() {
			return r
		}
	}
	return hpResult{}
}

func hpFailures(rs []hpResult) []hpResult {
	var out []hpResult
	for _, r := range rs {
		if r.failed() {
			out = append(out, r)
		}
	}
	return out
}

func hpDescribe(rs []hpResult) string {
	var s []string
	for i, r := range rs {
		if i == 5 {
			s = append(s, fmt.Sprintf("and %d more", len(rs)-i))
			break
		}
		s = append(s, r.String())
	}
	return strings.Join(s, "; ")
}

func hpAssertNoFailures(t *testing.T, rs []hpResult, when string) {
	t.Helper()
	if failed := hpFailures(rs); len(failed) > 0 {
		t.Errorf("%d of %d requests through haproxy failed %s: %s", len(failed), len(rs), when, hpDescribe(failed))
	}
}
