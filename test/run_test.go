package test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// server is one --server value under test.
type server struct {
	name string
	// exe must be installed for the server to be tested.
	exe string
	// venv, instead of exe, finds the virtualenv a pip-only server is
	// installed in, or stops the test; the server runs with --python VENV.
	venv func(*testing.T) string
	// args are the flags every run of the server gets (see need).
	args []string
	// master is a substring of the master's /proc/PID/cmdline.
	master string
	// workers: a worker process below the master answers requests; else
	// the master itself does (threads).
	workers bool
}

// need stops the test when s is not installed (it fails in CI), and
// returns s with the flags it runs with.
func (s server) need(t *testing.T) server {
	t.Helper()
	if s.venv != nil {
		s.args = []string{"--python", s.venv(t)}
		return s
	}
	_, err := lookExe(s.exe)
	need(t, s.exe, err)
	return s
}

var servers = []server{
	{name: "gunicorn", exe: "gunicorn", master: "gunicorn", workers: true},
	{name: "uwsgi", exe: "uwsgi", master: "uwsgi", workers: true},
	{name: "apache", exe: "apache2", master: "apache2", workers: true},
	{name: "wsgiref", exe: "python3", master: "wsgiref_runner.py"},
	// exec -a names the Apache parent "apache2 (mod_wsgi-express)".
	{name: "mod_wsgi-express", venv: needModWSGIExpress, master: "(mod_wsgi-express)", workers: true},
}

// TestRun runs the example application under each server with `gearctl
// run` and checks, each case on a gear of its own: serving, graceful stops
// with a request in flight, a killed master, a reload, and broken
// applications.
func TestRun(t *testing.T) {
	t.Parallel()
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s := s.need(t)
			cases := []struct {
				name string
				run  func(*testing.T, server)
			}{
				{"serve", testServe},
				{"sigterm-in-flight", func(t *testing.T, s server) { testGracefulStop(t, s, syscall.SIGTERM) }},
				{"sigint-in-flight", func(t *testing.T, s server) { testGracefulStop(t, s, syscall.SIGINT) }},
				{"sigterm-at-ready", testStopAtReady},
				{"sigkill-master", testKillMaster},
				{"sighup-reload", testReload},
				{"app-raises-at-import", func(t *testing.T, s server) {
					testBrokenApp(t, s, "raise RuntimeError('broken at import')\n", "broken at import")
				}},
				{"app-exits-at-import", func(t *testing.T, s server) {
					testBrokenApp(t, s, "import sys\nsys.exit(3)\n", "")
				}},
				{"app-file-missing", testMissingApp},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, s)
				})
			}
		})
	}
}

// startServing runs the application in app under s and waits until
// gearctl says it is ready; it returns the gear and the master's PID. The
// stop timeout is well above the slowest request the tests make, and low
// enough that a stop that hangs costs the suite little.
func startServing(t *testing.T, s server, app string, args ...string) (*gear, int) {
	t.Helper()
	args = append(append([]string{"--server", s.name, "--stop-timeout", "10s"}, s.args...), args...)
	g := runGearctl(t, app, freePort(t), nil, args...)
	return g, g.ready(s.name)
}

// checkMaster asserts that pid is the server's master, a child of gearctl,
// and that a request is answered by it or, for servers with workers, by a
// process below it.
func checkMaster(t *testing.T, g *gear, s server, pid int) {
	t.Helper()
	p, ok := readProc(pid)
	if !ok {
		t.Fatalf("reported pid %d does not exist", pid)
	}
	if cl := cmdline(pid); !strings.Contains(cl, s.master) {
		t.Errorf("reported pid %d runs %q; want the %s master (%q)", pid, cl, s.name, s.master)
	}
	if p.ppid != g.pid {
		t.Errorf("reported pid %d has parent %d; want gearctl, pid %d", pid, p.ppid, g.pid)
	}
	answer := helloPID(t, mustGet(t, g.port, "/"))
	switch {
	case s.workers && !descendsFrom(answer, pid):
		t.Errorf("pid %d answered, which is not below the master %d (%s)", answer, pid, cmdline(answer))
	case !s.workers && answer != pid:
		t.Errorf("pid %d answered; want the master %d", answer, pid)
	}
}

