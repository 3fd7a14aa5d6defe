package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Any number of concurrent stops join the first: none closes a channel
// twice, none escalates to SIGKILL, and a request in flight still gets its
// answer. Half go through the control API, as concurrent `gearctl stop`s do.
func TestConcurrentStopsJoinTheGracefulStop(t *testing.T) {
	port := freePort(t)
	g := startGear(t, childSpec(t, "http", port))
	g.waitState(t, Ready)
	sock := filepath.Join(t.TempDir(), "control.sock")
	api, err := ServeAPI(g.sup, sock, APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	slow := make(chan string, 1)
	go func() {
		code, _, err := get(t, port, "/slow")
		slow <- fmt.Sprint(code, " ", errString(err))
	}()
	waitOutput(t, g.out, "slow request started")
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				g.sup.Stop()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			NewClient(sock).Stop(ctx, false, 0) // late ones find the API closed
		}()
	}
	wg.Wait()
	if err := g.wait(t); err != nil {
		t.Fatalf("Run after concurrent stops: %v", err)
	}
	if got := <-slow; got != "200 " {
		t.Fatalf("in-flight request got %q: a second stop must not kill", got)
	}
	if e := g.sup.Status().LastExit; e == nil || e.Signal != "" {
		t.Fatalf("last exit = %+v, want the server's own graceful exit", e)
	}
	noDescendants(t)
}

// Kill, as `stop --now` and a second TERM do, ends a graceful stop that
// would take the whole stop timeout.
func TestKillEndsAGracefulStopAtOnce(t *testing.T) {
	spec := childSpec(t, "ignore-term", freePort(t))
	spec.StopTimeout = time.Minute
	g := startGear(t, spec)
	g.waitState(t, Ready)
	g.sup.Stop()
	g.waitState(t, Stopping)
	g.sup.Kill()
	if err := g.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if e := g.sup.Status().LastExit; e == nil || e.Signal != "SIGKILL" {
		t.Fatalf("last exit = %+v, want SIGKILL", e)
	}
	noDescendants(t)
}

// A helper process the application started lives on across a reload: the
// reload waits for the server's own workers only, not for it.
func TestReloadDoesNotWaitForHelpers(t *testing.T) {
	g := startGear(t, childSpec(t, "helper", freePort(t)))
	before := g.waitState(t, Ready)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.sup.Reload(ctx); err != nil {
		t.Fatalf("Reload with a helper process: %v", err)
	}
	if st := g.sup.Status(); st.State != Ready || st.PID != before.PID {
		t.Fatalf("after reload: %s pid %d, want ready pid %d", st.State, st.PID, before.PID)
	}
}

// A server that stops answering (SIGSTOP) is unready at its first failed
// liveness probe and restarted, as a crash, after ProbeFailures of them.
func TestLivenessProbeRestartsAServerThatDoesNotAnswer(t *testing.T) {
	spec := childSpec(t, "http", freePort(t))
	spec.ProbeInterval, spec.ProbeFailures = 200*time.Millisecond, 3
	g := startGear(t, spec)
	first := g.waitState(t, Ready)
	if err := syscall.Kill(first.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if st := g.waitState(t, Unready); st.PID != first.PID || !strings.Contains(st.Detail, "liveness") {
		t.Fatalf("unready: pid %d %q; want pid %d with the failed probe", st.PID, st.Detail, first.PID)
	}
	next := g.waitState(t, Ready)
	if next.PID == first.PID || next.Restarts != 1 || next.LastExit == nil || next.LastExit.Signal != "SIGKILL" {
		t.Fatalf("after the probes failed: pid %d restarts %d last exit %+v; want a new pid, 1 restart, SIGKILL",
			next.PID, next.Restarts, next.LastExit)
	}
}

// A supervisor that takes a request and never answers (SIGSTOPped) makes
// the client give up after Grace with ErrNoAnswer, not wait forever.
func TestClientGivesUpOnASupervisorThatDoesNotAnswer(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The kernel accepts the connection, as for a stopped process.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := NewClient(sock).Status(context.Background())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "does not answer") {
			t.Fatalf("Status = %v, want ErrNoAnswer", err)
		}
	case <-time.After(Grace + 20*time.Second):
		t.Fatal("the client never gave up")
	}
}
