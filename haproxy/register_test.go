package haproxy

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// newTestRegistration registers gear g as express/gear with fast checks.
func newTestRegistration(h *testHAProxy, g *testGear) *Registration {
	r := &Registration{Client: h.client, Backend: "express", Server: "gear", Addr: g.addr, Port: g.port}
	fastChecks(r)
	return r
}

// fastChecks tunes r for tests: checks, polls and reconcile steps in
// tenths of a second rather than seconds.
func fastChecks(r *Registration) {
	r.Inter = 100 * time.Millisecond
	r.AgentInter = 100 * time.Millisecond
	r.PollInterval = 20 * time.Millisecond
	r.WaitTimeout = 20 * time.Second
	r.ReconcileInterval = 100 * time.Millisecond
	r.MaxBackoff = 500 * time.Millisecond
}

// TestUpWaitsForPassingCheck: while the gear fails its health check, the
// server is never UP and users get haproxy's 503; once the gear answers,
// Up returns and requests reach it.
func TestUpWaitsForPassingCheck(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	g.healthy.Store(false)
	reg := newTestRegistration(h, g)
	ctx := testCtx(t)

	upDone := make(chan error, 1)
	go func() { upDone <- reg.Up(ctx) }()

	waitFor(t, 10*time.Second, "a failed health check of the unready gear", func() (bool, string) {
		select {
		case err := <-upDone:
			t.Fatalf("Up returned (%v) while the gear failed its checks", err)
		default:
		}
		st, err := h.client.ServerState(ctx, "express", "gear")
		if err != nil {
			return false, err.Error()
		}
		if st.Serving() {
			t.Fatalf("server UP before its check passed: %+v", st)
		}
		stat, err := h.client.ServerStat(ctx, "express", "gear")
		if err != nil {
			return false, err.Error()
		}
		if stat.Status == "UP" {
			t.Fatalf("stats show UP before the check passed: %+v", stat)
		}
		return st.CheckResult == CheckFailed, fmt.Sprintf("%+v", st)
	})
	resp, err := get(h.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != 503 || resp.fromGear {
		t.Fatalf("request while the gear is unready: %+v, want haproxy's own 503", resp)
	}

	g.healthy.Store(true)
	select {
	case err := <-upDone:
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Up did not return after the gear became healthy")
	}
	st, err := reg.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Serving() || !st.Healthy() {
		t.Fatalf("after Up: %+v, want serving with a passed check", st)
	}
	resp, err = get(h.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != 200 || !resp.fromGear {
		t.Fatalf("request after Up: %+v, want the gear's 200", resp)
	}

	// Up again is harmless: same server, still serving.
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	if resp, err := get(h.url("/")); err != nil || !resp.fromGear {
		t.Fatalf("request after second Up: %+v %v", resp, err)
	}
}

func TestUpCheckTimeout(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	g.healthy.Store(false)
	reg := newTestRegistration(h, g)
	reg.WaitTimeout = 500 * time.Millisecond

	err := reg.Up(testCtx(t))
	if !errors.Is(err, ErrCheckTimeout) {
		t.Fatalf("Up with a failing gear = %v, want ErrCheckTimeout", err)
	}
	st, err := reg.State(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.AdminState() != StateDrain {
		t.Fatalf("after a failed Up the server is %s, want drain (no traffic)", st.AdminState())
	}
}

// TestDrainWaitsForInFlightRequest: Drain stops new traffic at once and
// returns only after the slow request finished.
func TestDrainWaitsForInFlightRequest(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	reg := newTestRegistration(h, g)
	ctx := testCtx(t)
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}

	slow := make(chan response, 1)
	go func() {
		resp, err := get(h.url("/slow"))
		if err != nil {
			resp.body = err.Error()
		}
		slow <- resp
	}()
	select {
	case <-g.slowEntered:
	case <-ctx.Done():
		t.Fatal("the slow request never reached the gear")
	}

	drainDone := make(chan error, 1)
	go func() { drainDone <- reg.Drain(ctx, 20*time.Second) }()
	waitFor(t, 10*time.Second, "the server in drain", func() (bool, string) {
		st, err := reg.State(ctx)
		if err != nil {
			return false, err.Error()
		}
		return st.AdminState() == StateDrain, string(st.AdminState())
	})
	// The slow request holds a session, so Drain cannot have returned.
	select {
	case err := <-drainDone:
		t.Fatalf("Drain returned (%v) while a request was in flight", err)
	default:
	}
	resp, err := get(h.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.fromGear {
		t.Fatalf("a new request reached the draining gear: %+v", resp)
	}

	close(g.release)
	select {
	case err := <-drainDone:
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Drain did not return after the request finished")
	}
	if !g.slowDone.Load() {
		t.Fatal("Drain returned before the gear finished the request")
	}
	if r := <-slow; r.status != 200 || r.body != "slow done" {
		t.Fatalf("the in-flight request got %+v, want the gear's full answer", r)
	}
}

func TestDrainTimeout(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	reg := newTestRegistration(h, g)
	ctx := testCtx(t)
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}
	go get(h.url("/slow"))
	<-g.slowEntered
	err := reg.Drain(ctx, 300*time.Millisecond)
	if !errors.Is(err, ErrDrainTimeout) {
		t.Fatalf("Drain with a held request = %v, want ErrDrainTimeout", err)
	}
	close(g.release)
}

// TestDownRemovesServer: after Down haproxy no longer lists the server and
// users get haproxy's 503.
func TestDownRemovesServer(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	reg := newTestRegistration(h, g)
	ctx := testCtx(t)
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if resp, err := get(h.url("/")); err != nil || !resp.fromGear {
		t.Fatalf("request after Up: %+v %v", resp, err)
	}
	if err := reg.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
	states, err := h.client.ShowServersState(ctx, "express")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Name == "gear" {
			t.Fatalf("show servers state still lists the gear after Down: %+v", s)
		}
	}
	resp, err := get(h.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.status != 503 || resp.fromGear {
		t.Fatalf("request after Down: %+v, want haproxy's 503", resp)
	}
	// Down and Drain of an absent server are done already.
	if err := reg.Down(ctx); err != nil {
		t.Fatalf("second Down: %v", err)
	}
	if err := reg.Drain(ctx, time.Second); err != nil {
		t.Fatalf("Drain of an absent server: %v", err)
	}
}

// TestUpReplacesMovedServer: a present server with another port (the gear
// came back elsewhere) is replaced, not reused.
func TestUpReplacesMovedServer(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	ctx := testCtx(t)
	if err := h.client.AddServer(ctx, "express", "gear", "127.0.0.1", freePort(t), ServerOptions{Weight: 1, Check: true}); err != nil {
		t.Fatal(err)
	}
	reg := newTestRegistration(h, g)
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}
	st, err := reg.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Port != g.port || st.InitialWeight != ServerWeight {
		t.Fatalf("after Up: %+v, want port %d weight %d", st, g.port, ServerWeight)
	}
	if resp, err := get(h.url("/")); err != nil || !resp.fromGear {
		t.Fatalf("request after Up: %+v %v", resp, err)
	}
}

// TestReconcileReaddsAfterRestart: haproxy forgets runtime servers when it
// restarts; Reconcile adds the gear back, and acts only then.
func TestReconcileReaddsAfterRestart(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	reg := newTestRegistration(h, g)

	var desired atomic.Value
	desired.Store(DesiredUp)
	var steps, ups, downs atomic.Int64
	reg.onStep = func(s stepResult) {
		steps.Add(1)
		if s.Acted && s.Err == nil {
			switch s.Desired {
			case DesiredUp:
				ups.Add(1)
			case DesiredDown:
				downs.Add(1)
			}
		}
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- reg.Reconcile(ctx, func() Desired { return desired.Load().(Desired) }) }()

	reachesGear := func() (bool, string) {
		resp, err := get(h.url("/"))
		if err != nil {
			return false, err.Error()
		}
		return resp.fromGear, fmt.Sprintf("%+v", resp)
	}
	// settle waits a few more steps: if the loop flapped, it would act.
	settle := func(wantUps int64) {
		t.Helper()
		n := steps.Load()
		waitFor(t, 10*time.Second, "five more reconcile steps", func() (bool, string) {
			return steps.Load() >= n+5, fmt.Sprint(steps.Load() - n)
		})
		if got := ups.Load(); got != wantUps {
			t.Fatalf("Reconcile brought the server up %d times, want %d", got, wantUps)
		}
	}

	waitFor(t, 10*time.Second, "the gear reachable through haproxy", reachesGear)
	settle(1)

	h.restart()
	if _, err := h.client.ServerState(ctx, "express", "gear"); !errors.Is(err, ErrNoSuchServer) {
		t.Logf("restarted haproxy already lists the gear (%v); Reconcile was quick", err)
	}
	waitFor(t, 15*time.Second, "the gear reachable again after haproxy restarted", reachesGear)
	settle(2)

	desired.Store(DesiredDown)
	reg.Kick()
	waitFor(t, 10*time.Second, "the gear removed", func() (bool, string) {
		_, err := h.client.ServerState(ctx, "express", "gear")
		return errors.Is(err, ErrNoSuchServer), fmt.Sprint(err)
	})
	if downs.Load() != 1 {
		t.Fatalf("Reconcile removed the server %d times, want 1", downs.Load())
	}

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Reconcile returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Reconcile did not return after its context ended")
	}
}

