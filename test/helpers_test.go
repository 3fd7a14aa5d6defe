package test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of the waits. They only stop a test that would otherwise hang; no
// assertion depends on how fast anything is.
const (
	// waitLine bounds the wait for one expected line of output: a server
	// start under a loaded machine included.
	waitLine = 45 * time.Second
	// waitExit bounds the wait for gearctl to exit once it was asked to, or
	// once the start timeout given to it has passed.
	waitExit = 60 * time.Second
	// pollEvery is the interval of every polling loop.
	pollEvery = 20 * time.Millisecond
)

// Every test pattern for gearctl's own lines.
var (
	// logRE starts a line of the supervisor's log: its time, RFC 3339 in
	// UTC to the millisecond, and "gearctl: ".
	logRE = `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z gearctl: `
	// listeningRE: "TIME gearctl: SERVER pid N listening on HOST:PORT".
	listeningRE = logRE + `(\S+) pid (\d+) listening on 127\.0\.0\.1:(\d+)$`
	// readyRE: "TIME gearctl: ready in X.XXs ...".
	readyRE = logRE + `ready in \d+\.\d\ds\b`
	// helloRE is the example application's answer to /.
	helloRE = regexp.MustCompile(`^hello (?:again )?from pid (\d+)`)
)

// tagVar marks every process of one gear: gearctl passes its environment to
// the servers it starts and they to their children, so a process carrying
// the tag belongs to the gear however it was re-parented or daemonized.
const tagVar = "GEARCTL_E2E_TAG"

// ports hands out each port once per test binary, so parallel tests never
// share one.
var ports = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

// freePort returns a port on 127.0.0.1 that nothing listens on. It is
// below Linux's ephemeral range (32768 and up), so the client side of
// some test's connection cannot be holding it when gearctl binds it.
func freePort(t *testing.T) int {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 500 {
		p := 20000 + rand.IntN(12000)
		if ports.used[p] {
			continue
		}
		l, err := net.Listen("tcp", addr(p))
		if err != nil {
			continue
		}
		l.Close()
		ports.used[p] = true
		return p
	}
	t.Fatal("no free port found in 20000-31999")
	return 0
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// tempDir is a new directory under scratch, removed after the test. Not
// t.TempDir: Apache run by root serves as an unprivileged account that must
// enter the application and gear directories (t.TempDir makes them 0700),
// and mod_wsgi's unix socket paths below --dir must fit in 107 bytes, which
// test names would exceed.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(scratch, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// appDir is a fresh copy of the example application (wsgi.py) plus files,
// name (a path below the directory) -> content, readable by everyone. A
// copy keeps the repository free of __pycache__ and lets a test change the
// code.
func appDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "wsgi.py"), helloSource)
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, content)
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stream collects the lines of one output (or the messages of a socket)
// as they arrive, for expect to search.
type stream struct {
	name string

	mu      sync.Mutex
	lines   []string
	eof     bool
	changed chan struct{} // closed and replaced on every new line and at EOF
	next    int           // where the next expect starts searching
}

func newStream(name string) *stream {
	return &stream{name: name, changed: make(chan struct{})}
}

func (s *stream) add(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, line)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eof = true
	close(s.changed)
	s.changed = make(chan struct{})
}

// feed reads r line by line until EOF.
func (s *stream) feed(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		s.add(sc.Text())
	}
	s.close()
}

// expect waits for the next line, after the previous match, that matches
// pattern, and returns its submatches. The test fails when the stream ends
// or waitLine passes first.
func (s *stream) expect(t *testing.T, pattern string) []string {
	t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.After(waitLine)
	for {
		s.mu.Lock()
		for i := s.next; i < len(s.lines); i++ {
			if m := re.FindStringSubmatch(s.lines[i]); m != nil {
				s.next = i + 1
				s.mu.Unlock()
				return m
			}
		}
		s.next = len(s.lines)
		eof, changed := s.eof, s.changed
		s.mu.Unlock()
		if eof {
			t.Fatalf("%s ended without a line matching %q", s.name, pattern)
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no line matching %q on %s within %s", pattern, s.name, waitLine)
		}
	}
}

