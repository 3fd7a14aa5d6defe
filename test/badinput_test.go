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
