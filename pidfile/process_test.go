package pidfile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// deadline bounds a Wait so that a stuck test fails instead of hanging.
func deadline(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitLimit)
}

func TestOpenSignalWaitChild(t *testing.T) {
	h := startHelper(t, "signals", "")
	h.expect("ready")
	dir := t.TempDir()
	path := dir + "/server.pid"
	if err := Write(path, h.pid()); err != nil {
		t.Fatal(err)
	}
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.PID() != h.pid() || p.Record() != r {
		t.Fatalf("process %d %+v, want %d %+v", p.PID(), p.Record(), h.pid(), r)
	}

	// Signal 0 probes without delivering anything.
	if err := p.Signal(syscall.Signal(0)); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	h.expect("got SIGHUP")
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	h.expect("got SIGTERM")

	ctx, cancel := deadline(t)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.reap(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal after exit: %v, want os.ErrProcessDone", err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("signal after Close: %v, want os.ErrClosed", err)
	}
	if err := p.Wait(ctx); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("wait after Close: %v, want os.ErrClosed", err)
	}
}

// Wait works for a process that is not our child: this is how a new
// supervisor adopts a server left behind by a killed one. The shell starts
// a grandchild in the background and exits, so the grandchild is
// reparented away from us.
func TestWaitNonChild(t *testing.T) {
	out, err := exec.Command("sh", "-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("shell printed %q: %v", out, err)
	}
	r, err := Lookup(pid)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// If the test fails before the kill below, the pidfd still names the
	// grandchild, so this cannot hit a reused PID.
	t.Cleanup(func() { p.Signal(syscall.SIGKILL) })

	ppid := parentOf(t, pid)
	if ppid == os.Getpid() {
		t.Fatalf("grandchild %d is our child", pid)
	}

	// Killed by PID, from outside the Process, as an operator would.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := deadline(t)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	assertStale(t, r, "killed grandchild")
}

func TestWaitCancel(t *testing.T) {
	r, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a cancelled context: %v", err)
	}

	// Cancelled while waiting, from another goroutine.
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Wait(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("wait cancelled midway: %v", err)
	}
}

// Two Waits on one Process are independent: cancelling one leaves the
// other waiting for the exit.
func TestConcurrentWaits(t *testing.T) {
	h := startHelper(t, "idle", "")
	h.expect("ready")
	r, err := Lookup(h.pid())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := deadline(t)
	defer cancelB()
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { errA <- p.Wait(ctxA) }()
	go func() { errB <- p.Wait(ctxB) }()
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-errB; err != nil {
		t.Fatalf("other wait: %v", err)
	}
	h.reap()
}

func TestSignalRejectsNonSyscallSignal(t *testing.T) {
	r, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Signal(fakeSignal{}); !errors.Is(err, os.ErrInvalid) {
		t.Fatalf("got %v, want os.ErrInvalid", err)
	}
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}

// parentOf returns the parent PID of pid from /proc/PID/stat (field 4).
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}
