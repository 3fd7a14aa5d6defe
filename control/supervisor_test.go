package control

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestReadyServesAndStopsGracefully(t *testing.T) {
	port := freePort(t)
	g := startGear(t, childSpec(t, "http", port))
	st := g.waitState(t, Ready)
	code, body, err := get(t, port, "/")
	if err != nil || code != 200 {
		t.Fatalf("GET / = %d %v", code, err)
	}
	if pid, _ := strconv.Atoi(strings.Fields(body)[0]); pid != st.PID {
		t.Fatalf("status says pid %d, the server that answered is %d", st.PID, pid)
	}
	if st.ReadyAt.IsZero() || st.SupervisorPID == 0 {
		t.Fatalf("status incomplete: %+v", st)
	}

	// A request in flight when the stop comes still gets its answer.
	slow := make(chan string, 1)
	go func() {
		code, _, err := get(t, port, "/slow")
		slow <- fmt.Sprint(code, " ", errString(err))
	}()
	waitOutput(t, g.out, "slow request started")
	g.sup.Stop()
	if err := g.wait(t); err != nil {
		t.Fatalf("Run after a requested stop: %v", err)
	}
	if got := <-slow; got != "200 " {
		t.Fatalf("in-flight request got %q during graceful stop", got)
	}
	noDescendants(t)
	if st := g.sup.Status(); st.State != Stopped || st.LastExit == nil || st.LastExit.Code != 0 || st.LastExit.Signal != "" {
		t.Fatalf("after stop: state %s, last exit %+v; want stopped, exit status 0", st.State, st.LastExit)
	}
}

// waitOutput waits until the supervised output holds want: the server says
// when a request is in flight, so a test knows it is not in the backlog.
func waitOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never said %q:\n%s", want, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKilledMasterIsRestarted(t *testing.T) {
	port := freePort(t)
	g := startGear(t, childSpec(t, "http", port))
	first := g.waitState(t, Ready)
	syscall.Kill(first.PID, syscall.SIGKILL)
	second := g.waitState(t, Ready)
	if second.PID == first.PID || second.Restarts != 1 {
		t.Fatalf("after SIGKILL: pid %d -> %d, restarts %d", first.PID, second.PID, second.Restarts)
	}
	if second.LastExit == nil || second.LastExit.Signal != "SIGKILL" {
		t.Fatalf("last exit = %+v, want SIGKILL", second.LastExit)
	}
	if code, _, err := get(t, port, "/"); code != 200 {
		t.Fatalf("after restart GET / = %d %v", code, err)
	}
}

func TestServerThatExitsAtStartFails(t *testing.T) {
	g := startGear(t, childSpec(t, "exit", freePort(t)))
	err := g.wait(t)
	var fe *FailError
	if !errors.As(err, &fe) {
		t.Fatalf("Run = %v, want a FailError", err)
	}
	if fe.Reason != FailExited || !strings.Contains(fe.Cause, "exit status 3") {
		t.Fatalf("reason %s, cause %q; want exited, naming the exit status", fe.Reason, fe.Cause)
	}
	if !strings.Contains(fe.Tail(), "failing at import") {
		t.Fatalf("last lines do not carry the server's output: %q", fe.Tail())
	}
	if st := g.sup.Status(); st.State != Failed {
		t.Fatalf("state = %s, want failed", st.State)
	}
	noDescendants(t)
}

func TestCrashLoopAfterReadyFails(t *testing.T) {
	g := startGear(t, childSpec(t, "die-soon", freePort(t)))
	err := g.wait(t)
	var fe *FailError
	if !errors.As(err, &fe) || fe.Reason != FailExited || !strings.Contains(fe.Cause, "exit status 4 within 1s of being ready") {
		t.Fatalf("Run = %v, want failed after 5 quick exits", err)
	}
	noDescendants(t)
}

func TestNotReadyWithinTimeoutFails(t *testing.T) {
	spec := childSpec(t, "500", freePort(t))
	spec.StartTimeout = time.Second
	g := startGear(t, spec)
	err := g.wait(t)
	var fe *FailError
	if !errors.As(err, &fe) || fe.Reason != FailNotReady || !strings.Contains(fe.Cause, "500") {
		t.Fatalf("Run = %v, want not ready within 1s with the 500", err)
	}
	noDescendants(t)
}

