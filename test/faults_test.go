package test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// The fault and abuse suite: each test does to a gear what goes wrong in
// production, and checks what README.md's "Faults" table promises.

// masterKills is how many times TestFaultMasterKilled kills the master.
const masterKills = 100

// runInForeground starts `gearctl run` for b in the foreground, with gunicorn and
// one worker, and waits until it is ready; it returns the gear and the
// master's PID.
func (b *bgGear) runInForeground(args ...string) (*gear, int) {
	b.t.Helper()
	g := b.spawn(nil, append([]string{"run", "--port", strconv.Itoa(b.port), "--server", "gunicorn",
		"--workers", "1", "--stop-timeout", "10s"}, args...)...)
	g.port = b.port
	return g, g.ready("gunicorn")
}

// TestFaultMasterKilled SIGKILLs the server's master again and again, each
// time once it has been ready for longer than readyUptime: every kill is a
// crash that is restarted at once, never a failed start. After them all,
// no zombie and nothing of an old master is left, status counts every
// restart, and the supervisor holds as many fds as before the first kill
// and as many goroutines as a supervisor that never saw a crash.
func TestFaultMasterKilled(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	g, pid := b.runInForeground()
	sup := g.pid
	b.waitReadyFor(readyUptime)
	fds0, threads0 := openFDs(t, sup), threadCount(t, sup)

	for i := range masterKills {
		st := b.waitReadyFor(readyUptime)
		if st.PID != pid || st.Restarts != i {
			t.Fatalf("kill %d: status says pid %d, %d restarts; want pid %d, %d restarts", i+1, st.PID, st.Restarts, pid, i)
		}
		old := append(descendants(pid), mustProc(t, pid))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// The line of a crash; one within readyUptime would say so and wait.
		g.stderr.expect(t, fmt.Sprintf(logRE+`warn: gunicorn pid %d killed by signal SIGKILL; restarting$`, pid))
		next := g.ready("gunicorn")
		if next == pid {
			t.Fatalf("kill %d: the new master has the old pid %d", i+1, pid)
		}
		// The old master's worker, re-parented to the supervisor, is
		// killed and reaped: nothing of the old instance, no zombie.
		if !eventually(waitLine, func() bool { return len(stillThere(old)) == 0 }) {
			for _, p := range stillThere(old) {
				t.Errorf("kill %d: process of the killed master left: pid %d state %c: %s", i+1, p.pid, p.state, cmdline(p.pid))
			}
			t.FailNow()
		}
		pid = next
	}

	st := b.waitReadyFor(readyUptime)
	if st.Restarts != masterKills || st.PID != pid {
		t.Errorf("status: %d restarts, pid %d; want %d, pid %d", st.Restarts, st.PID, masterKills, pid)
	}
	mustGet(t, b.port, "/")
	for _, p := range descendants(sup) {
		if p.state == 'Z' {
			t.Errorf("zombie below the supervisor: pid %d", p.pid)
		}
	}
	// The runtime keeps the threads it made, so they are reported, not
	// compared; fds and goroutines must be back where they were.
	var fds []string
	if !eventually(waitLine, func() bool {
		fds = openFDs(t, sup)
		return len(extraFDs(fds0, fds)) == 0
	}) {
		t.Errorf("after %d kills the supervisor holds %d fds, %d before; more: %v", masterKills, len(fds), len(fds0), extraFDs(fds0, fds))
	}
	t.Logf("supervisor pid %d: %d fds, %d threads before the kills; %d fds, %d threads after",
		sup, len(fds0), threads0, len(fds), threadCount(t, sup))

	// Goroutines, which /proc does not count: the supervisor's dump on
	// SIGQUIT against that of a supervisor that never saw a crash, each
	// idle and ready.
	killed := goroutines(t, sup, g.done, g.stderr)
	fresh := newBGGear(t, nil)
	rg, _ := fresh.runInForeground()
	fresh.waitReadyFor(readyUptime)
	want := goroutines(t, rg.pid, rg.done, rg.stderr)
	t.Logf("goroutines: %d after %d kills, %d in a fresh supervisor", sumCounts(killed), masterKills, sumCounts(want))
	if sumCounts(killed) == 0 || sumCounts(want) == 0 {
		t.Errorf("no goroutine found in the dumps")
	}
	for creator, n := range killed {
		if n > want[creator] {
			t.Errorf("after %d kills the supervisor runs %d goroutines created by %s; a fresh one %d", masterKills, n, creator, want[creator])
		}
	}
	// Both servers now run without their supervisor: stop stops them.
	b.do("stop").want(t, 0)
	b.assertNothingLeft()
	fresh.do("stop").want(t, 0)
	fresh.assertNothingLeft()
}