func testServe(t *testing.T, s server) {
	g, pid := startServing(t, s, appDir(t, nil))
	checkMaster(t, g, s, pid)
	g.stop(syscall.SIGTERM)
}

// testGracefulStop stops the gear with sig while a slow request is in the
// server: the request completes, gearctl exits 0, nothing is left.
func testGracefulStop(t *testing.T, s server, sig syscall.Signal) {
	g, _ := startServing(t, s, appDir(t, nil))
	req := startRequest(t, g.port, "/slow?s=2")
	g.stop(sig)
	res := req.answer(t)
	if res.err != nil || res.code != 200 || !strings.HasPrefix(res.body, "slow done") {
		t.Errorf("in-flight GET /slow after %s: %d %q %v; want 200 \"slow done\"", sig, res.code, res.body, res.err)
	}
}

// testStopAtReady stops the gear the moment it says ready, with many
// workers, a few times over: workers still starting must stop as
// gracefully as those that have served.
func testStopAtReady(t *testing.T, s server) {
	for range 3 {
		g, _ := startServing(t, s, appDir(t, nil), "--workers", "8")
		g.stop(syscall.SIGTERM)
		if t.Failed() {
			return
		}
	}
}

// testKillMaster SIGKILLs the master: gearctl reports the death, starts a
// new master, which serves, and leaves nothing of the old one (Apache's
// children would go on serving).
func testKillMaster(t *testing.T, s server) {
	g, pid := startServing(t, s, appDir(t, nil))
	mustGet(t, g.port, "/")
	old := append(descendants(pid), mustProc(t, pid))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	g.stderr.expect(t, fmt.Sprintf(`pid %d killed by signal SIGKILL.*; restarting`, pid))
	next := g.ready(s.name)
	if next == pid {
		t.Fatalf("restarted master has the old pid %d", pid)
	}
	checkMaster(t, g, s, next)
	for _, p := range stillThere(old) {
		t.Errorf("process of the killed master left: pid %d state %c: %s", p.pid, p.state, cmdline(p.pid))
	}
	g.stop(syscall.SIGTERM)
}

// testReload changes the application's code and sends SIGHUP: the master
// keeps its PID, the old workers go, the new code answers.
func testReload(t *testing.T, s server) {
	app := appDir(t, nil)
	g, pid := startServing(t, s, app)
	before := mustProc(t, pid)
	workers := descendants(pid)

	code := strings.Replace(helloSource, `"hello from pid`, `"hello again from pid`, 1)
	if code == helloSource {
		t.Fatal(`examples/hello/wsgi.py no longer says "hello from pid"`)
	}
	writeFile(t, filepath.Join(app, "wsgi.py"), code)
	g.signal(syscall.SIGHUP)
	g.stderr.expect(t, fmt.Sprintf(logRE+`reloading %s pid %d$`, regexp.QuoteMeta(s.name), pid))
	g.stderr.expect(t, readyRE)

	if n := g.stderr.count(listeningRE); n != 1 {
		t.Errorf("%d servers started; a reload must keep the master", n)
	}
	if after, ok := readProc(pid); !ok || after.start != before.start {
		t.Fatalf("master pid %d did not survive the reload", pid)
	}
	body := mustGet(t, g.port, "/")
	if !strings.HasPrefix(body, "hello again") {
		t.Errorf("after the reload GET / says %q; want the new code's \"hello again\"", body)
	}
	checkMaster(t, g, s, pid)
	// gearctl says ready only once every worker that was there before has
	// exited; its parent may still have to reap it.
	if !eventually(waitLine, func() bool { return len(stillThere(workers)) == 0 }) {
		for _, p := range stillThere(workers) {
			t.Errorf("worker from before the reload left: pid %d state %c: %s", p.pid, p.state, cmdline(p.pid))
		}
	}
	g.stop(syscall.SIGTERM)
}

