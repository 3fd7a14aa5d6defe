package test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gearctl/gearctl/haproxy"
)

// TestHAProxyHandsOverApache restarts an Apache gear registered with a real
// haproxy under load through haproxy: Apache cannot take over a listening
// socket, so each restart starts the new Apache on another port, haproxy
// takes it in, and only then is the old one drained and stopped. No
// request through haproxy may fail, across Apache → Apache and Apache →
// gunicorn.
func TestHAProxyHandsOverApache(t *testing.T) {
	t.Parallel()
	_, err := lookExe("haproxy")
	need(t, "haproxy", err)
	_, err = lookExe("apache2")
	need(t, "apache2", err)
	b := newBGGear(t, nil)
	sock := handOverThroughHAProxy(t, b, []string{"apache"}, "apache", "apache", "gunicorn")
	b.stop().want(t, 0)
	b.assertNothingLeft()
	c, err := haproxy.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	servers, err := c.ShowServersState(ctx, "express")
	if err != nil || len(servers) != 0 {
		t.Errorf("haproxy after the stop: %d servers (%v); want none", len(servers), err)
	}
}

// startLoopbackHAProxy runs haproxy with examples/haproxy/haproxy.cfg, its
// admin socket and frontend moved to a temporary socket and a free
// loopback port; it returns both, and the haproxy process.
func startLoopbackHAProxy(t *testing.T) (sock string, front int, h *gear) {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "examples", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := tempDir(t)
	sock, front = filepath.Join(dir, "admin.sock"), freePort(t)
	cfg := string(example)
	for _, r := range []struct{ from, to string }{
		{"stats socket /run/haproxy/admin.sock", "stats socket " + sock},
		{"stats socket 127.0.0.1:9999", "stats socket 127.0.0.1:" + strconv.Itoa(freePort(t))},
		{"bind :80", "bind 127.0.0.1:" + strconv.Itoa(front)},
	} {
		if !strings.Contains(cfg, r.from) {
			t.Fatalf("examples/haproxy/haproxy.cfg has no %q to move", r.from)
		}
		cfg = strings.Replace(cfg, r.from, r.to, 1)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	writeFile(t, path, cfg)
	exe, _ := lookExe("haproxy")
	h = startGear(t, dir, 0, nil, exe, "-f", path, "-db")
	c, err := haproxy.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(waitLine, func() bool {
		if h.exited() {
			t.Fatalf("haproxy exited at start:\n%s", h.stderr.text())
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.ShowServersState(ctx, "express")
		return err == nil
	}) {
		t.Fatalf("haproxy's admin socket %s did not answer", sock)
	}
	return sock, front, h
}

// handOverThroughHAProxy starts b with start's args, registered with a
// real haproxy, then restarts it onto each of servers under load through
// haproxy: not one request may fail, and each restart must have started
// the new instance beside the old one. The gear must end up on a port of
// its own, not its home port. It returns haproxy's admin socket.
func handOverThroughHAProxy(t *testing.T, b *bgGear, start []string, servers ...string) string {
	t.Helper()
	sock, front, _ := startLoopbackHAProxy(t)
	b.start(start[0], append(start[1:], "--haproxy", "unix:"+sock, "--haproxy-server", "g1")...)
	if !eventually(waitLine, func() bool {
		code, _, err := get(front, "/")
		return err == nil && code == 200
	}) {
		t.Fatal("haproxy never routed a request to the gear")
	}
	l := startLoad(t, front, 4)
	for _, server := range servers {
		l.advance(t, 20)
		b.do("restart", "--server", server).want(t, 0).has(t, `restarted: `+server+` pid \d+ ready on 127\.0\.0\.1:\d+, GET / answered 200 OK; the new instance started on .* beside the old one`)
	}
	l.advance(t, 20)
	l.finish(t)
	last := servers[len(servers)-1]
	if st := b.ready(last); st.Listen == addr(b.port) {
		t.Errorf("after the restarts %s listens on %s; want a port of its own", last, st.Listen)
	}
	return sock
}
