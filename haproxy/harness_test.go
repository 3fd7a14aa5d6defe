package haproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/internal/testenv"
)

// haproxyBin is Debian 12's haproxy 2.6, the version the package's facts
// were measured on.
const haproxyBin = "/usr/sbin/haproxy"

// testHAProxy is a real haproxy child of the test, in the foreground (-db)
// so its PID is the process we started and the one we kill.
type testHAProxy struct {
	t        *testing.T
	dir      string
	cfg      string
	sock     string // admin unix socket
	operSock string // operator-level unix socket, for ErrPermission
	tcpAddr  string // admin TCP socket
	front    string // frontend address, default_backend express

	client *Client

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

// startHAProxy writes a haproxy.cfg in a temp dir and starts haproxy on it.
// extra is appended to the config (more backends). It skips the test when
// haproxy is not installed.
func startHAProxy(t *testing.T, extra string) *testHAProxy {
	t.Helper()
	return startHAProxyWith(t, func(h *testHAProxy) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
    stats socket %s level admin
    stats socket %s level operator

defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 1s

frontend fe
    bind %s
    default_backend express

backend express
    balance roundrobin
    option httpchk GET /
    http-check expect status 200-499
    retries 3
    option redispatch

backend classic
    balance static-rr
%s`, h.sock, h.tcpAddr, h.operSock, h.front, extra)
	})
}

// startHAProxyWith starts haproxy on the config config returns, given the
// sockets and ports chosen for this test.
func startHAProxyWith(t *testing.T, config func(h *testHAProxy) string) *testHAProxy {
	t.Helper()
	_, err := os.Stat(haproxyBin)
	testenv.Need(t, "haproxy 2.6 (Debian: apt-get install haproxy)", err)
	dir := t.TempDir()
	h := &testHAProxy{
		t:        t,
		dir:      dir,
		cfg:      filepath.Join(dir, "haproxy.cfg"),
		sock:     filepath.Join(dir, "admin.sock"),
		operSock: filepath.Join(dir, "oper.sock"),
		tcpAddr:  "127.0.0.1:" + strconv.Itoa(freePort(t)),
		front:    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		out:      &syncBuffer{},
	}
	if len(h.sock) > 100 {
		t.Fatalf("socket path %q too long for a unix socket; shorten the test name", h.sock)
	}
	cfg := config(h)
	if err := os.WriteFile(h.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New("unix:" + h.sock)
	if err != nil {
		t.Fatal(err)
	}
	h.client = c
	h.start()
	t.Cleanup(func() {
		h.kill(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("haproxy output:\n%s", h.out.String())
		}
	})
	return h
}

// start runs haproxy and waits until its admin socket answers.
func (h *testHAProxy) start() {
	h.t.Helper()
	cmd := exec.Command(haproxyBin, "-f", h.cfg, "-db")
	cmd.Stdout = h.out
	cmd.Stderr = h.out
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start haproxy: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	h.mu.Lock()
	h.cmd, h.exited = cmd, exited
	h.mu.Unlock()
	waitFor(h.t, 10*time.Second, "haproxy admin socket", func() (bool, string) {
		select {
		case <-exited:
			h.t.Fatalf("haproxy exited at start:\n%s", h.out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := h.client.ShowServersState(ctx, "express")
		return err == nil, fmt.Sprint(err)
	})
}

// kill signals the haproxy we started, by its PID, and waits for it.
func (h *testHAProxy) kill(sig syscall.Signal) {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = syscall.Kill(cmd.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// signal sends sig to the haproxy we started without waiting for it:
// SIGSTOP makes a haproxy that accepts connections and never answers.
func (h *testHAProxy) signal(sig syscall.Signal) {
	h.t.Helper()
	h.mu.Lock()
	cmd := h.cmd
	h.mu.Unlock()
	if err := syscall.Kill(cmd.Process.Pid, sig); err != nil {
		h.t.Fatalf("signal haproxy: %v", err)
	}
}

// restart kills haproxy the hard way and starts a new one on the same
// config and sockets: runtime servers are gone, as after a crash or reload.
func (h *testHAProxy) restart() {
	h.t.Helper()
	h.kill(syscall.SIGKILL)
	h.start()
}

func (h *testHAProxy) url(path string) string { return "http://" + h.front + path }

// testGear is the application behind haproxy: "/" answers 200 when healthy
// and 503 otherwise; "/slow" holds its request until release is closed.
// Every answer carries X-Gear so a test tells the gear from haproxy's own
// error pages.
type testGear struct {
	srv         *httptest.Server
	addr        string
	port        int
	healthy     atomic.Bool
	slowEntered chan struct{}
	release     chan struct{}
	slowDone    atomic.Bool
}

func startGear(t *testing.T) *testGear {
	t.Helper()
	g := &testGear{slowEntered: make(chan struct{}, 16), release: make(chan struct{})}
	g.healthy.Store(true)
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Gear", "yes")
		if r.URL.Path == "/slow" {
			g.slowEntered <- struct{}{}
			<-g.release
			io.WriteString(w, "slow done")
			g.slowDone.Store(true)
			return
		}
		if !g.healthy.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "hello from the gear")
	}))
	// A held /slow request must not keep Close waiting forever.
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
		g.srv.Close()
	})
	host, port, err := net.SplitHostPort(g.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	g.addr = host
	g.port, _ = strconv.Atoi(port)
	return g
}

// response is what a user of the frontend sees.
type response struct {
	status   int
	fromGear bool
	body     string
}

// get fetches through haproxy without keep-alive, so no idle connection
// outlives the request.
func get(url string) (response, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, fromGear: resp.Header.Get("X-Gear") == "yes", body: string(b)}, nil
}

// waitFor polls cond until it holds, failing the test with cond's last
// detail after timeout. The poll interval is short; the deadline is only a
// bound, never something a test asserts on.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	detail := ""
	for {
		var ok bool
		ok, detail = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testCtx is a context bounded well inside the package's time budget.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer collects haproxy's output from its pipe goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