// count is how many lines so far match pattern.
func (s *stream) count(pattern string) int {
	re := regexp.MustCompile(pattern)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

func (s *stream) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// waitEOF waits, at most within, until the writers of the stream are gone.
func (s *stream) waitEOF(within time.Duration) bool {
	deadline := time.After(within)
	for {
		s.mu.Lock()
		eof, changed := s.eof, s.changed
		s.mu.Unlock()
		if eof {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}

// gear is one gearctl process started by a test (or a wrapper around it,
// such as unshare), with its output.
type gear struct {
	t    *testing.T
	cmd  *exec.Cmd
	pid  int
	tag  string
	port int // 0: no port of its own to check after the end

	stdout, stderr *stream
	done           chan struct{} // closed when the process has been waited for
	ws             syscall.WaitStatus

	// seen are the processes of the gear observed while it ran (see
	// snapshot): each must be gone once it has stopped.
	seen map[int]proc
}

// runGearctl starts `gearctl --dir DIR run --port PORT args...` in the
// application directory app, with a fresh state directory and env added
// to the environment.
func runGearctl(t *testing.T, app string, port int, env []string, args ...string) *gear {
	t.Helper()
	argv := append([]string{gearctlBin, "--dir", tempDir(t), "run", "--port", strconv.Itoa(port)}, args...)
	return startGear(t, app, port, env, argv...)
}

// startGear starts argv in cwd, in a process group of its own (the cleanup
// kills that group by its PID), with env added to a clean copy of ours. Its
// stdout and stderr are read line by line.
func startGear(t *testing.T, cwd string, port int, env []string, argv ...string) *gear {
	t.Helper()
	g := &gear{
		t:      t,
		port:   port,
		tag:    fmt.Sprintf("%d-%d", os.Getpid(), rand.Uint64()),
		stdout: newStream("gearctl's stdout"),
		stderr: newStream("gearctl's stderr"),
		done:   make(chan struct{}),
		seen:   map[int]proc{},
	}
	g.cmd = exec.Command(argv[0], argv[1:]...)
	g.cmd.Dir = cwd
	g.cmd.Env = append(append(cleanEnv(), tagVar+"="+g.tag), env...)
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Plain pipes rather than cmd's copying goroutines: Wait must return
	// when gearctl exits even if a leftover process still held its output.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	g.cmd.Stdout, g.cmd.Stderr = outW, errW
	err = g.cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	g.pid = g.cmd.Process.Pid
	go g.stdout.feed(outR)
	go g.stderr.feed(errR)
	go func() {
		g.cmd.Wait()
		g.ws = g.cmd.ProcessState.Sys().(syscall.WaitStatus)
		close(g.done)
	}()
	t.Cleanup(func() {
		if !g.exited() {
			syscall.Kill(-g.pid, syscall.SIGKILL)
			<-g.done
		}
		// Servers are in groups of their own: whatever the gear left
		// behind is found by its tag.
		for _, pid := range tagged(g.tag) {
			killTagged(pid, g.tag)
		}
		outR.Close()
		errR.Close()
		if t.Failed() {
			t.Logf("gearctl stderr:\n%s", g.stderr.text())
			t.Logf("gearctl stdout (server output):\n%s", tail(g.stdout.text(), 60))
		}
	})
	return g
}

// cleanEnv is our environment without what would change gearctl's
// behaviour behind a test's back: its own and OpenShift's variables, a
// virtualenv, systemd's notify socket and socket activation.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GEARCTL_") || strings.HasPrefix(k, "OPENSHIFT_") ||
			strings.HasPrefix(k, "LISTEN_") || k == "NOTIFY_SOCKET" || k == "VIRTUAL_ENV" {
			continue
		}
		env = append(env, kv)
	}
	// A registry of the tests' own: none of their gears is the host's,
	// and none of the host's theirs.
	return append(env, "GEARCTL_REGISTRY="+filepath.Join(scratch, "registry"))
}

func tail(text string, n int) string {
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (g *gear) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// ready waits for "SERVER pid N listening on 127.0.0.1:PORT" and then "ready
// in X.XXs", and returns N, the server's master as gearctl reports it.
func (g *gear) ready(server string) int {
	g.t.Helper()
	m := g.stderr.expect(g.t, listeningRE)
	if m[1] != server || m[3] != strconv.Itoa(g.port) {
		g.t.Fatalf("gearctl says %q; want server %s on port %d", m[0], server, g.port)
	}
	g.stderr.expect(g.t, readyRE)
	pid, _ := strconv.Atoi(m[2])
	return pid
}

// signal sends sig to the process the test started, by its PID.
func (g *gear) signal(sig syscall.Signal) {
	g.t.Helper()
	if err := syscall.Kill(g.pid, sig); err != nil {
		g.t.Fatalf("kill %d %s: %v", g.pid, sig, err)
	}
}

// wait waits for the process to exit and returns its exit status (128+N
// when killed by signal N), once its output has been read to the end.
func (g *gear) wait() int {
	g.t.Helper()
	select {
	case <-g.done:
	case <-time.After(waitExit):
		g.t.Fatalf("gearctl pid %d still running after %s", g.pid, waitExit)
	}
	// gearctl's servers write into a pipe of its own, never into its
	// stdout or stderr: once it has exited, both end.
	if !g.stdout.waitEOF(5*time.Second) || !g.stderr.waitEOF(5*time.Second) {
		g.t.Errorf("gearctl's stdout or stderr still open after it exited: a process of the gear holds it")
	}
	if g.ws.Signaled() {
		return 128 + int(g.ws.Signal())
	}
	return g.ws.ExitStatus()
}

// stop sends sig and asserts the stop a user asked for: exit status 0 and
// nothing of the gear left.
func (g *gear) stop(sig syscall.Signal) {
	g.t.Helper()
	g.snapshot()
	g.signal(sig)
	if code := g.wait(); code != 0 {
		g.t.Errorf("gearctl exited %d after %s; want 0", code, sig)
	}
	// A graceful stop that had to be escalated cut whatever was in flight.
	if n := g.stderr.count(`did not stop within|killing`); n > 0 {
		g.t.Errorf("the graceful stop after %s ended in SIGKILL", sig)
	}
	g.assertNothingLeft()
}

// snapshot records the processes below the started process, to check
// later that each has gone.
func (g *gear) snapshot() {
	for _, p := range descendants(g.pid) {
		g.seen[p.pid] = p
	}
}

// assertNothingLeft fails for any process of the gear still there after it
// ended: one seen while it ran (same PID and start time, zombies included),
// one carrying its tag, or a listener on its port.
func (g *gear) assertNothingLeft() {
	g.t.Helper()
	var seen []proc
	for _, p := range g.seen {
		seen = append(seen, p)
	}
	reported := map[int]bool{}
	for _, p := range stillThere(seen) {
		reported[p.pid] = true
		g.t.Errorf("process of the gear left: pid %d state %c: %s", p.pid, p.state, cmdline(p.pid))
	}
	for _, pid := range tagged(g.tag) {
		if !reported[pid] {
			g.t.Errorf("process of the gear left: pid %d: %s", pid, cmdline(pid))
		}
	}
	if g.port != 0 {
		if c, err := net.DialTimeout("tcp", addr(g.port), 2*time.Second); err == nil {
			c.Close()
			g.t.Errorf("something still listens on %s", addr(g.port))
		}
	}
}

// get requests path on port with a fresh connection, as a user's client
// would, and returns status and body.
func get(port int, path string) (int, string, error) {
	client := &http.Client{
		Timeout:   waitLine,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	resp, err := client.Get("http://" + addr(port) + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// mustGet asserts that path answers 200 and returns the body.
func mustGet(t *testing.T, port int, path string) string {
	t.Helper()
	code, body, err := get(port, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %q; want 200", path, code, body)
	}
	return body
}

// helloPID is the PID the example application says answered.
func helloPID(t *testing.T, body string) int {
	t.Helper()
	m := helloRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("answer %q is not the example application's hello", body)
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}

// inflight is a request sent on a connection of its own, whose answer is
// read in the background.
type inflight struct {
	result chan inflightResult
}

type inflightResult struct {
	code int
	body string
	err  error
}

// startRequest sends GET path and returns once the server has accepted
// the connection, so that a signal sent next finds the request in the
// server, not in the kernel's backlog.
func startRequest(t *testing.T, port int, path string) *inflight {
	t.Helper()
	conn, err := net.Dial("tcp", addr(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitExit))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr(port)); err != nil {
		t.Fatal(err)
	}
	client := conn.LocalAddr().(*net.TCPAddr).Port
	if !eventually(waitLine, func() bool { return accepted(port, client) }) {
		t.Fatalf("the server did not accept the connection for GET %s", path)
	}
	r := &inflight{result: make(chan inflightResult, 1)}
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			r.result <- inflightResult{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.result <- inflightResult{code: resp.StatusCode, body: string(body), err: err}
	}()
	return r
}

// answer waits for the response.
func (r *inflight) answer(t *testing.T) inflightResult {
	t.Helper()
	select {
	case res := <-r.result:
		return res
	case <-time.After(waitExit):
		t.Fatal("no answer to the in-flight request")
		return inflightResult{}
	}
}

// accepted reports whether a server process has accepted the connection
// from client port to server port: /proc/net/tcp shows the server's side of
// a connection still in the accept queue with inode 0, since no socket
// file exists for it yet.
func accepted(port, client int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		if hexPort(f[1]) == port && hexPort(f[2]) == client {
			return f[9] != "0"
		}
	}
	return false
}

// hexPort is the port of a /proc/net/tcp address, "0100007F:1F90".
func hexPort(a string) int {
	_, h, _ := strings.Cut(a, ":")
	p, _ := strconv.ParseInt(h, 16, 32)
	return int(p)
}

// eventually polls cond until it holds or within passes.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
}

// lookExe finds an executable on PATH or in the sbin directories an
// unprivileged PATH may lack (apache2 lives there).
func lookExe(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New(name + " not found on PATH nor in sbin")
}