// testBrokenApp runs an application that cannot be imported: gearctl must
// give up after its start timeout (plus the stop timeout), exit non-zero,
// name the cause (and say, when the server printed it, the application's
// own error, marker), never claim it was ready, and leave nothing.
func testBrokenApp(t *testing.T, s server, source, marker string) {
	app := appDir(t, map[string]string{"broken.py": source})
	g := runGearctl(t, app, freePort(t), nil, append([]string{"--server", s.name, "--app", "broken.py",
		"--start-timeout", "5s", "--stop-timeout", "10s"}, s.args...)...)
	code := g.wait()
	stderr := g.stderr.text()
	if code == 0 {
		t.Errorf("gearctl exited 0 for an application that cannot be imported")
	}
	if !regexp.MustCompile(`exit status \d+|killed by signal|not ready within`).MatchString(stderr) {
		t.Errorf("stderr does not name the cause (an exit status or \"not ready within\")")
	}
	if marker != "" && !strings.Contains(stderr, marker) {
		t.Errorf("stderr does not show the application's error %q", marker)
	}
	if g.stderr.count(readyRE) > 0 {
		t.Errorf("gearctl said ready for an application that cannot be imported")
	}
	g.assertNothingLeft()
}

// testMissingApp names a file that does not exist: bad input.
func testMissingApp(t *testing.T, s server) {
	g := runGearctl(t, appDir(t, nil), freePort(t), nil, append([]string{"--server", s.name, "--app", "missing.py",
		"--start-timeout", "5s"}, s.args...)...)
	assertBadInput(t, g, []string{"--app", "missing.py", "FILE.py"}, nil)
}

func mustProc(t *testing.T, pid int) proc {
	t.Helper()
	p, ok := readProc(pid)
	if !ok {
		t.Fatalf("pid %d does not exist", pid)
	}
	return p
}

// TestExecChain runs the chain people wrote around servers, app.py exec'ing
// bash exec'ing gunicorn: the PID gearctl reports is the gunicorn master
// that PID became, it serves, and a stop leaves nothing.
func TestExecChain(t *testing.T) {
	t.Parallel()
	_, err := lookExe("gunicorn")
	need(t, "gunicorn", err)
	app := appDir(t, map[string]string{
		"app.py": "import os, sys\n" +
			"# Become bash, which becomes gunicorn: the PID stays the same.\n" +
			"os.execl('/bin/bash', 'bash', 'app.sh', sys.argv[1], sys.argv[2])\n",
		"app.sh": "exec gunicorn -b \"$1:$2\" --workers 2 wsgi:application\n",
	})
	g := runGearctl(t, app, freePort(t), nil, "--command", "python3 app.py {host} {port}")
	pid := g.ready("command")
	// gunicorn names its own PID: "Listening at: http://HOST:PORT (PID)".
	m := g.stdout.expect(t, fmt.Sprintf(`Listening at: http://127\.0\.0\.1:%d \((\d+)\)`, g.port))
	if m[1] != strconv.Itoa(pid) {
		t.Errorf("gearctl reports pid %d; gunicorn's master is %s", pid, m[1])
	}
	checkMaster(t, g, server{name: "command", master: "gunicorn", workers: true}, pid)
	// gunicorn loses a TERM that reaches a worker before the worker has
	// set its own handlers, and then waits its whole graceful timeout for
	// it. gearctl covers that for --server gunicorn (Signals.Worker), not
	// for a --command it cannot know is gunicorn: stop once both workers
	// have booted.
	g.stdout.expect(t, `Booting worker with pid`)
	g.stdout.expect(t, `Booting worker with pid`)
	g.stop(syscall.SIGTERM)
}