// gatedApp is the example application behind a gate: importing it blocks
// until the file "gate" exists in its directory, so that a test holds a
// server in the middle of its start for as long as it needs.
const gatedApp = `import os, time
gate = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gate")
while not os.path.exists(gate):
    time.sleep(0.01)
from wsgi import application
`

// TestFaultSupervisorKilled SIGKILLs the background supervisor while the
// gear is idle, while its server is starting and while a restart has a
// second server starting beside the first; then the next command, start
// or stop, must find what was left: start adopts the one server (never a
// second one, never a port conflict), stop ends every process of the gear.
func TestFaultSupervisorKilled(t *testing.T) {
	t.Parallel()
	for _, phase := range []string{"idle", "starting", "restarting"} {
		for _, next := range []string{"start", "stop"} {
			t.Run(phase+"-then-"+next, func(t *testing.T) {
				t.Parallel()
				testSupervisorKilled(t, phase, next)
			})
		}
	}
}

func testSupervisorKilled(t *testing.T, phase, next string) {
	b := newBGGear(t, map[string]string{"gated.py": gatedApp})
	gate := filepath.Join(b.app, "gate")
	open := func() { writeFile(t, gate, "") }
	shut := func() {
		if err := os.Remove(gate); err != nil {
			t.Fatal(err)
		}
	}
	flags := []string{"--port", strconv.Itoa(b.port), "--server", "gunicorn", "--workers", "1",
		"--app", "gated.py", "--stop-timeout", "10s"}
	start := append([]string{"start"}, flags...)

	// interrupted is the command the kill cuts short, if any.
	var interrupted *gear
	var master int
	switch phase {
	case "idle":
		open()
		master, _ = b.start("gunicorn", flags[4:]...)
	case "starting":
		interrupted = b.spawn(nil, start...)
		master = b.pollStatus("starting, with a server", func(st gearStatus) bool {
			return st.State == "starting" && st.PID != 0
		}).PID
	case "restarting":
		open()
		master, _ = b.start("gunicorn", flags[4:]...)
		shut()
		interrupted = b.spawn(nil, "restart")
		b.pollStatus("restarting, with a second server", func(st gearStatus) bool {
			_, masters, _ := b.tree()
			return st.State == "restarting" && len(masters) == 2
		})
	}
	st, _ := b.status()
	if err := syscall.Kill(st.SupervisorPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(waitLine, func() bool { return !isGearctl(st.SupervisorPID) }) {
		t.Fatalf("supervisor pid %d still runs after SIGKILL", st.SupervisorPID)
	}
	if interrupted != nil {
		if code := interrupted.wait(); code != 1 {
			t.Errorf("the %s cut short by the kill exited %d; want 1", phase, code)
		}
	}
	if st, code := b.status(); code != 1 || st.State != "unsupervised" || st.PID != master {
		t.Errorf("status after the kill: exit %d, state %q, pid %d; want 1, unsupervised, pid %d", code, st.State, st.PID, master)
	}
	open()

	switch next {
	case "start":
		r := b.do(start...).want(t, 0)
		m := r.has(t, startedRE)
		if m[2] != strconv.Itoa(master) {
			t.Errorf("start says %q; want it to adopt pid %d", m[0], master)
		}
		sup, _ := strconv.Atoi(m[4])
		b.assertOne(sup, master)
		if answer := helloPID(t, mustGet(t, b.port, "/")); !descendsFrom(answer, master) {
			t.Errorf("pid %d answered, which is not below the adopted master %d: %s", answer, master, cmdline(answer))
		}
		if log := b.serverLogText(); strings.Contains(log, "address already in use") {
			t.Errorf("server.log reports a port conflict:\n%s", tail(log, 20))
		}
		b.stop()
	case "stop":
		b.stop()
	}
}

// pidReuseTrials is how many forged pidfiles TestFaultPIDReuse tries.
const pidReuseTrials = 100

// TestFaultPIDReuse leaves the gear's server pidfile naming a live process
// of the same user that is not the server: the PID a dead server had, now
// reused. Status must call the pidfile stale and stop must signal nothing,
// whichever way the record and the live process differ; a start then
// starts a server of its own.
func TestFaultPIDReuse(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	flags := []string{"--workers", "1"}
	b.start("gunicorn", flags...)
	pidPath, specPath := filepath.Join(b.dir, "server.pid"), filepath.Join(b.dir, "server.json")
	dead, err := pidfile.Read(pidPath)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	b.stop()

	// Another boot's id: the same PID at the same tick is another
	// process after a reboot.
	otherBoot := []byte(dead.BootID)
	otherBoot[0] = "0123456789abcdef"[(strings.IndexByte("0123456789abcdef", otherBoot[0])+1)%16]
	victims := []*bystander{startBystander(t), startBystander(t)}
	// forge leaves a pidfile for the live process p, recorded as variant
	// says the process behind the PID differs.
	forge := func(p proc, variant int) pidfile.Record {
		rec := dead
		rec.PID = p.pid
		switch variant % 3 {
		case 0: // the dead server's start: the PID was reused
		case 1: // started one tick after the live one
			rec.StartTicks = p.start + 1
		case 2: // the live one's very tick, in another boot
			rec.StartTicks, rec.BootID = p.start, string(otherBoot)
		}
		if err := pidfile.WriteRecord(pidPath, rec); err != nil {
			t.Fatal(err)
		}
		writeFile(t, specPath, string(spec))
		return rec
	}
	checkVictims := func(after string) {
		t.Helper()
		for _, v := range victims {
			v.assertUntouched(t, after)
		}
	}

	for i := range pidReuseTrials {
		v := victims[i%2]
		p := v.leader
		if i%4 >= 2 {
			p = v.child
		}
		rec := forge(p, i)
		st, code := b.status()
		if code != 3 || st.State != "stopped" || !strings.Contains(st.Detail, "stale") {
			t.Fatalf("trial %d, %+v: status exit %d, state %q, detail %q; want 3, stopped, stale", i+1, rec, code, st.State, st.Detail)
		}
		r := b.do("stop").want(t, 0)
		if !strings.Contains(r.stdout, "nothing was signalled") {
			t.Fatalf("trial %d, %+v: stop says %q; want that nothing was signalled", i+1, rec, r.stdout)
		}
		checkVictims(fmt.Sprintf("trial %d, stop with %+v", i+1, rec))
	}

	// A start goes past the stale pidfile to a server of its own.
	forge(victims[0].leader, 0)
	pid, _ := b.start("gunicorn", flags...)
	if pid == victims[0].leader.pid {
		t.Fatalf("start reports the bystander's pid %d as its server", pid)
	}
	checkVictims("start over a stale pidfile")
	b.stop()
	checkVictims("stop")
}

// concurrentRounds of concurrentCommands commands each.
const concurrentRounds, concurrentCommands = 5, 20

// TestFaultConcurrentCommands runs twenty start, restart and stop commands
// on one gear at once, five rounds over: none may hang or crash, and
// each round must leave the gear consistent — one supervisor and one
// server master, the ones status names, answering; or nothing at all.
func TestFaultConcurrentCommands(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	flags := []string{"--port", strconv.Itoa(b.port), "--server", "gunicorn", "--workers", "1", "--stop-timeout", "10s"}
	verbs := [][]string{append([]string{"start"}, flags...), append([]string{"restart"}, flags...), {"stop"}}
	for round := range concurrentRounds {
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		var cmds []*gear
		var names []string
		for i := range concurrentCommands {
			v := verbs[(i+round)%len(verbs)]
			if rng.IntN(4) == 0 {
				v = verbs[rng.IntN(len(verbs))]
			}
			cmds = append(cmds, b.spawn(nil, v...))
			names = append(names, v[0])
		}
		codes := map[string][]int{}
		refusals := map[string]bool{}
		for i, g := range cmds {
			select {
			case <-g.done:
			case <-time.After(waitExit):
				st, _ := b.status()
				_, masters, all := b.tree()
				t.Fatalf("round %d: %s, pid %d, still runs after %s; its stderr so far:\n%s\nstatus: %s %q; masters %v; processes %v",
					round+1, names[i], g.pid, waitExit, g.stderr.text(), st.State, st.Detail, describe(masters), describe(all))
			}
			code := g.wait()
			codes[names[i]] = append(codes[names[i]], code)
			if code == 1 {
				refusals[names[i]+": "+strings.SplitN(g.stderr.text(), "\n", 2)[0]] = true
			}
			out := g.stdout.text() + g.stderr.text()
			if (code != 0 && code != 1) || strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Errorf("round %d: %s exited %d:\n%s", round+1, names[i], code, out)
			}
			// A start or restart may lose to a stop, and a stop may find a
			// supervisor still opening its socket ("try again"); a stop that
			// finds another stop's supervisor on its way out must wait for
			// it, as for its own.
			if names[i] == "stop" && code != 0 && !strings.Contains(out, "try again") {
				t.Errorf("round %d: stop exited %d: %s", round+1, code, out)
			}
		}
		st, code := b.waitSettled()
		sups, masters, all := b.tree()
		t.Logf("round %d: exit statuses %v; the gear is %s; refusals: %s", round+1, codes, st.State, strings.Join(slices.Sorted(maps.Keys(refusals)), "; "))
		switch code {
		case 0:
			b.assertOne(st.SupervisorPID, st.PID)
			if answer := helloPID(t, mustGet(t, b.port, "/")); !descendsFrom(answer, st.PID) {
				t.Errorf("round %d: pid %d answered, not below the master %d", round+1, answer, st.PID)
			}
		default:
			if len(all) > 0 {
				t.Errorf("round %d: status says %s but the gear runs supervisors %v, masters %v, all %v",
					round+1, st.State, describe(sups), describe(masters), describe(all))
			}
		}
		if t.Failed() {
			break
		}
	}
	b.do("stop").want(t, 0)
	b.assertNothingLeft()
}

