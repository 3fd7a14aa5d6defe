package haproxy

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/control"
)

// hangBound is how long a call that must not wait for haproxy may take
// before the test calls it hung: far above anything it does, so it only
// fails on a hang, never on a slow machine.
const hangBound = 20 * time.Second

// servingFollower is a follower of a ready gear, registered with a new
// haproxy and serving through it.
func servingFollower(t *testing.T, drain time.Duration) (*testHAProxy, *testGear, *Follower) {
	t.Helper()
	h := startHAProxy(t, "")
	g := startGear(t)
	f := newTestFollower(t, h, g, drain)
	f.OnChange(control.Status{State: control.Ready})
	waitServing(t, h, f)
	return h, g, f
}

// newTestFollower follows gear g as express/gear, with fast checks and a
// client that gives up on haproxy after a second.
func newTestFollower(t *testing.T, h *testHAProxy, g *testGear, drain time.Duration) *Follower {
	t.Helper()
	c, err := New("unix:" + h.sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = time.Second
	f, err := Follow(FollowConfig{Client: c, Backend: "express", Server: "gear",
		Addr: g.addr, Port: g.port, Drain: drain, tune: fastChecks})
	if err != nil {
		t.Fatal(err)
	}
	// Tests that close it themselves leave its loops ended.
	t.Cleanup(func() {
		if !f.cur.ended() {
			f.Close()
		}
	})
	return f
}

// within runs fn and fails the test if it has not returned after
// hangBound.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(hangBound):
		t.Fatalf("%s did not return within %s: it waits on haproxy", what, hangBound)
	}
}

// report is f.Report, failing the test if it hangs.
func report(t *testing.T, f *Follower) control.BalancerReport {
	t.Helper()
	var r control.BalancerReport
	within(t, "Report", func() { r = f.Report() })
	return r
}

// waitServing waits until f reports the gear ready and healthy and
// haproxy routes to it.
func waitServing(t *testing.T, h *testHAProxy, f *Follower) {
	t.Helper()
	waitFor(t, 10*time.Second, "the gear reported ready and healthy", func() (bool, string) {
		r := report(t, f)
		return r.State == "ready" && r.Healthy != nil && *r.Healthy && r.Error == "", fmt.Sprintf("%+v", r)
	})
	waitFor(t, 10*time.Second, "the gear reachable through haproxy", func() (bool, string) {
		resp, err := get(h.url("/"))
		if err != nil {
			return false, err.Error()
		}
		return resp.fromGear, fmt.Sprintf("%+v", resp)
	})
}

