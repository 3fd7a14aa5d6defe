package pidfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Tests that need another process re-run this test binary as that process,
// as os/exec's exec_test.go does: TestMain sees the helper variable and runs
// the helper instead of the tests.
const (
	helperEnv    = "PIDFILE_TEST_HELPER"
	helperArgEnv = "PIDFILE_TEST_HELPER_ARG"
)

// waitLimit bounds every wait for another process. It is a deadline for
// failing a stuck test, never a delay that synchronisation depends on.
const waitLimit = 10 * time.Second

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name, os.Getenv(helperArgEnv)))
	}
	os.Exit(m.Run())
}

// runHelper is the body of a helper process. Every helper exits when its
// stdin reaches EOF, so a helper can never outlive the test that started
// it: the pipe closes when the test process dies, however it dies.
func runHelper(name, arg string) int {
	exitOnEOF := func(code int) {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(code)
	}
	switch name {
	case "idle":
		// Lives until its stdin closes, then exits 0.
		fmt.Println("ready")
		exitOnEOF(0)

	case "comm":
		// Gives itself a command name that a naive parser of
		// /proc/PID/stat would split into bogus fields, the state "Z"
		// among them. Writing /proc/self/comm renames the thread group
		// leader, which is what /proc/PID/stat shows.
		if err := os.WriteFile("/proc/self/comm", []byte(arg), 0); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("ready")
		exitOnEOF(0)

	case "signals":
		// Reports every signal it receives, one line each, and exits on
		// SIGTERM. Notify comes before "ready", so no signal can hit the
		// default action after the test has seen "ready".
		ch := make(chan os.Signal, 8)
		signal.Notify(ch, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM)
		go exitOnEOF(3)
		fmt.Println("ready")
		for sig := range ch {
			fmt.Println("got", unix.SignalName(sig.(syscall.Signal)))
			if sig == syscall.SIGTERM {
				return 0
			}
		}

	case "lock":
		// Tries the lock on arg and reports; holds it until stdin closes.
		_, err := TryLock(arg)
		switch {
		case errors.Is(err, ErrLocked):
			fmt.Println("locked-out")
			return 0
		case err != nil:
			fmt.Println("error:", err)
			return 1
		}
		// The *Lock is dropped and collected: the lock must still be held
		// until this process exits.
		runtime.GC()
		runtime.GC()
		fmt.Println("holding")
		exitOnEOF(0)
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
	return 2
}

// helper is a running helper process.
type helper struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout, line by line; closed at EOF
}

// startHelper starts the named helper and, unless it is expected to answer
// at once with something else, waits for its "ready" line.
func startHelper(t *testing.T, name, arg string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, helperArgEnv+"="+arg)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(h.stop)
	return h
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

// line returns the helper's next line of output, failing the test if none
// comes before the deadline.
func (h *helper) line() string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatalf("helper %d: output ended", h.pid())
		}
		return l
	case <-time.After(waitLimit):
		h.t.Fatalf("helper %d: no output within %v", h.pid(), waitLimit)
		return ""
	}
}

func (h *helper) expect(want string) {
	h.t.Helper()
	if got := h.line(); got != want {
		h.t.Fatalf("helper %d said %q, want %q", h.pid(), got, want)
	}
}

// rest returns everything the helper prints until it closes its output.
func (h *helper) rest() []string {
	h.t.Helper()
	var out []string
	deadline := time.After(waitLimit)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				return out
			}
			out = append(out, l)
		case <-deadline:
			h.t.Fatalf("helper %d: output still open after %v", h.pid(), waitLimit)
		}
	}
}

// reap waits for the helper to exit and returns its wait error. The wait
// is bounded: a helper still running at the deadline fails the test.
func (h *helper) reap() error {
	h.t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit):
		h.t.Fatalf("helper %d: still running after %v", h.pid(), waitLimit)
		return nil
	}
}

// stop ends the helper if a test left it running: closing stdin asks it to
// exit, and SIGKILL, sent through os.Process (a pidfd on this kernel) to
// our own unreaped child, ends it if it does not.
func (h *helper) stop() {
	h.stdin.Close()
	if h.cmd.ProcessState == nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	}
}