// brokenStart is one way an application or its surroundings can keep a
// server from starting.
type brokenStart struct {
	name    string
	servers []string
	files   map[string]string
	// args follow "start --port PORT --server SERVER --workers 1";
	// "BAREVENV" becomes a virtualenv with no server installed.
	args []string
	// takePort: another program serves the port first.
	takePort bool
	code     int
	// want are substrings of start's stderr.
	want []string
	// spawns is how many servers the gear starts; waits, the backoff
	// before each retry, as server.log says.
	spawns int
	waits  []time.Duration
}

// The backoff of failed starts, as README.md gives it: 0 s, 0.25 s, 0.5 s,
// 1 s, and the fifth failure is the last.
var fullBackoff = []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, time.Second}

// TestFaultBrokenApp starts applications that cannot run: each start must
// fail with a cause a user can act on, retry no more than the backoff
// allows, and leave nothing running.
func TestFaultBrokenApp(t *testing.T) {
	t.Parallel()
	both := []string{"gunicorn", "wsgiref"}
	importFails := []string{"exited 5 times in a row before it was ready"}
	cases := []brokenStart{
		{name: "raises-at-import", servers: both, files: map[string]string{"broken.py": "raise RuntimeError('broken at import')\n"},
			args: []string{"--app", "broken.py"}, code: 1, want: append(importFails, "broken at import"),
			spawns: failedStartsMax, waits: fullBackoff},
		{name: "exits-at-import", servers: both, files: map[string]string{"broken.py": "import sys\nsys.exit(3)\n"},
			args: []string{"--app", "broken.py"}, code: 1, want: importFails, spawns: failedStartsMax, waits: fullBackoff},
		{name: "syntax-error", servers: both, files: map[string]string{"broken.py": "def application(:\n"},
			args: []string{"--app", "broken.py"}, code: 1, want: append(importFails, "SyntaxError"),
			spawns: failedStartsMax, waits: fullBackoff},
		{name: "hangs-at-import", servers: both, files: map[string]string{"broken.py": "import time\nwhile True:\n    time.sleep(1)\n"},
			args: []string{"--app", "broken.py", "--start-timeout", "3s"}, code: 1, want: []string{"not ready within 3s"}, spawns: 1},
		{name: "app-file-missing", servers: both, args: []string{"--app", "missing.py"},
			code: 2, want: []string{"--app", "missing.py", "FILE.py"}},
		{name: "port-in-use", servers: []string{"gunicorn", "wsgiref", "apache"}, takePort: true,
			code: 1, want: []string{"address already in use"}},
		{name: "server-not-installed", servers: []string{"gunicorn"}, args: []string{"--python", "BAREVENV"},
			code: 2, want: []string{"--server", "gunicorn", "not installed", "pip install gunicorn into"}},
		{name: "command-not-found", servers: []string{"command"}, args: []string{"--command", "/nonexistent/server {port}"},
			code: 2, want: []string{"--command", "/nonexistent/server", "not installed"}},
	}
	for _, c := range cases {
		for _, server := range c.servers {
			t.Run(c.name+"/"+server, func(t *testing.T) {
				t.Parallel()
				testBrokenStart(t, c, server)
			})
		}
	}
}