// stopped SIGSTOPs haproxy until the test ends or the returned func
// continues it.
func stopped(t *testing.T, h *testHAProxy) (cont func()) {
	h.signal(syscall.SIGSTOP)
	done := false
	cont = func() {
		if !done {
			done = true
			h.signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(cont)
	return cont
}

func TestDesiredFollowsTheGear(t *testing.T) {
	for _, c := range []struct {
		state    control.State
		draining bool
		want     Desired
	}{
		{control.Starting, false, DesiredDrain},
		{control.Ready, false, DesiredUp},
		{control.Reloading, false, DesiredUp},
		{control.Restarting, false, DesiredUp},
		{control.Restarting, true, DesiredDrain},
		{control.Backoff, false, DesiredDrain},
		{control.Stopping, false, DesiredDrain},
		{control.Stopping, true, DesiredDrain},
		{control.Unready, false, DesiredDown},
		{control.Stopped, false, DesiredDown},
		{control.Failed, false, DesiredDown},
	} {
		if got := desiredFor(c.state, c.draining); got != c.want {
			t.Errorf("desiredFor(%s, draining %v) = %s, want %s", c.state, c.draining, got, c.want)
		}
	}
}

// TestFollowerReportsWithoutAskingHAProxy: status reads what the follower
// last learned, so it answers at once while haproxy is hung, with the
// state learned before and why it is not newer.
func TestFollowerReportsWithoutAskingHAProxy(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	f := newTestFollower(t, h, g, 5*time.Second)
	if r := report(t, f); r.Desired != "drain" || r.Backend != "express" || r.Server != "gear" {
		t.Errorf("a starting gear reports %+v; want desired drain, express/gear", r)
	}
	f.OnChange(control.Status{State: control.Ready})
	waitServing(t, h, f)
	learnedAt := report(t, f).LearnedAt

	cont := stopped(t, h)
	waitFor(t, 10*time.Second, "the report to say haproxy does not answer", func() (bool, string) {
		r := report(t, f)
		return strings.Contains(r.Error, ErrUnavailable.Error()), fmt.Sprintf("%+v", r)
	})
	r := report(t, f)
	if r.State != "ready" || r.Healthy == nil || !*r.Healthy || r.LearnedAt.Before(learnedAt) {
		t.Errorf("with haproxy hung the report is %+v; want the ready, healthy state learned at %s or later", r, learnedAt)
	}

	cont()
	waitFor(t, 10*time.Second, "the report to clear its error", func() (bool, string) {
		r := report(t, f)
		return r.Error == "" && r.LearnedAt.After(learnedAt), fmt.Sprintf("%+v", r)
	})
}

// TestFollowerBeforeStopWaitsForSessions: BeforeStop drains the server at
// once and returns only after the request in flight has finished.
func TestFollowerBeforeStopWaitsForSessions(t *testing.T) {
	h, g, f := servingFollower(t, 20*time.Second)

	slow := make(chan response, 1)
	go func() {
		resp, err := get(h.url("/slow"))
		if err != nil {
			resp.body = err.Error()
		}
		slow <- resp
	}()
	<-g.slowEntered
	f.OnChange(control.Status{State: control.Stopping})
	stopped := make(chan error, 1)
	go func() { stopped <- f.BeforeStop() }()
	ctx := testCtx(t)
	waitFor(t, 10*time.Second, "the server in drain", func() (bool, string) {
		st, err := h.client.ServerState(ctx, "express", "gear")
		if err != nil {
			return false, err.Error()
		}
		return st.AdminState() == StateDrain, string(st.AdminState())
	})
	select {
	case err := <-stopped:
		t.Fatalf("BeforeStop returned (%v) while a request was in flight", err)
	default:
	}
	if resp, err := get(h.url("/")); err != nil || resp.fromGear {
		t.Fatalf("a new request reached the draining gear: %+v (%v)", resp, err)
	}
	close(g.release)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("BeforeStop: %v", err)
		}
	case <-time.After(hangBound):
		t.Fatal("BeforeStop did not return after the request finished")
	}
	if r := <-slow; r.status != 200 || r.body != "slow done" {
		t.Fatalf("the request in flight got %+v, want the gear's whole answer", r)
	}
}

// TestFollowerDrainBoundedByTimeout: a session that does not end holds
// BeforeStop no longer than the drain timeout, and it says so.
func TestFollowerDrainBoundedByTimeout(t *testing.T) {
	h, g, f := servingFollower(t, 300*time.Millisecond)
	go get(h.url("/slow"))
	<-g.slowEntered
	var err error
	within(t, "BeforeStop with a session held open", func() { err = f.BeforeStop() })
	if !errors.Is(err, ErrDrainTimeout) {
		t.Errorf("BeforeStop with a session held open = %v; want ErrDrainTimeout", err)
	}
	close(g.release)
}

// TestFollowerRestartDrainsThenUp: a restart that stops the old server
// first drains the gear, and the new one being ready brings it back: the
// loop knows it drained the server, so it does not take the drain for an
// operator's and leave it.
func TestFollowerRestartDrainsThenUp(t *testing.T) {
	h, _, f := servingFollower(t, 5*time.Second)
	f.OnChange(control.Status{State: control.Restarting})
	var err error
	within(t, "BeforeStop", func() { err = f.BeforeStop() })
	if err != nil {
		t.Fatalf("BeforeStop: %v", err)
	}
	if r := report(t, f); r.Desired != "drain" || r.State != "drain" {
		t.Errorf("after the drain the report is %+v; want desired and state drain", r)
	}
	f.OnChange(control.Status{State: control.Ready})
	waitServing(t, h, f)
}

// TestFollowerHungHAProxyDuringStop: with haproxy hung, BeforeStop gives
// up within its bound saying what haproxy was not told, and Close then
// stops the loop at once instead of asking haproxy again.
func TestFollowerHungHAProxyDuringStop(t *testing.T) {
	h, _, f := servingFollower(t, 2*time.Second)

	stopped(t, h)
	f.OnChange(control.Status{State: control.Stopping})
	var err error
	within(t, "BeforeStop with haproxy hung", func() { err = f.BeforeStop() })
	said := regexp.MustCompile(`^could not tell haproxy unix:\S+ to drain server gear: no answer within 1s; it may stay in backend express until the next registration$`)
	if err == nil || !said.MatchString(err.Error()) {
		t.Errorf("BeforeStop with haproxy hung = %v; want it to match %s", err, said)
	}
	f.OnChange(control.Status{State: control.Stopped})
	within(t, "Close with haproxy hung", func() { err = f.Close() })
	if err != nil {
		t.Errorf("Close after haproxy did not answer = %v; want nil: it was not asked again", err)
	}
	if !f.cur.ended() {
		t.Error("Close returned with the registration's loop still running")
	}
}

