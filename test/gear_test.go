package test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The background supervisor: `gearctl start` and the verbs that talk to it
// through the gear's directory (status, stop, logs, tidy), including a
// supervisor that was killed, stale and broken files, and bad input.

// needServer returns the server under test named name, or stops the test
// when it is not installed (see server.need).
func needServer(t *testing.T, name string) server {
	t.Helper()
	for _, s := range servers {
		if s.name == name {
			return s.need(t)
		}
	}
	t.Fatalf("no server %q under test", name)
	return server{}
}

// socketServers are the servers that take the listening socket from
// gearctl, and so can be restarted without refusing a connection.
var socketServers = []string{"gunicorn", "uwsgi", "wsgiref"}

// TestStartReady starts each server with `gearctl start`: once it returns 0
// the application answers the very first request; a second start says it
// already runs and changes nothing.
func TestStartReady(t *testing.T) {
	t.Parallel()
	for _, name := range socketServers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			needServer(t, name)
			b := newBGGear(t, nil)
			if _, code := b.status(); code != 3 {
				t.Errorf("status before any start exits %d; want 3", code)
			}
			pid, sup := b.start(name)
			// No retry: start said ready.
			code, body, err := get(b.port, "/")
			if err != nil || code != http.StatusOK {
				t.Fatalf("first GET / right after start returned: %d %q %v; want 200", code, body, err)
			}
			helloPID(t, body)

			r := b.do("start", "--port", strconv.Itoa(b.port), "--server", name).want(t, 0)
			r.has(t, fmt.Sprintf(`^gearctl: already running: %s pid %d, ready$`, name, pid))
			if strings.Contains(r.stdout, "other settings") {
				t.Errorf("a start with the running settings says they differ:\n%s", r.stdout)
			}
			// New settings are not applied by start, and it says so.
			b.do("start", "--port", strconv.Itoa(b.port), "--server", name, "--workers", "3").want(t, 0).
				has(t, `^gearctl: it runs with other settings than these: --workers 3 \(running: \d+\); 'gearctl restart --workers=3' applies them$`)
			if st := b.ready(name); st.PID != pid || st.SupervisorPID != sup {
				t.Errorf("after a second start: pid %d supervisor %d; want %d and %d unchanged", st.PID, st.SupervisorPID, pid, sup)
			}
			b.assertOne(sup, pid)
			b.stop()
		})
	}
}

// TestStartConcurrent runs 20 starts at once on one gear: every one exits
// 0 naming the same server, and one supervisor with one server runs.
func TestStartConcurrent(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	var starts []*gear
	for range 20 {
		starts = append(starts, b.spawn(nil, "start", "--port", strconv.Itoa(b.port), "--server", "gunicorn"))
	}
	said := regexp.MustCompile(`(?m)^gearctl: (?:already running: )?gunicorn pid (\d+)\b`)
	named := map[string]int{}
	for i, g := range starts {
		code := g.wait()
		m := said.FindStringSubmatch(g.stdout.text())
		if code != 0 || m == nil {
			t.Errorf("start #%d exited %d; want 0 naming the server\nstdout:\n%s\nstderr:\n%s", i, code, g.stdout.text(), g.stderr.text())
			continue
		}
		named[m[1]]++
	}
	if len(named) != 1 {
		t.Errorf("the starts named these server pids (pid: starts): %v; want one", named)
	}
	st := b.ready("gunicorn")
	b.assertOne(st.SupervisorPID, st.PID)
	mustGet(t, b.port, "/")
	b.stop()
}

// TestStatus checks status's exit statuses and every field of status
// --json, before a start, while ready, and after the server crashed and
// was restarted.
func TestStatus(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	st, code := b.status()
	if code != 3 || st.State != "stopped" {
		t.Errorf("status --json before a start: exit %d state %q; want 3, stopped", code, st.State)
	}
	b.do("status").want(t, 3)

	pid, sup := b.start("gunicorn")
	b.do("status").want(t, 0).has(t, fmt.Sprintf(`^ready\s+gunicorn\s+pid %d\b.*\bsupervisor %d$`, pid, sup))
	b.checkReport(pid, sup)

	// A crash: the supervisor restarts the server and says how it ended.
	crashed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var after gearStatus
	if !eventually(waitLine, func() bool {
		st, code := b.status()
		after = st
		return code == 0 && st.PID != 0 && st.PID != pid
	}) {
		t.Fatalf("no new ready master after pid %d was killed: state %q pid %d", pid, after.State, after.PID)
	}
	switch le := after.LastExit; {
	case le == nil:
		t.Errorf("status --json has no last_exit after the master was killed")
	case le.PID != pid || le.Signal != "SIGKILL" || le.At.Before(crashed) || le.At.After(time.Now()):
		t.Errorf("last_exit = %+v; want pid %d, signal SIGKILL, at about %s", *le, pid, crashed.Format(time.RFC3339Nano))
	}
	if after.Restarts != 1 || after.Crashes != 1 || after.Requested != 0 {
		t.Errorf("restarts %d, crashes %d, requested %d after one crash; want 1, 1, 0", after.Restarts, after.Crashes, after.Requested)
	}
	b.checkReport(after.PID, sup)
	b.stop()
}