// TestReconcileSurvivesUnreachableAPI: while haproxy is gone the loop backs
// off; when haproxy comes back it registers the gear.
func TestReconcileSurvivesUnreachableAPI(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	reg := newTestRegistration(h, g)
	h.kill(9)

	var failures atomic.Int64
	reg.onStep = func(s stepResult) {
		if errors.Is(s.Err, ErrUnavailable) {
			failures.Add(1)
		}
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go reg.Reconcile(ctx, func() Desired { return DesiredUp })
	waitFor(t, 10*time.Second, "a failed step while haproxy is down", func() (bool, string) {
		return failures.Load() >= 2, fmt.Sprint(failures.Load())
	})
	h.start()
	waitFor(t, 15*time.Second, "the gear reachable after haproxy came back", func() (bool, string) {
		resp, err := get(h.url("/"))
		if err != nil {
			return false, err.Error()
		}
		return resp.fromGear, fmt.Sprintf("%+v", resp)
	})
}

func TestRegistrationValidates(t *testing.T) {
	c, _ := New("unix:/nonexistent.sock")
	ctx := testCtx(t)
	for _, r := range []*Registration{
		{Backend: "express", Server: "g", Addr: "127.0.0.1", Port: 80},
		{Client: c, Backend: "exp ress", Server: "g", Addr: "127.0.0.1", Port: 80},
		{Client: c, Backend: "express", Server: "g;x", Addr: "127.0.0.1", Port: 80},
		{Client: c, Backend: "express", Server: "g", Addr: "localhost", Port: 80},
		{Client: c, Backend: "express", Server: "g", Addr: "127.0.0.1", Port: 0},
		{Client: c, Backend: "express", Server: "g", Addr: "127.0.0.1", Port: 80, AgentPort: 70000},
	} {
		if err := r.Up(ctx); !errors.Is(err, ErrInvalid) {
			t.Errorf("Up(%+v) = %v, want ErrInvalid", r, err)
		}
	}
}
