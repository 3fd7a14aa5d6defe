package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the fault tests (faults_test.go): what a process holds, a
// bystander process that records every signal sent to it, and waits on a
// gear's own account of itself.

// readyUptime is how long a server must have been ready for its death to
// count as a crash, restarted at once, rather than as a failed start
// (control.minUptime, supervisord's startsecs).
const readyUptime = time.Second

// failedStartsMax failed starts in a row make a gear failed
// (control.maxStartFailures).
const failedStartsMax = 5

// openFDs lists what the file descriptors of pid point to ("socket:[N]",
// "pipe:[N]", "anon_inode:[pidfd]", paths), sorted.
func openFDs(t *testing.T, pid int) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("fds of pid %d: %v", pid, err)
	}
	var fds []string
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
			fds = append(fds, target)
		}
	}
	slices.Sort(fds)
	return fds
}

// extraFDs is what more holds beyond base, as kinds of fd ("socket", "pipe",
// "anon_inode:[pidfd]", a path): the numbers in brackets change as
// sockets and pipes are replaced.
func extraFDs(base, more []string) []string {
	kind := func(fd string) string {
		if k, _, ok := strings.Cut(fd, ":["); ok && !strings.HasPrefix(fd, "anon_inode:") {
			return k
		}
		return fd
	}
	left := map[string]int{}
	for _, fd := range base {
		left[kind(fd)]++
	}
	var out []string
	for _, fd := range more {
		if left[kind(fd)] > 0 {
			left[kind(fd)]--
			continue
		}
		out = append(out, fd)
	}
	return out
}

// procStatus is one field of /proc/PID/status, "" if absent.
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// threadCount is how many OS threads pid runs.
func threadCount(t *testing.T, pid int) int {
	t.Helper()
	n, err := strconv.Atoi(procStatus(pid, "Threads"))
	if err != nil {
		t.Fatalf("threads of pid %d: %v", pid, err)
	}
	return n
}

// goroutines makes the Go program pid dump its goroutines with SIGQUIT,
// which ends it, and reads the dump from stderr, where it writes it once
// done is closed. It returns the count of goroutines running code other
// than the runtime's own (GC workers, the finalizer and the like come and
// go with collections), by the function that created them.
func goroutines(t *testing.T, pid int, done <-chan struct{}, stderr *stream) map[string]int {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		t.Fatalf("SIGQUIT to pid %d: %v", pid, err)
	}
	select {
	case <-done:
	case <-time.After(waitExit):
		t.Fatalf("pid %d still runs %s after SIGQUIT", pid, waitExit)
	}
	stderr.waitEOF(5 * time.Second)
	_, dump, ok := strings.Cut(stderr.text(), "SIGQUIT: quit\n")
	if !ok {
		t.Fatalf("pid %d wrote no goroutine dump", pid)
	}
	byCreator := map[string]int{}
	for _, block := range regexp.MustCompile(`(?m)^goroutine \d+ .*\[.*\]:$`).Split(dump, -1)[1:] {
		own, creator := false, "main"
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "created by "):
				creator = strings.Fields(line)[2]
			case line != "" && !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "runtime.") &&
				!strings.HasPrefix(line, "..."):
				own = true
			}
		}
		if own {
			byCreator[creator]++
		}
	}
	return byCreator
}

