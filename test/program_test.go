package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// seedAppPy is the app.py of OpenShift's python cartridge template: a
// program, which the cartridge ran as `python -u app.py`, that becomes bash
// running app.sh, which starts the real server.
const seedAppPy = `#!/usr/bin/env python
import os
virtenv = os.environ.get('OPENSHIFT_PYTHON_DIR', '.') + '/virtenv/'
os.execvp('bash', ['bash', 'app.sh'])
`

// TestProgramAppPy runs the seed's app.py → app.sh → gunicorn chain
// through `control`, with and without exec in app.sh: gearctl runs app.py
// as a program on the gear's address, status names the PID it spawned (the
// gunicorn master that PID became, or the bash waiting for gunicorn), the
// application answers, restart and reload replace the whole chain, and stop
// finishes the request in flight and leaves nothing.
func TestProgramAppPy(t *testing.T) {
	t.Parallel()
	_, err := lookExe("gunicorn")
	need(t, "gunicorn (Debian: apt-get install gunicorn)", err)
	for _, c := range []struct {
		name string
		// sh is app.sh; master, a substring of the command line of the
		// PID status names.
		sh, master string
	}{
		// The cartridge's variables, as the seed's app.sh used them.
		{"exec", "exec gunicorn --bind \"$OPENSHIFT_PYTHON_IP:$OPENSHIFT_PYTHON_PORT\" --workers 2 hello:application\n", "gunicorn"},
		// gearctl's own: only gearctl sets them (the gear's environment
		// has OpenShift's alone).
		{"no-exec", "gunicorn --bind \"$GEARCTL_HOST:$GEARCTL_PORT\" --workers 2 hello:application\n", "bash app.sh"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// The repository holds a wsgi.py too (newSimGear's): the
			// cartridge ran app.py whatever else was there.
			s := newSimGear(t, "auto", map[string]string{"app.py": seedAppPy, "app.sh": c.sh, "hello.py": helloSource})

			r := s.ctl(nil, "start").want(t, 0)
			r.has(t, `^CLIENT_RESULT: app\.py starts its own server at module level \(os\.execvp, line 4\): running it as a program with /\S+ -u app\.py$`)
			r.has(t, `^CLIENT_RESULT: program pid \d+ ready on 127\.0\.0\.1:`+strconv.Itoa(s.port))
			first := s.checkProgram(c.master)

			r = s.ctl(nil, "restart").want(t, 0)
			r.has(t, `^CLIENT_RESULT: restarted: `)
			second := s.checkProgram(c.master)
			if second.PID == first.PID {
				t.Errorf("restart kept pid %d", first.PID)
			}
			for _, pid := range first.pids() {
				if _, ok := readProc(pid); ok && !second.has(pid) {
					t.Errorf("process of the chain from before the restart left: pid %d: %s", pid, cmdline(pid))
				}
			}

			// No reload gearctl could trust (a HUP ends a bash that did
			// not exec): reload restarts it.
			r = s.ctl(nil, "reload").want(t, 0)
			r.has(t, `^CLIENT_RESULT: program has no graceful reload: restarting it instead$`)
			r.has(t, `^CLIENT_RESULT: restarted: program pid \d+`)
			third := s.checkProgram(c.master)

			// The stop reaches gunicorn even through a bash that did not
			// exec: the request in flight is finished, not cut.
			slow := startRequest(t, s.port, "/slow?s=1")
			r = s.ctl(nil, "stop").want(t, 0)
			r.has(t, `^CLIENT_RESULT: stopped program pid `+strconv.Itoa(third.PID)+`$`)
			if res := slow.answer(t); res.err != nil || res.code != 200 || !strings.HasPrefix(res.body, "slow done") {
				t.Errorf("the request in flight during the stop got %d %q %v; want 200 slow done", res.code, res.body, res.err)
			}
			s.assertStopped()
		})
	}
}

// programStatus is what status --json says of a program app.py.
type programStatus struct {
	State         string `json:"state"`
	Server        string `json:"server"`
	PID           int    `json:"pid"`
	SupervisorPID int    `json:"supervisor_pid"`
	Interpreter   string `json:"interpreter"`
	Processes     []struct {
		PID int `json:"pid"`
	} `json:"processes"`
}

