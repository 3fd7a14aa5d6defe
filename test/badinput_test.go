package test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestBadInput gives gearctl input it must refuse before starting
// anything: one line on stderr naming the flag or variable and what is
// accepted, exit status 2, no stack trace, no process, no listener.
func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  []string
		// args follow "gearctl --dir DIR"; "PORT" becomes a free port,
		// which is then checked to have no listener.
		args []string
		// want are substrings of the one line; reject must not appear.
		want, reject []string
	}{
		{name: "unknown verb", args: []string{"frobnicate"},
			want: []string{"frobnicate", "accepted", "run"}},
		{name: "unknown flag", args: []string{"run", "--port", "PORT", "--frobnicate"},
			want: []string{"frobnicate", "--help"}},
		{name: "port 0", args: []string{"run", "--port", "0"},
			want: []string{"--port", "1 to 65535"}},
		{name: "port abc", args: []string{"run", "--port", "abc"},
			want: []string{"--port", "abc", "1 to 65535"}},
		{name: "workers 0", args: []string{"run", "--port", "PORT", "--workers", "0"},
			want: []string{"--workers", "1 to 1024"}},
		{name: "unknown server", args: []string{"run", "--port", "PORT", "--server", "nosuch"},
			want:   []string{"--server", "nosuch", "gunicorn", "uwsgi", "apache", "wsgiref"},
			reject: []string{"auto, auto"}},
		{name: "missing app file", args: []string{"run", "--port", "PORT", "--app", "missing.py"},
			want: []string{"--app", "missing.py", "FILE.py"}},
		{name: "GEARCTL_PORT abc", env: []string{"GEARCTL_PORT=abc"}, args: []string{"run"},
			want: []string{"GEARCTL_PORT", "abc", "1 to 65535"}},
		{name: "ready path without slash", args: []string{"run", "--port", "PORT", "--ready-path", "foo"},
			want: []string{"--ready-path", "foo", "/"}},
		{name: "haproxy port out of range", args: []string{"start", "--port", "PORT", "--haproxy", "127.0.0.1:99999"},
			want: []string{"--haproxy", "127.0.0.1:99999", "1-65535"}},
		{name: "haproxy relative unix path", args: []string{"start", "--port", "PORT", "--haproxy", "unix:admin.sock"},
			want: []string{"--haproxy", "unix:admin.sock", "not absolute", "unix:/path/to/admin.sock"}},
		{name: "haproxy unknown scheme", args: []string{"start", "--port", "PORT", "--haproxy", "tcp://127.0.0.1:9999"},
			want: []string{"--haproxy", "unknown scheme", "host:port"}},
		{name: "GEARCTL_HAPROXY port out of range", env: []string{"GEARCTL_HAPROXY=127.0.0.1:99999"}, args: []string{"run", "--port", "PORT"},
			want: []string{"--haproxy", "127.0.0.1:99999", "1-65535"}},
		{name: "agent port 70000", args: []string{"start", "--port", "PORT", "--agent-port", "70000"},
			want: []string{"--agent-port", "70000", "1 to 65535"}},
		{name: "agent port 0", args: []string{"start", "--port", "PORT", "--agent-port", "0"},
			want: []string{"--agent-port", "1 to 65535"}},
		{name: "agent port negative", args: []string{"run", "--port", "PORT", "--agent-port", "-1"},
			want: []string{"--agent-port", "-1", "1 to 65535"}},
		{name: "host with port", args: []string{"start", "--port", "PORT", "--host", "127.0.0.1:80"},
			want: []string{"--host", "127.0.0.1:80", "without a port", "--port"}, reject: []string{"no such host"}},
		{name: "host not a name", args: []string{"run", "--port", "PORT", "--host", "a b"},
			want: []string{"--host", "IP address or host name"}},
		{name: "ready path bad escape", args: []string{"start", "--port", "PORT", "--ready-path", "/%zz"},
			want: []string{"--ready-path", "/%zz", "%XX"}},
		{name: "start timeout overflow", args: []string{"start", "--port", "PORT", "--start-timeout", "2000000h"},
			want: []string{"--start-timeout", "24h"}},
		{name: "stop timeout overflow", args: []string{"run", "--port", "PORT", "--stop-timeout", "2000000h"},
			want: []string{"--stop-timeout", "24h"}},
		{name: "haproxy server name", args: []string{"start", "--port", "PORT", "--haproxy", "unix:/nonexistent/admin.sock", "--haproxy-server", "g1;x"},
			want: []string{"--haproxy-server", "g1;x", "letters, digits"}},
		{name: "haproxy backend name", args: []string{"start", "--port", "PORT", "--haproxy", "unix:/nonexistent/admin.sock", "--haproxy-backend", "a b"},
			want: []string{"--haproxy-backend", "a b", "letters, digits"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			port := 0
			args := []string{gearctlBin, "--dir", tempDir(t)}
			for _, a := range c.args {
				if a == "PORT" {
					port = freePort(t)
					a = strconv.Itoa(port)
				}
				args = append(args, a)
			}
			g := startGear(t, appDir(t, nil), port, c.env, args...)
			assertBadInput(t, g, c.want, c.reject)
		})
	}
}