// checkReport asserts what status --json says of a ready gunicorn gear
// whose master is pid and supervisor sup, against /proc.
func (b *bgGear) checkReport(pid, sup int) {
	t := b.t
	t.Helper()
	st := b.ready("gunicorn")
	if st.PID != pid || st.SupervisorPID != sup {
		t.Errorf("status: pid %d supervisor_pid %d; want %d and %d", st.PID, st.SupervisorPID, pid, sup)
	}
	if p, ok := readProc(pid); !ok || p.ppid != sup || !strings.Contains(cmdline(pid), "gunicorn") {
		t.Errorf("pid %d is not a gunicorn master below the supervisor %d: parent %d, %q", pid, sup, p.ppid, cmdline(pid))
	}
	if !isGearctl(sup) {
		t.Errorf("supervisor_pid %d does not run gearctl: %q", sup, cmdline(sup))
	}
	if st.StartedAt.IsZero() || st.ReadyAt.Before(st.StartedAt) || st.ReadyAt.After(time.Now()) {
		t.Errorf("started_at %s ready_at %s; want both set, ready after started, in the past", st.StartedAt, st.ReadyAt)
	}
	if st.Listen != addr(b.port) {
		t.Errorf("listen = %q; want %s", st.Listen, addr(b.port))
	}
	if setting(st.Settings, "port") != float64(b.port) || setting(st.Settings, "server") != "gunicorn" {
		t.Errorf("settings = %v; want what the gear was started with (gunicorn, port %d)", st.Settings, b.port)
	}
	b.assertProcesses(4) // the supervisor, the master and two workers
}