func testBrokenStart(t *testing.T, c brokenStart, server string) {
	b := newBGGear(t, c.files)
	extra := slices.Clone(c.args)
	if i := slices.Index(extra, "BAREVENV"); i >= 0 {
		_, extra[i] = makeVenvs(t)
	}
	if c.takePort {
		takePort(t, b.port)
	}
	args := []string{"start", "--port", strconv.Itoa(b.port), "--workers", "1", "--stop-timeout", "2s"}
	if server != "command" {
		args = append(args, "--server", server)
	}
	t0 := time.Now()
	r := b.do(append(args, extra...)...)
	t.Logf("start exited %d after %.1fs: %s", r.code, time.Since(t0).Seconds(), strings.SplitN(r.stderr, "\n", 2)[0])
	if r.code != c.code {
		t.Errorf("start exited %d; want %d\nstderr:\n%s", r.code, c.code, r.stderr)
	}
	for _, w := range c.want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("start's stderr does not say %q:\n%s", w, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "ready") {
		t.Errorf("start says ready: %s", r.stdout)
	}
	spawns, waits := spawnsIn(b.serverLogText())
	if spawns != c.spawns || !slices.Equal(waits, c.waits) {
		t.Errorf("the gear started %d servers, retrying after %v; want %d, after %v", spawns, waits, c.spawns, c.waits)
	}
	// start has answered: nothing of the gear may run any more, its
	// supervisor included, or the next start would find it.
	for _, pid := range tagged(b.tag) {
		t.Errorf("start exited %d while pid %d of the gear still ran: %s", r.code, pid, cmdline(pid))
	}
	if _, code := b.status(); code != 3 {
		t.Errorf("status exits %d after the failed start; want 3 (not running)", code)
	}
	if c.takePort {
		if body := mustGet(t, b.port, "/"); body != "someone else\n" {
			t.Errorf("the other program's port answers %q", body)
		}
	} else if conn, err := net.Dial("tcp", addr(b.port)); err == nil {
		conn.Close()
		t.Errorf("something listens on %s after the failed start", addr(b.port))
	}
}