// assertBadInput waits for g to refuse its input: exit status 2, exactly
// one line on stderr with every want and no reject in it, nothing on
// stdout, no stack trace, nothing started.
func assertBadInput(t *testing.T, g *gear, want, reject []string) {
	t.Helper()
	code := g.wait()
	stderr := strings.TrimSuffix(g.stderr.text(), "\n")
	if code != 2 {
		t.Errorf("exit status %d; want 2", code)
	}
	if n := strings.Count(stderr, "\n") + 1; stderr == "" || n != 1 {
		t.Errorf("stderr has %d lines; want exactly one:\n%s", n, stderr)
	}
	if out := g.stdout.text(); out != "" {
		t.Errorf("stdout not empty:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not say %q", stderr, w)
		}
	}
	for _, r := range append(reject, "goroutine ", "panic", ".go:") {
		if strings.Contains(stderr, r) {
			t.Errorf("stderr %q contains %q", stderr, r)
		}
	}
	g.assertNothingLeft()
}

// TestPortInUse starts each server on a port another program already
// serves: gearctl must say the address is in use and exit non-zero, not
// take the other program's answers for its server's.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s := s.need(t)
			// Someone else's server, answering 200 to everything.
			port := freePort(t)
			l, err := net.Listen("tcp", addr(port))
			if err != nil {
				t.Fatal(err)
			}
			other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Write([]byte("someone else\n"))
			})}
			go other.Serve(l)
			t.Cleanup(func() { other.Close() })

			argv := append([]string{gearctlBin, "--dir", tempDir(t), "run", "--port", strconv.Itoa(port),
				"--server", s.name, "--start-timeout", "5s", "--stop-timeout", "5s"}, s.args...)
			// Port 0 for the gear: the port is the other program's.
			g := startGear(t, appDir(t, nil), 0, nil, argv...)
			// A gear that says ready here may restart its server in a loop
			// for as long as it runs: stop at the first ready.
			eventually(waitExit, func() bool { return g.exited() || g.stderr.count(readyRE) > 0 })
			if g.stderr.count(readyRE) > 0 {
				t.Fatalf("gearctl said ready: it took the other program's answers for its server's")
			}
			if code := g.wait(); code == 0 {
				t.Errorf("gearctl exited 0 on a port in use")
			}
			if !strings.Contains(g.stderr.text(), "address already in use") {
				t.Errorf("stderr does not say the address is in use")
			}
			g.assertNothingLeft()
			if body := mustGet(t, port, "/"); body != "someone else\n" {
				t.Errorf("the other program's port answers %q", body)
			}
		})
	}
}

// TestBadInputRunningGear gives a running gear's restart and start the
// bad values above: each is refused with exit 2 and one line, and the
// running server keeps its PID and goes on answering.
func TestBadInputRunningGear(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	pid, _ := b.start("wsgiref")
	for _, args := range [][]string{
		{"restart", "--host", "127.0.0.1:80"},
		{"restart", "--ready-path", "/%zz"},
		{"restart", "--start-timeout", "2000000h"},
		{"restart", "--stop-timeout", "2000000h"},
		{"start", "--port", strconv.Itoa(b.port), "--haproxy", "127.0.0.1:99999"},
		{"start", "--port", strconv.Itoa(b.port), "--agent-port", "70000"},
		{"start", "--port", strconv.Itoa(b.port), "--haproxy", "unix:/nonexistent/admin.sock", "--haproxy-server", "g1;x"},
	} {
		r := b.do(args...).want(t, 2)
		if stderr := strings.TrimSuffix(r.stderr, "\n"); stderr == "" || strings.Contains(stderr, "\n") {
			t.Errorf("%v: stderr is not one line:\n%s", args, r.stderr)
		}
		if st := b.ready("wsgiref"); st.PID != pid {
			t.Fatalf("after %v the server is pid %d; want %d untouched", args, st.PID, pid)
		}
	}
	mustGet(t, b.port, "/")
	b.stop()
}