// setting is the value of a key of settings, whatever its case.
func setting(settings map[string]any, key string) any {
	for k, v := range settings {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// assertProcesses waits until status --json lists exactly the n running
// processes of the gear (workers may still be starting), each with its
// parent, memory and command as /proc has them.
func (b *bgGear) assertProcesses(n int) {
	b.t.Helper()
	var st gearStatus
	var listed, running []int
	if !eventually(waitLine, func() bool {
		st, _ = b.status()
		listed = nil
		for _, p := range st.Processes {
			listed = append(listed, p.PID)
		}
		_, _, running = b.tree()
		slices.Sort(listed)
		slices.Sort(running)
		return len(running) == n && slices.Equal(listed, running)
	}) {
		b.t.Errorf("status lists processes %v; the gear runs %v (want %d)", listed, describe(running), n)
	}
	for _, p := range st.Processes {
		real, ok := readProc(p.PID)
		if !ok || p.PPID != real.ppid || p.RSS == 0 || p.Command == "" || p.CPU < 0 {
			b.t.Errorf("status says of pid %d: ppid %d rss %d cpu %.1f command %q; /proc: ppid %d, %q",
				p.PID, p.PPID, p.RSS, p.CPU, p.Command, real.ppid, cmdline(p.PID))
		}
	}
}

// TestControlSocket reads the status from the control socket with curl,
// checks that the socket and the directory are the owner's alone, and that
// another user is refused even once the modes would let it in.
func TestControlSocket(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	pid, _ := b.start("gunicorn")
	sock := filepath.Join(b.dir, "control.sock")
	for path, want := range map[string]os.FileMode{b.dir: os.ModeDir | 0o700, sock: os.ModeSocket | 0o600} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode()&(os.ModeType|os.ModePerm) != want {
			t.Errorf("%s: %v %v; want mode %v", path, fi.Mode(), err, want)
		}
	}
	out, err := exec.Command("curl", "-sS", "--unix-socket", sock, "http://x/v1/status").Output()
	if err != nil {
		t.Fatalf("curl --unix-socket %s: %v", sock, err)
	}
	if !regexp.MustCompile(`"state":\s*"ready"`).Match(out) ||
		!regexp.MustCompile(fmt.Sprintf(`"pid":\s*%d\b`, pid)).Match(out) {
		t.Errorf("the control socket's status says %s; want ready, pid %d", out, pid)
	}

	if os.Geteuid() != 0 {
		t.Log("not root: cannot try the socket as another user")
		b.stop()
		return
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	asNobody := func() (string, error) {
		cmd := exec.Command("curl", "-sS", "-w", "\nHTTP %{http_code}\n", "--unix-socket", sock, "http://x/v1/status")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := asNobody(); err == nil || strings.Contains(out, `"state"`) {
		t.Errorf("nobody read the status through the socket: %v\n%s", err, out)
	}
	// The supervisor checks who connects, whatever the modes say.
	if err := os.Chmod(b.dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	out2, err := asNobody()
	if err != nil || !strings.Contains(out2, "HTTP 403") || strings.Contains(out2, `"state"`) || !strings.Contains(out2, "uid "+nobody.Uid) {
		t.Errorf("nobody, with the socket open to all, got: %v\n%s\nwant 403 naming uid %s", err, out2, nobody.Uid)
	}
	b.stop()
}

// killSupervisor SIGKILLs the gear's supervisor and waits until it is gone.
func killSupervisor(t *testing.T, sup int) {
	t.Helper()
	p := mustProc(t, sup)
	if !isGearctl(sup) {
		t.Fatalf("pid %d is not gearctl: %s", sup, cmdline(sup))
	}
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(waitLine, func() bool { return !alive(p) }) {
		t.Fatalf("supervisor pid %d still there after SIGKILL", sup)
	}
}

// TestAdopt kills the supervisor with SIGKILL: the server goes on serving,
// status says it runs unsupervised, and start adopts it (then a restart
// and a stop work as for a server it started), or stop stops it.
func TestAdopt(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	orphan := func(t *testing.T) (*bgGear, int, proc) {
		b := newBGGear(t, nil)
		pid, sup := b.start("gunicorn")
		master := mustProc(t, pid)
		killSupervisor(t, sup)
		if answer := helloPID(t, mustGet(t, b.port, "/")); !descendsFrom(answer, pid) {
			t.Errorf("pid %d answered, not a worker of the master %d", answer, pid)
		}
		b.do("status").want(t, 1).has(t, fmt.Sprintf(`^unsupervised\s+gunicorn\s+pid %d\b`, pid))
		if st, code := b.status(); code != 1 || st.State != "unsupervised" || st.PID != pid {
			t.Errorf("status --json: exit %d state %q pid %d; want 1, unsupervised, %d", code, st.State, st.PID, pid)
		}
		return b, pid, master
	}
	t.Run("start-adopts", func(t *testing.T) {
		t.Parallel()
		b, pid, master := orphan(t)
		r := b.do("start", "--port", strconv.Itoa(b.port), "--server", "gunicorn").want(t, 0)
		m := r.has(t, startedRE)
		sup, _ := strconv.Atoi(m[4])
		if m[2] != strconv.Itoa(pid) || !alive(master) {
			t.Fatalf("start says %q; want it to adopt pid %d, which is alive: %v", m[0], pid, alive(master))
		}
		b.assertOne(sup, pid)
		if st := b.ready("gunicorn"); st.PID != pid || st.SupervisorPID != sup {
			t.Errorf("status: pid %d supervisor %d; want %d and %d", st.PID, st.SupervisorPID, pid, sup)
		}
		mustGet(t, b.port, "/")
		if log := b.do("logs", "-n", "200").stdout; strings.Contains(log, "address already in use") {
			t.Errorf("the adopting supervisor met a port conflict:\n%s", log)
		}
		// The adopted server hands its socket over like one started here.
		l := startLoad(t, b.port, 4)
		l.advance(t, 10)
		_, handover := b.restart("gunicorn")
		assertNoRefusal(t, handover)
		l.advance(t, 10)
		l.finish(t)
		b.stop()
	})
	t.Run("stop-orphan", func(t *testing.T) {
		t.Parallel()
		b, pid, _ := orphan(t)
		b.stop().has(t, fmt.Sprintf(`^gearctl: stopped server pid %d, which ran without its supervisor$`, pid))
	})
}

// stranger is a process unrelated to any gear that notes every signal it
// gets, one number a line, in a file.
type stranger struct {
	t     *testing.T
	proc  proc
	notes string
}

const strangerSource = `import signal, sys
notes = sys.argv[1]
def note(sig, frame):
    with open(notes, "a") as f:
        f.write("%d\n" % sig)
for s in range(1, signal.NSIG):
    try:
        signal.signal(s, note)
    except (OSError, ValueError, RuntimeError):
        pass
print("trapping", flush=True)
while True:
    signal.pause()
`

// sentinel is the signal the test itself sends a stranger: the highest
// number, whose handler Python runs after those of any signal pending with
// it.
const sentinel = syscall.Signal(64)

func startStranger(t *testing.T) *stranger {
	t.Helper()
	dir := tempDir(t)
	writeFile(t, filepath.Join(dir, "stranger.py"), strangerSource)
	notes := filepath.Join(dir, "notes")
	g := startGear(t, dir, 0, nil, "python3", "stranger.py", notes)
	g.stdout.expect(t, "^trapping$")
	return &stranger{t: t, proc: mustProc(t, g.pid), notes: notes}
}

// assertUntouched asserts that the stranger still runs and got no signal
// since the last call.
func (s *stranger) assertUntouched() {
	s.t.Helper()
	if !alive(s.proc) {
		s.t.Fatalf("the unrelated pid %d is gone", s.proc.pid)
	}
	if err := syscall.Kill(s.proc.pid, sentinel); err != nil {
		s.t.Fatal(err)
	}
	want := fmt.Sprintf("%d\n", sentinel)
	var got string
	eventually(waitLine, func() bool {
		b, _ := os.ReadFile(s.notes)
		got = string(b)
		return strings.HasSuffix(got, want)
	})
	if got != want {
		s.t.Fatalf("the unrelated pid %d got signals %q before the test's own %d", s.proc.pid, strings.Fields(got), sentinel)
	}
	os.Remove(s.notes)
}

// TestStalePidfile puts in server.pid the PID of a live process that is
// not the gear's (with the start time or boot of another process), beside
// a real server.json: status says not running, stop and start succeed, and
// that process gets no signal.
func TestStalePidfile(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	b.start("gunicorn")
	recorded, err := os.ReadFile(filepath.Join(b.dir, "server.pid"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(filepath.Join(b.dir, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	b.stop()
	s := startStranger(t)
	bootID, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	// Records that name the stranger's PID but not the stranger.
	spid := strconv.Itoa(s.proc.pid)
	ticks := s.proc.start
	f := strings.Fields(string(recorded))
	if len(f) != 4 {
		t.Fatalf("server.pid of a running gear holds %q; want PID STARTTIME STARTTICKS BOOTID", recorded)
	}
	otherBoot := []byte(strings.TrimSpace(string(bootID)))
	if otherBoot[0] == '0' {
		otherBoot[0] = '1'
	} else {
		otherBoot[0] = '0'
	}
	records := []string{
		// The real gear's record with the PID changed.
		strings.Join(append([]string{spid}, f[1:]...), " "),
		// The stranger's own record, started a tick later or earlier.
		strings.Join([]string{spid, f[1], strconv.FormatUint(ticks+1, 10), f[3]}, " "),
		strings.Join([]string{spid, f[1], strconv.FormatUint(ticks-1, 10), f[3]}, " "),
		// The stranger's start, in another boot.
		strings.Join([]string{spid, f[1], strconv.FormatUint(ticks, 10), string(otherBoot)}, " "),
	}
	plant := func(rec string) {
		writeFile(t, filepath.Join(b.dir, "server.pid"), rec+"\n")
		writeFile(t, filepath.Join(b.dir, "server.json"), string(spec))
	}
	for i := range 24 {
		rec := records[i%len(records)]
		plant(rec)
		b.do("status").want(t, 3).has(t, `stale`)
		b.do("stop").want(t, 0).has(t, `^gearctl: not running \(the server pidfile was stale; nothing was signalled\)$`)
		s.assertUntouched()
		if t.Failed() {
			t.Fatalf("trial %d, server.pid %q", i, rec)
		}
	}
	// Nor does start adopt it, or a stop after that signal it.
	for _, rec := range records[:2] {
		plant(rec)
		pid, _ := b.start("gunicorn")
		if pid == s.proc.pid {
			t.Fatalf("start adopted the unrelated pid %d", pid)
		}
		mustGet(t, b.port, "/")
		b.stop()
		s.assertUntouched()
	}
}

// TestGearBadInput gives the gear's verbs a --dir they cannot use, or a
// server.pid that is not a pidfile: one line, exit status 2, nothing run
// or signalled. A control socket left by a killed supervisor is no
// obstacle.
func TestGearBadInput(t *testing.T) {
	t.Parallel()
	verbs := [][]string{{"status"}, {"stop"}, {"start", "--port", "PORT"}, {"run", "--port", "PORT"}}
	refuse := func(t *testing.T, dir string, want ...string) {
		for _, verb := range verbs {
			t.Run(verb[0], func(t *testing.T) {
				port := freePort(t)
				args := []string{gearctlBin, "--dir", dir}
				for _, a := range verb {
					args = append(args, strings.ReplaceAll(a, "PORT", strconv.Itoa(port)))
				}
				g := startGear(t, appDir(t, nil), port, nil, args...)
				assertBadInput(t, g, want, nil)
			})
		}
	}
	t.Run("socket-path-too-long", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(tempDir(t), strings.Repeat("d", 110))
		refuse(t, dir, "--dir", dir, "107")
	})
	t.Run("dir-under-a-file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(tempDir(t), "file")
		writeFile(t, file, "")
		refuse(t, filepath.Join(file, "gear"), "--dir", file, "accepted")
	})
	t.Run("garbage-pidfile", func(t *testing.T) {
		t.Parallel()
		s := startStranger(t)
		dir := filepath.Join(tempDir(t), "gear")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		// A bare PID, as shell scripts write pidfiles: a live process,
		// not one of this gear's.
		writeFile(t, filepath.Join(dir, "server.pid"), strconv.Itoa(s.proc.pid)+"\n")
		refuse(t, dir, "server.pid")
		s.assertUntouched()
	})
	t.Run("socket-of-a-killed-supervisor", func(t *testing.T) {
		t.Parallel()
		needServer(t, "gunicorn")
		b := newBGGear(t, nil)
		pid, sup := b.start("gunicorn")
		killSupervisor(t, sup)
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if !eventually(waitLine, func() bool { return len(tagged(b.tag)) == 0 }) {
			t.Fatalf("processes of the killed gear left: %v", describe(tagged(b.tag)))
		}
		if _, err := os.Lstat(filepath.Join(b.dir, "control.sock")); err != nil {
			t.Fatalf("the killed supervisor's socket is not there: %v", err)
		}
		b.do("status").want(t, 3)
		next, _ := b.start("gunicorn")
		if next == pid {
			t.Errorf("new master has the killed one's pid %d", pid)
		}
		mustGet(t, b.port, "/")
		b.stop()
	})
}

// printerSource serves 200 on HOST PORT and prints COUNT numbered lines as
// fast as it can, unbuffered; on SIGTERM it stops printing, writes how
// many lines it printed to count-PID and exits.
const printerSource = `import os, signal, sys, threading, time
from http.server import HTTPServer, BaseHTTPRequestHandler


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


stop = False


def term(sig, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, term)
server = HTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
pid, count, printed = os.getpid(), int(sys.argv[3]), 0
while printed < count and not stop:
    printed += 1
    os.write(1, ("L %d %06d %s\n" % (pid, printed, ("%06d" % printed) * 8)).encode())
    if printed % 20 == 0:
        time.sleep(0.001)
while not stop:
    time.sleep(0.05)
with open("count-%d" % pid, "w") as f:
    f.write(str(printed))
os._exit(0)
`

// TestLogRotation runs a server that prints numbered lines fast into a log
// rotated every 16K, restarts it in the middle, and reads the log back with
// `logs`: every line of both servers is there once, whole and in order,
// across dozens of rotations; `logs -n` gives the last lines and `tidy`
// removes the rotated files.
func TestLogRotation(t *testing.T) {
	t.Parallel()
	// The first server would print more lines than the second, were it
	// not restarted; all of them fit in the 100 files kept.
	const firstLines, secondLines, maxSize = 12000, 4000, 16 << 10
	b := newBGGear(t, map[string]string{"printer.py": printerSource})
	b.env = []string{"GEARCTL_LOG_MAX_SIZE=16K", "GEARCTL_LOG_KEEP=100"}
	command := "python3 printer.py {host} {port} "
	first, _ := b.start("command", "--command", command+strconv.Itoa(firstLines))
	lastLine := regexp.MustCompile(`(?m)^L (\d+) (\d{6}) `)
	// Restart once the first server is well into its lines.
	if !eventually(waitLine, func() bool {
		m := lastLine.FindAllStringSubmatch(b.do("logs", "-n", "5").stdout, -1)
		return len(m) > 0 && m[len(m)-1][2] >= "001000"
	}) {
		t.Fatal("the first server printed no 1000 lines")
	}
	second, _ := b.restart("command", "--command", command+strconv.Itoa(secondLines))
	done := fmt.Sprintf("L %d %06d ", second, secondLines)
	if !eventually(waitLine, func() bool { return strings.Contains(b.do("logs", "-n", "5").stdout, done) }) {
		t.Fatalf("the second server's last line %q never reached the log", done)
	}
	b.stop()

	all := b.do("logs", "-n", "1000000").want(t, 0).stdout
	// logs reads the rotated files, oldest first, then server.log.
	logDir := filepath.Join(b.dir, "logs")
	rotated, _ := filepath.Glob(filepath.Join(logDir, "server.log.*"))
	if len(rotated) < 10 {
		t.Fatalf("%d rotated files; the test wants many rotations", len(rotated))
	}
	var files strings.Builder
	for i := len(rotated); i >= 0; i-- {
		path := filepath.Join(logDir, "server.log")
		if i > 0 {
			path += "." + strconv.Itoa(i)
		}
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("rotated files are not numbered 1 to %d: %v", len(rotated), err)
		}
		if len(content) > maxSize {
			t.Errorf("%s holds %d bytes, over --log-max-size 16K", path, len(content))
		}
		files.Write(content)
	}
	// (Output is read as lines: the last newline is not kept.)
	if want := strings.TrimSuffix(files.String(), "\n"); all != want {
		t.Errorf("logs -n 1000000 is not the log files' content in order: %s", firstDiff(all, want))
	}
	checkPrinted(t, b, all, first, second)

	l := strings.Split(all, "\n")
	if last := strings.Join(l[len(l)-5:], "\n"); b.do("logs", "-n", "5").want(t, 0).stdout != last {
		t.Errorf("logs -n 5 says\n%s\nwant the last 5 lines:\n%s", b.do("logs", "-n", "5").stdout, last)
	}

	removed := b.do("tidy").want(t, 0).stdout
	if n := strings.Count(removed, "gearctl: removed "+filepath.Join(logDir, "server.log.")); n != len(rotated) {
		t.Errorf("tidy says it removed %d rotated logs; there were %d:\n%s", n, len(rotated), removed)
	}
	if left, _ := filepath.Glob(filepath.Join(logDir, "server.log.*")); len(left) > 0 {
		t.Errorf("rotated logs left after tidy: %v", left)
	}
	if _, err := os.Stat(filepath.Join(logDir, "server.log")); err != nil {
		t.Errorf("tidy removed the current log: %v", err)
	}
}

// firstDiff describes the first line where two texts differ.
func firstDiff(got, want string) string {
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q; want %q", i+1, gl, wl)
		}
	}
	return "no difference"
}

// checkPrinted asserts that log holds, for each printer pid, lines 1 to the
// count it wrote on exit, once each, whole, in order, all of one pid before
// those of the next.
func checkPrinted(t *testing.T, b *bgGear, log string, pids ...int) {
	t.Helper()
	next := map[int]int{} // pid -> last line seen
	var order []int
	whole := regexp.MustCompile(`^L (\d+) (\d{6}) (\d{6}){8}$`)
	for i, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "L ") || !regexp.MustCompile(`L \d+ \d`).MatchString(line) {
			continue
		}
		m := whole.FindStringSubmatch(line)
		if m == nil || m[3] != m[2] || strings.Repeat(m[2], 8) != line[len(line)-48:] {
			t.Fatalf("log line %d is not a whole printed line: %q", i+1, line)
		}
		pid, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		if n != next[pid]+1 {
			t.Fatalf("log line %d: pid %d line %d follows its line %d", i+1, pid, n, next[pid])
		}
		next[pid] = n
		if !slices.Contains(order, pid) {
			order = append(order, pid)
		} else if order[len(order)-1] != pid {
			t.Fatalf("log line %d: pid %d prints again after pid %d", i+1, pid, order[len(order)-1])
		}
	}
	if !slices.Equal(order, pids) {
		t.Errorf("the log has lines of pids %v; want %v", order, pids)
	}
	for _, pid := range pids {
		data, err := os.ReadFile(filepath.Join(b.app, fmt.Sprintf("count-%d", pid)))
		if err != nil {
			t.Errorf("pid %d did not say how many lines it printed: %v", pid, err)
			continue
		}
		if n, _ := strconv.Atoi(string(data)); n != next[pid] || n == 0 {
			t.Errorf("pid %d printed %d lines; the log has %d", pid, n, next[pid])
		}
		t.Logf("pid %d printed %d lines", pid, next[pid])
	}
}