// takePort serves port with another program that answers 200 to
// everything, until the test ends.
func takePort(t *testing.T, port int) {
	t.Helper()
	l, err := net.Listen("tcp", addr(port))
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("someone else\n"))
	})}
	go other.Serve(l)
	t.Cleanup(func() { other.Close() })
}

// TestFaultServerGone removes the server's program while it serves, then
// kills its master: the restart cannot exec it, and the gear must give up
// at once — no retry storm, nothing left — and say why where an operator
// looks once the background supervisor has gone: the log.
func TestFaultServerGone(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	src, err := os.ReadFile("/usr/bin/gunicorn")
	need(t, "gunicorn as /usr/bin/gunicorn (Debian: apt-get install gunicorn)", err)
	prog := filepath.Join(b.app, "gunicorn-copy")
	if err := os.WriteFile(prog, src, 0o755); err != nil {
		t.Fatal(err)
	}
	b.do("start", "--port", strconv.Itoa(b.port), "--stop-timeout", "5s",
		"--command", prog+" --bind fd://{fd} --workers 1 wsgi:application").want(t, 0)
	st := b.waitReadyFor(readyUptime)
	if err := os.Remove(prog); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.pollStatus("stopped", func(st gearStatus) bool { return st.State == "stopped" })
	if !eventually(waitLine, func() bool { return len(tagged(b.tag)) == 0 }) {
		b.assertNothingLeft()
	}
	if spawns, _ := spawnsIn(b.serverLogText()); spawns != 1 {
		t.Errorf("%d servers started; want 1: the program is gone, there is nothing to retry", spawns)
	}
	if logs := b.do("logs", "-n", "20").stdout; !strings.Contains(logs, prog) || !strings.Contains(logs, "no such file") {
		t.Errorf("gearctl logs does not say that %s is gone:\n%s", prog, logs)
	}
}