// TestFollowerCloseDeletesServer: Close deletes the server from haproxy,
// stops the loop, and waits for it.
func TestFollowerCloseDeletesServer(t *testing.T) {
	h, _, f := servingFollower(t, 5*time.Second)
	f.OnChange(control.Status{State: control.Stopped})
	var err error
	within(t, "Close", func() { err = f.Close() })
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !f.cur.ended() {
		t.Error("Close returned with the registration's loop still running")
	}
	if _, err := h.client.ServerState(testCtx(t), "express", "gear"); !errors.Is(err, ErrNoSuchServer) {
		t.Errorf("after Close haproxy has the server (%v); want it deleted", err)
	}
}

// TestFollowerHandover: a gear moving to another port is taken in there,
// as gear-PORT, before Handover returns; the old server is then drained
// and deleted, and Close deletes the new one.
func TestFollowerHandover(t *testing.T) {
	h, g, f := servingFollower(t, 5*time.Second)
	moved := startGear(t)

	f.OnChange(control.Status{State: control.Restarting})
	name := fmt.Sprintf("gear-%d", moved.port)
	var err error
	within(t, "Handover", func() {
		err = f.Handover(control.Spec{Host: g.addr, Port: g.port},
			control.Spec{Host: moved.addr, Port: moved.port, StartTimeout: 10 * time.Second})
	})
	if err != nil {
		t.Fatalf("Handover: %v", err)
	}
	ctx := testCtx(t)
	if st, err := h.client.ServerState(ctx, "express", name); err != nil || !st.Serving() {
		t.Fatalf("after Handover %s is %+v (%v); want it serving", name, st, err)
	}
	if r := report(t, f); r.Server != name {
		t.Errorf("after Handover the report names %q; want %q", r.Server, name)
	}
	waitFor(t, 10*time.Second, "the old server deleted", func() (bool, string) {
		_, err := h.client.ServerState(ctx, "express", "gear")
		return errors.Is(err, ErrNoSuchServer), fmt.Sprint(err)
	})
	f.OnChange(control.Status{State: control.Ready})
	f.OnChange(control.Status{State: control.Stopped})
	within(t, "Close", func() { err = f.Close() })
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if servers, err := h.client.ShowServersState(ctx, "express"); err != nil || len(servers) != 0 {
		t.Errorf("after Close haproxy has %d servers (%v); want none", len(servers), err)
	}
}

// TestFollowerHandoverBackTakesOver: a gear that moves back to its home
// port while the old registration there is still being deleted (a session
// held it open) takes the name over: the old loop is stopped, not left to
// delete the server the new one brings up.
func TestFollowerHandoverBackTakesOver(t *testing.T) {
	h, g, f := servingFollower(t, 300*time.Millisecond)
	moved := startGear(t)
	go get(h.url("/slow"))
	<-g.slowEntered

	home, away := control.Spec{Host: g.addr, Port: g.port, StartTimeout: 10 * time.Second},
		control.Spec{Host: moved.addr, Port: moved.port, StartTimeout: 10 * time.Second}
	f.OnChange(control.Status{State: control.Restarting})
	old := f.cur
	var err error
	within(t, "Handover away", func() { err = f.Handover(home, away) })
	if err != nil {
		t.Fatalf("Handover away: %v", err)
	}
	if old.ended() {
		t.Fatal("the old registration's loop ended with a session open; the test needs it deleting")
	}
	within(t, "Handover back", func() { err = f.Handover(away, home) })
	if err != nil {
		t.Fatalf("Handover back: %v", err)
	}
	if !old.ended() {
		t.Error("after the gear moved back, the old loop of its home name still runs")
	}
	if st, err := h.client.ServerState(testCtx(t), "express", "gear"); err != nil || !st.Serving() {
		t.Errorf("after the gear moved back, gear is %+v (%v); want it serving", st, err)
	}
	close(g.release)
}
