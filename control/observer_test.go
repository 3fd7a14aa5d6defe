package control

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recorder is an Observer that keeps what it heard.
type recorder struct {
	mu     sync.Mutex
	ready  map[State][]time.Duration
	probes map[ProbeKind]map[Result]int
}

func (r *recorder) Probed(kind ProbeKind, res Result, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probes[kind] == nil {
		r.probes[kind] = map[Result]int{}
	}
	r.probes[kind][res]++
}

func (r *recorder) Ready(after State, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ready[after] = append(r.ready[after], took)
}

// readied is how many times the server got ready after each state.
func (r *recorder) readied() map[State]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[State]int{}
	for st, took := range r.ready {
		n[st] = len(took)
		for _, d := range took {
			if d <= 0 {
				n[st] = -1 // a duration that is not one
			}
		}
	}
	return n
}

func (r *recorder) probed(kind ProbeKind, res Result) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes[kind][res]
}

// TestObserverHearsReadinessAndProbes: each start, crash restart, restart
// and reload is reported with its duration before the gear is published
// ready (whoever sees it ready sees it counted), and each probe with its
// kind and result.
func TestObserverHearsReadinessAndProbes(t *testing.T) {
	rec := &recorder{ready: map[State][]time.Duration{}, probes: map[ProbeKind]map[Result]int{}}
	spec := childSpec(t, "http", freePort(t))
	spec.ProbeInterval = 20 * time.Millisecond
	g := startGearWith(t, spec, Options{Observer: rec})
	want := map[State]int{}
	check := func(after string) {
		t.Helper()
		got := rec.readied()
		for _, st := range []State{Starting, Restarting, Reloading} {
			if got[st] != want[st] {
				t.Errorf("after %s: %d times ready after %s; want %d (-1: a duration of 0 or less)", after, got[st], st, want[st])
			}
		}
	}
	first := g.waitState(t, Ready)
	want[Starting]++
	check("the start")
	if rec.probed(Readiness, Success) != 1 {
		t.Errorf("readiness probes that succeeded: %d; want 1", rec.probed(Readiness, Success))
	}

	deadline := time.Now().Add(20 * time.Second)
	for rec.probed(Liveness, Success) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if rec.probed(Liveness, Success) == 0 {
		t.Errorf("no liveness probe heard with a probe interval of %s", spec.ProbeInterval)
	}

	syscall.Kill(first.PID, syscall.SIGKILL)
	g.waitState(t, Starting)
	g.waitState(t, Ready)
	want[Starting]++
	check("the crash")

	if err := g.sup.Restart(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	want[Restarting]++
	check("the restart")

	if err := g.sup.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	want[Reloading]++
	check("the reload")
	if rec.probed(Readiness, Success) != 4 {
		t.Errorf("readiness probes that succeeded: %d; want 4, one per start, restart and reload", rec.probed(Readiness, Success))
	}
}