// sumCounts adds up the counts.
func sumCounts(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// bystander is a process group of the tests' own user that has nothing to
// do with any gear: a leader and its child, both blocking every signal that
// can be blocked, so that any signal sent to either stays pending where
// /proc shows it. SIGKILL would end it and SIGSTOP stop it, both visible.
type bystander struct {
	leader, child proc
	stdin         io.Closer
}

const bystanderSource = `import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
child = os.fork()
if child == 0:
    sys.stdin.read()
    os._exit(0)
print(child, flush=True)
sys.stdin.read()
`

func startBystander(t *testing.T) *bystander {
	t.Helper()
	cmd := exec.Command("python3", "-c", bystanderSource)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	leader := cmd.Process.Pid
	t.Cleanup(func() {
		in.Close()
		syscall.Kill(-leader, syscall.SIGKILL)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("bystander pid %d: %v", leader, err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(line))
	return &bystander{leader: mustProc(t, leader), child: mustProc(t, child), stdin: in}
}

// assertUntouched fails if a signal reached either process: gone,
// stopped, or with a signal pending.
func (b *bystander) assertUntouched(t *testing.T, after string) {
	t.Helper()
	for _, p := range []proc{b.leader, b.child} {
		now, ok := readProc(p.pid)
		switch {
		case !ok || now.start != p.start:
			t.Fatalf("%s: bystander pid %d is gone", after, p.pid)
		case now.state == 'T' || now.state == 'Z':
			t.Fatalf("%s: bystander pid %d is in state %c", after, p.pid, now.state)
		}
		for _, f := range []string{"SigPnd", "ShdPnd"} {
			if v := procStatus(p.pid, f); strings.Trim(v, "0") != "" {
				t.Fatalf("%s: bystander pid %d got a signal: %s %s", after, p.pid, f, v)
			}
		}
	}
}

// waitReadyFor waits until status says the gear is ready and then until its
// ready_at, the supervisor's own account, lies more than d back; it returns
// that status.
func (b *bgGear) waitReadyFor(d time.Duration) gearStatus {
	b.t.Helper()
	deadline := time.Now().Add(waitLine)
	for {
		st, code := b.status()
		if code == 0 && st.State == "ready" && !st.ReadyAt.IsZero() {
			// Nothing is to be seen until then: ready_at stays what it is
			// for as long as this master lives.
			time.Sleep(time.Until(st.ReadyAt.Add(d)))
			return st
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("status: exit %d, state %q; not ready for %s within %s", code, st.State, d, waitLine)
		}
		time.Sleep(pollEvery)
	}
}

// pollStatus polls status until cond holds, and returns that status.
func (b *bgGear) pollStatus(what string, cond func(gearStatus) bool) gearStatus {
	b.t.Helper()
	var st gearStatus
	if !eventually(waitLine, func() bool {
		st, _ = b.status()
		return cond(st)
	}) {
		b.t.Fatalf("status is not %s within %s: state %q, pid %d", what, waitLine, st.State, st.PID)
	}
	return st
}

// waitSettled waits until status says ready (0) or not running (3), and
// returns it: a gear left in between by concurrent commands must get
// there by itself.
func (b *bgGear) waitSettled() (gearStatus, int) {
	b.t.Helper()
	var st gearStatus
	var code int
	if !eventually(waitExit, func() bool {
		st, code = b.status()
		return code == 0 || code == 3
	}) {
		b.t.Fatalf("the gear did not settle within %s: status exit %d, state %q, detail %q", waitExit, code, st.State, st.Detail)
	}
	return st, code
}

// statusLogError is status --json's log_error.
func (b *bgGear) statusLogError() string {
	b.t.Helper()
	r := b.do("status", "--json")
	var st struct {
		LogError string `json:"log_error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		b.t.Fatalf("status --json (exit %d) is not JSON: %v\n%s", r.code, err, r.stderr)
	}
	return st.LogError
}

// serverLogText is the gear's server.log in the default log directory.
func (b *bgGear) serverLogText() string {
	b.t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, "logs", "server.log"))
	if err != nil && !os.IsNotExist(err) {
		b.t.Fatal(err)
	}
	return string(data)
}

// spawnsIn counts the server starts a log records ("SERVER pid N listening
// on ...") and the waits before each retry ("restarting in D").
func spawnsIn(log string) (spawns int, waits []time.Duration) {
	spawns = len(regexp.MustCompile(`(?m)`+logRE+`\S+ pid \d+ listening on `).FindAllString(log, -1))
	for _, m := range regexp.MustCompile(`(?m)restarting in (\S+)$`).FindAllStringSubmatch(log, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			d = -1 // not a duration: never a wait the test wants
		}
		waits = append(waits, d)
	}
	return spawns, waits
}

// tcpListeners are the ports pid listens on over TCP, IPv4 or IPv6.
func tcpListeners(pid int) []int {
	inodes := map[uint64]bool{}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			if n := socketInode(pid, fd); n != 0 {
				inodes[n] = true
			}
		}
	}
	var ports []int
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			if n, _ := strconv.ParseUint(f[9], 10, 64); inodes[n] {
				ports = append(ports, hexPort(f[1]))
			}
		}
	}
	return ports
}