func TestStopKillsWhatIgnoresTheStopSignal(t *testing.T) {
	spec := childSpec(t, "ignore-term", freePort(t))
	spec.StopTimeout = 300 * time.Millisecond
	g := startGear(t, spec)
	g.waitState(t, Ready)
	g.sup.Stop()
	if err := g.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if e := g.sup.Status().LastExit; e == nil || e.Signal != "SIGKILL" {
		t.Fatalf("last exit = %+v, want SIGKILL after the stop timeout", e)
	}
	noDescendants(t)
}

func TestOrphansOfTheServerAreEndedAtStop(t *testing.T) {
	g := startGear(t, childSpec(t, "forker", freePort(t)))
	st := g.waitState(t, Ready)
	// The forker's grandchild called setsid, so neither its group nor the
	// master's tree holds it: only the subreaper sees it.
	deadline := time.Now().Add(5 * time.Second)
	for len(Descendants(st.SupervisorPID)) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(Descendants(st.SupervisorPID)); n < 2 {
		t.Fatalf("expected the server and its daemon, found %d processes", n)
	}
	g.sup.Stop()
	if err := g.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	noDescendants(t)
}

func TestReloadKeepsThePID(t *testing.T) {
	port := freePort(t)
	g := startGear(t, childSpec(t, "http", port))
	before := g.waitState(t, Ready)
	if err := g.sup.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	after := g.sup.Status()
	if after.PID != before.PID || after.State != Ready {
		t.Fatalf("after reload: pid %d -> %d, state %s", before.PID, after.PID, after.State)
	}
	if code, _, err := get(t, port, "/"); code != 200 {
		t.Fatalf("after reload GET / = %d %v", code, err)
	}
}

// TestRestartRefusesNoConnection restarts under a bounded load loop of new
// connections: the socket stays open in the supervisor, so none may be
// refused and every answer must be a 200.
func TestRestartRefusesNoConnection(t *testing.T) {
	port := freePort(t)
	spec := childSpec(t, "http", port)
	g := startGear(t, spec)
	g.waitState(t, Ready)

	var (
		mu       sync.Mutex
		failures []string
		answers  int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, _, err := get(t, port, "/")
				mu.Lock()
				answers++
				if err != nil || code != 200 {
					failures = append(failures, strconv.Itoa(code)+" "+errString(err))
				}
				mu.Unlock()
			}
		}()
	}
	pids := map[int]bool{}
	for i := range 5 {
		next := spec
		next.Env = append(spec.Env, "VERSION=v"+strconv.Itoa(i))
		if err := g.sup.Restart(context.Background(), next); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		pids[g.sup.Status().PID] = true
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during restarts, first: %s", len(failures), answers, failures[0])
	}
	if len(pids) != 5 {
		t.Fatalf("5 restarts gave %d distinct pids", len(pids))
	}
	if _, body, _ := get(t, port, "/"); !strings.Contains(body, "v4") {
		t.Fatalf("the last spec is not the one serving: %q", body)
	}
}

func TestFailedRestartKeepsTheOldServer(t *testing.T) {
	port := freePort(t)
	g := startGear(t, childSpec(t, "http", port))
	before := g.waitState(t, Ready)
	err := g.sup.Restart(context.Background(), childSpec(t, "exit", port))
	var fe *FailError
	if !errors.As(err, &fe) || fe.Reason != FailExited || fe.Serving != before.PID {
		t.Fatalf("restart onto a failing server = %v; want exited, pid %d serving", err, before.PID)
	}
	after := g.sup.Status()
	if after.PID != before.PID || after.State != Ready {
		t.Fatalf("after rollback: pid %d -> %d, state %s", before.PID, after.PID, after.State)
	}
	if code, _, err := get(t, port, "/"); code != 200 {
		t.Fatalf("after rollback GET / = %d %v", code, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