func (st programStatus) pids() []int {
	var out []int
	for _, p := range st.Processes {
		out = append(out, p.PID)
	}
	return out
}

func (st programStatus) has(pid int) bool {
	for _, p := range st.Processes {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// checkProgram asserts that the gear is ready with app.py run as a
// program: status --json names the process the supervisor spawned, which
// runs master, gunicorn's workers below it answer, and gunicorn listens on
// the gear's port with the PID it says.
func (s *simGear) checkProgram(master string) programStatus {
	s.t.Helper()
	r := s.exec(nil, gearctlBin, "status", "--json").want(s.t, 0)
	checkStatusJSON(s.t, r.stdout)
	var st programStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		s.t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	if st.State != "ready" || st.Server != "program" {
		s.t.Fatalf("status --json: state %q server %q; want ready, program", st.State, st.Server)
	}
	if p, ok := readProc(st.PID); !ok || p.ppid != st.SupervisorPID {
		s.t.Errorf("status pid %d (parent %d); want the process supervisor pid %d spawned", st.PID, p.ppid, st.SupervisorPID)
	}
	if !regexp.MustCompile(`^/\S+ \(Python 3\.\d+\.\d+\) runs app\.py$`).MatchString(st.Interpreter) {
		s.t.Errorf("status --json: interpreter %q; want the Python that runs app.py", st.Interpreter)
	}
	if cl := cmdline(st.PID); !strings.Contains(cl, master) {
		s.t.Errorf("status pid %d runs %q; want %q", st.PID, cl, master)
	}
	answer := helloPID(s.t, mustGet(s.t, s.port, "/"))
	if !descendsFrom(answer, st.PID) {
		s.t.Errorf("pid %d answered, which is not below pid %d (%s)", answer, st.PID, cmdline(answer))
	}
	// gunicorn names its master: "Listening at: http://HOST:PORT (PID)";
	// the last such line of the log is this instance's.
	log, err := os.ReadFile(filepath.Join(s.logs, "server.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	ms := regexp.MustCompile(fmt.Sprintf(`Listening at: http://127\.0\.0\.1:%d \((\d+)\)`, s.port)).FindAllStringSubmatch(string(log), -1)
	if len(ms) == 0 {
		s.t.Fatalf("gunicorn did not say it listens on port %d:\n%s", s.port, log)
	}
	gunicorn, _ := strconv.Atoi(ms[len(ms)-1][1])
	if gunicorn != st.PID && !descendsFrom(gunicorn, st.PID) {
		s.t.Errorf("gunicorn's master is pid %d, neither status's pid %d nor below it", gunicorn, st.PID)
	}
	return st
}

// TestWSGIAppPyImported: an app.py that defines "application" and serves
// itself only under __main__ is a WSGI module: gearctl imports it under the
// server auto picks, and its own make_server never runs.
func TestWSGIAppPyImported(t *testing.T) {
	t.Parallel()
	src := helloSource + "\n\nif __name__ == '__main__':\n" +
		"    from wsgiref.simple_server import make_server\n" +
		"    make_server('127.0.0.1', 1, application).serve_forever()\n"
	app := appDir(t, map[string]string{"app.py": src})
	if err := os.Remove(filepath.Join(app, "wsgi.py")); err != nil {
		t.Fatal(err)
	}
	g := runGearctl(t, app, freePort(t), nil, "--stop-timeout", "10s")
	m := g.stderr.expect(t, listeningRE)
	if m[1] == "program" {
		t.Fatalf("gearctl runs the WSGI app.py as a program: %q", m[0])
	}
	g.stderr.expect(t, readyRE)
	pid, _ := strconv.Atoi(m[2])
	if answer := helloPID(t, mustGet(t, g.port, "/")); answer != pid && !descendsFrom(answer, pid) {
		t.Errorf("pid %d answered, which is not the %s master %d or below it", answer, m[1], pid)
	}
	g.stop(syscall.SIGTERM)
}