// TestFaultControlSocket abuses the control socket of a running gear:
// files and directories only the owner can reach, callers of another uid
// refused even when the modes let them in, malformed, oversized and stalled
// requests answered with an error while the gear goes on, and no TCP
// listener but the application's port and an agent port asked for.
func TestFaultControlSocket(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	agentPort := freePort(t)
	master, sup := b.start("gunicorn", "--workers", "1", "--agent-port", strconv.Itoa(agentPort))
	sock := filepath.Join(b.dir, "control.sock")

	t.Run("modes", func(t *testing.T) {
		err := filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if fi.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm()&^want != 0 {
				t.Errorf("%s has mode %s; want at most %s", path, fi.Mode(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(sock); err != nil || fi.Mode().Type() != fs.ModeSocket {
			t.Errorf("%s is not a socket: %v", sock, err)
		}
	})

	t.Run("other-uid", func(t *testing.T) {
		nobody := nobodyCred(t)
		for _, verb := range [][]string{{"status"}, {"stop"}, {"restart"}} {
			r := asUser(t, nobody, b.app, append([]string{gearctlBin, "--dir", b.dir}, verb...)...)
			if r.code == 0 {
				t.Errorf("%s as uid %d exited 0:\n%s", verb[0], nobody.Uid, r.stdout)
			}
		}
		// With modes that let anyone in, the supervisor itself refuses:
		// it checks the caller's uid on the socket (SO_PEERCRED). gearctl
		// as another uid refuses a dir it may not write before that (and
		// one that others may write, whoever calls).
		for path, mode := range map[string]fs.FileMode{b.dir: 0o711, sock: 0o666} {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			os.Chmod(b.dir, 0o700)
			os.Chmod(sock, 0o600)
		})
		for _, verb := range [][]string{{"status"}, {"stop"}, {"restart"}} {
			r := asUser(t, nobody, b.app, append([]string{gearctlBin, "--dir", b.dir}, verb...)...)
			if r.code != 2 || !strings.Contains(r.stderr, b.dir) {
				t.Errorf("%s as uid %d: exit %d, stderr %q; want 2 naming %s", verb[0], nobody.Uid, r.code, r.stderr, b.dir)
			}
		}
		// And any request at all, not just those gearctl sends.
		for _, path := range []string{"/v1/stop", "/v1/reload", "/v1/rotate"} {
			r := asUser(t, nobody, b.app, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
				"--unix-socket", sock, "-X", "POST", "http://gearctl"+path)
			if r.stdout != "403" {
				t.Errorf("POST %s as uid %d answered %q (%s); want 403", path, nobody.Uid, r.stdout, r.stderr)
			}
		}
	})

	t.Run("malformed", func(t *testing.T) {
		big := strings.Repeat("x", 2<<20)
		cases := []struct {
			name, request string
			want          int
		}{
			{"not http", "\x16\x03\x01\x02\x00 hello\r\n\r\n", http.StatusBadRequest},
			{"restart not json", postRequest("/v1/restart", "{not json"), http.StatusBadRequest},
			{"restart empty spec", postRequest("/v1/restart", `{"spec":{}}`), http.StatusBadRequest},
			{"restart wrong types", postRequest("/v1/restart", `{"spec":{"Args":42,"Port":"x"}}`), http.StatusBadRequest},
			{"restart 2 MiB", postRequest("/v1/restart", `{"spec":{"Name":"`+big+`"}}`), http.StatusBadRequest},
			{"header 64 KiB", "GET /v1/status HTTP/1.1\r\nHost: g\r\nX-Big: " + big[:64<<10] + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
			{"unknown path", "GET /v1/nosuch HTTP/1.1\r\nHost: g\r\n\r\n", http.StatusNotFound},
			{"wrong method", "GET /v1/stop HTTP/1.1\r\nHost: g\r\n\r\n", http.StatusMethodNotAllowed},
		}
		// A client that sends half a request and stalls holds a
		// connection, not the supervisor.
		stalled, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer stalled.Close()
		fmt.Fprintf(stalled, "POST /v1/restart HTTP/1.1\r\nHost: g\r\nContent-Length: 100\r\n\r\n{")
		for _, c := range cases {
			if code := exchangeControl(t, sock, c.request); code != c.want {
				t.Errorf("%s: answered %d; want %d", c.name, code, c.want)
			}
		}
	})

	t.Run("tcp-listeners", func(t *testing.T) {
		got := tcpListeners(sup)
		slices.Sort(got)
		want := []int{b.port, agentPort}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("the supervisor listens on TCP ports %v; want %v: the application's and --agent-port", got, want)
		}
		plain := newBGGear(t, nil)
		_, psup := plain.start("gunicorn", "--workers", "1")
		if got := tcpListeners(psup); !slices.Equal(got, []int{plain.port}) {
			t.Errorf("without --agent-port the supervisor listens on TCP ports %v; want only %d", got, plain.port)
		}
		plain.stop()
	})

	// Through all of it the gear went on, untouched.
	st := b.ready("gunicorn")
	if st.PID != master || st.SupervisorPID != sup || st.Restarts != 0 {
		t.Errorf("after the abuse: pid %d, supervisor %d, %d restarts; want %d, %d, 0", st.PID, st.SupervisorPID, st.Restarts, master, sup)
	}
	mustGet(t, b.port, "/")
	b.stop()
}

// postRequest is a POST of body to path, as raw HTTP/1.1.
func postRequest(path, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: g\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
}

// exchangeControl sends request on a connection of its own to the unix socket and
// returns the status of the answer. The request is written while the
// answer is read: a server that answers early stops reading.
func exchangeControl(t *testing.T, sock, request string) int {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLine))
	go io.WriteString(c, request)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// nobodyCred is the credential of the unprivileged account nobody; the
// test needs root to take it.
func nobodyCred(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Getuid() != 0 {
		need(t, "root", errors.New("running a client as another user needs root"))
	}
	u, err := user.Lookup("nobody")
	need(t, "the user nobody", err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// asUser runs argv in dir as cred and waits for it, at most waitExit.
func asUser(t *testing.T, cred *syscall.Credential, dir string, argv ...string) ctlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitExit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "HOME=/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", argv[0], err)
	}
	return ctlResult{args: argv, code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// TestFaultLogFull serves with server.log on a full disk (a symlink to
// /dev/full, where every write is ENOSPC) and then with a log directory
// that cannot be written at all: the server keeps serving, more output than
// a pipe holds included, status --json says log_error, and once the log
// can be written again the error goes. A log directory that cannot be used
// at start is refused as bad input, with nothing started.
func TestFaultLogFull(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	logs := filepath.Join(tempDir(t), "logs")
	if err := os.Mkdir(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(logs, "server.log")
	if err := os.Symlink("/dev/full", logFile); err != nil {
		t.Fatal(err)
	}
	b.env = []string{"GEARCTL_LOG_DIR=" + logs}
	master, _ := b.start("gunicorn", "--workers", "1")

	// Each request's access log line carries its 3 KiB query: 40 of them
	// fill more than a pipe's 64 KiB, which would stop a server whose
	// output is not read.
	serveALot := func() {
		t.Helper()
		pad := strings.Repeat("p", 3<<10)
		for range 40 {
			mustGet(t, b.port, "/?pad="+pad)
		}
	}
	serveALot()
	if le := b.statusLogError(); !strings.Contains(le, "no space left on device") {
		t.Errorf("status --json log_error is %q; want ENOSPC", le)
	}
	if st := b.ready("gunicorn"); st.PID != master {
		t.Errorf("the master changed from %d to %d", master, st.PID)
	}

	// tidy rotates onto a new, writable server.log: the error goes.
	b.do("tidy").want(t, 0)
	serveALot()
	if !eventually(waitLine, func() bool { return b.statusLogError() == "" }) {
		t.Errorf("log_error stays %q after the log was rotated onto a writable file", b.statusLogError())
	}

	// The whole directory goes (replaced by a file, which even root cannot
	// write into): the next rotation cannot open a file at all.
	moved := logs + ".moved"
	if err := os.Rename(logs, moved); err != nil {
		t.Fatal(err)
	}
	writeFile(t, logs, "")
	b.do("tidy")
	serveALot()
	if le := b.statusLogError(); !strings.Contains(le, "not a directory") {
		t.Errorf("status --json log_error is %q; want the directory's error", le)
	}
	if err := os.Remove(logs); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, logs); err != nil {
		t.Fatal(err)
	}
	serveALot()
	if le := b.statusLogError(); le != "" {
		t.Errorf("log_error stays %q once the directory is back", le)
	}
	if !strings.Contains(mustReadFile(t, logFile), "GET /?pad=") {
		t.Errorf("%s does not have the access log lines written once it was back", logFile)
	}
	if st := b.ready("gunicorn"); st.PID != master || st.Restarts != 0 {
		t.Errorf("pid %d, %d restarts after the log failures; want %d, 0", st.PID, st.Restarts, master)
	}
	b.stop()

	// At start, a log directory that cannot be created is bad input.
	notDir := filepath.Join(tempDir(t), "file")
	writeFile(t, notDir, "")
	b.env = []string{"GEARCTL_LOG_DIR=" + notDir}
	r := b.do("start", "--port", strconv.Itoa(b.port), "--server", "gunicorn", "--workers", "1")
	if r.code != 2 || !strings.Contains(r.stderr, notDir) {
		t.Errorf("start with the log directory %s a file: exit %d, stderr %q; want 2 naming it", notDir, r.code, r.stderr)
	}
	b.assertNothingLeft()
}

// mustReadFile is the content of path.
func mustReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// daemonCode, after the example application, makes a module that, when
// imported by a server worker, double-forks a daemon that keeps the worker's descriptors
// (the listening socket among them) and sleeps: a background job started
// the careless way. With DAEMON_SETSID set the daemon also leaves the
// session; with DAEMON_EXEC it then execs sleep with an empty environment,
// shedding the gear's mark. Its PID is written to daemon.pid.
const daemonCode = `

def _daemonize():
    import os, time
    if os.path.exists("daemon.pid"):
        return
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    if os.environ.get("DAEMON_SETSID"):
        os.setsid()
    if os.fork() == 0:
        with open("daemon.pid.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("daemon.pid.tmp", "daemon.pid")
        if os.environ.get("DAEMON_EXEC"):
            for fd in os.listdir("/proc/self/fd"):
                try:
                    os.set_inheritable(int(fd), True)
                except OSError:
                    pass
            os.execve("/bin/sleep", ["sleep", "600"], {})
        time.sleep(600)
    os._exit(0)


_daemonize()
`

// TestFaultDaemonOutlivesSupervisor SIGKILLs the supervisor of a gear whose
// application double-forked a daemon holding the listening socket, then
// stops the gear, directly or after a start adopted its server: the daemon
// is found (by its session, or when it left that too, by the socket it
// holds and the gear's mark) and ended, the port is free, and the next
// start binds it.
func TestFaultDaemonOutlivesSupervisor(t *testing.T) {
	t.Parallel()
	for _, session := range []string{"same-session", "own-session"} {
		for _, via := range []string{"stop", "start-then-stop"} {
			t.Run(session+"/"+via, func(t *testing.T) {
				t.Parallel()
				b, daemon := daemonGear(t, session == "own-session", false)
				if via == "start-then-stop" {
					b.do(append([]string{"start", "--port", strconv.Itoa(b.port), "--server", "gunicorn"}, daemonFlags...)...).want(t, 0)
				}
				r := b.stop()
				if alive(daemon) {
					t.Errorf("daemon pid %d survived the stop: %s\nstop said: %s%s", daemon.pid, cmdline(daemon.pid), r.stdout, r.stderr)
				}
				os.Remove(filepath.Join(b.app, "daemon.pid"))
				b.start("gunicorn", daemonFlags...)
				b.stop()
			})
		}
	}
}

// TestFaultPortStillHeld: a daemon that shed the gear's mark (an exec with
// an empty environment) outside the gear's session keeps the listening
// socket after its supervisor was SIGKILLed. It is not the gear's to kill
// by what can be proved, so it is left alone, and stop says the port is
// still held, by whom, and exits 1, instead of "stopped".
func TestFaultPortStillHeld(t *testing.T) {
	t.Parallel()
	b, daemon := daemonGear(t, true, true)
	t.Cleanup(func() { killProc(daemon) })
	r := b.do("stop")
	want := fmt.Sprintf("port %d is still listened on by pid %d (sleep 600)", b.port, daemon.pid)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("stop: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
	if !alive(daemon) {
		t.Errorf("the unmarked daemon pid %d was signalled", daemon.pid)
	}
}

// daemonFlags start daemonGear's gear.
var daemonFlags = []string{"--workers", "1", "--app", "daemon_app.py"}

// daemonGear starts a gunicorn gear whose application double-forked a
// daemon (see daemonCode), then SIGKILLs the supervisor.
func daemonGear(t *testing.T, setsid, exec bool) (*bgGear, proc) {
	t.Helper()
	needServer(t, "gunicorn")
	b := newBGGear(t, map[string]string{"daemon_app.py": helloSource + daemonCode})
	if setsid {
		b.env = append(b.env, "DAEMON_SETSID=1")
	}
	if exec {
		b.env = append(b.env, "DAEMON_EXEC=1")
	}
	_, sup := b.start("gunicorn", daemonFlags...)
	var daemon proc
	if !eventually(waitLine, func() bool {
		text, err := os.ReadFile(filepath.Join(b.app, "daemon.pid"))
		pid, _ := strconv.Atoi(string(text))
		var ok bool
		daemon, ok = readProc(pid)
		return err == nil && ok && (!exec || strings.HasPrefix(cmdline(pid), "sleep"))
	}) {
		t.Fatal("the application's daemon never wrote daemon.pid")
	}
	b.killSupervisor(sup)
	return b, daemon
}
