package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Pauses around the restarts: the load runs alone for a moment before the
// first and after each, so that every restart starts from a server that
// has settled and its aftermath is counted.
const (
	warmup = 300 * time.Millisecond
	settle = 50 * time.Millisecond
)

// loadRun is what one contender's pass through a plan saw.
type loadRun struct {
	load    loadStats
	restart []time.Duration // command issued → first 200 after it returned
	err     error
}

// underLoad starts c with plan[0], puts the load on it, then restarts it
// into each next server of plan in turn, waiting each time until it answers.
func (b *bench) underLoad(ctx context.Context, c restarter, plan []string) (r loadRun) {
	defer func() {
		if err := bounded(context.WithoutCancel(ctx), c.stop); err != nil && r.err == nil {
			r.err = fmt.Errorf("stop: %w", err)
		}
	}()
	if err := bounded(ctx, func(ctx context.Context) error { return c.start(ctx, plan[0]) }); err != nil {
		return loadRun{err: fmt.Errorf("start %s: %w", plan[0], err)}
	}
	if err := bounded(ctx, ready(c)); err != nil {
		return loadRun{err: err}
	}
	stopLoad := startLoad(c.addr(), b.cfg.clients)
	defer func() { r.load = stopLoad() }()
	time.Sleep(warmup)
	for i, srv := range plan[1:] {
		t0 := time.Now()
		err := bounded(ctx, func(ctx context.Context) error {
			if err := c.restart(ctx, srv); err != nil {
				return err
			}
			return ready(c)(ctx)
		})
		if err != nil {
			return loadRun{err: fmt.Errorf("restart %d of %d into %s: %w", i+1, len(plan)-1, srv, err)}
		}
		r.restart = append(r.restart, time.Since(t0))
		time.Sleep(settle)
	}
	return r
}

// ready returns the wait until c answers a request with a 200.
func ready(c contender) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := waitAnswer(ctx, c.addr(), nil)
		return err
	}
}

// restarts is section a: for each server, restarts under load by gearctl,
// the stop-then-start script and supervisorctl; then swaps between servers.
func (b *bench) restarts(ctx context.Context) []*table {
	t := &table{
		title: fmt.Sprintf("a. %d restarts, and %d swaps, under load", b.cfg.restarts, b.cfg.swaps),
		about: fmt.Sprintf("%d clients on 127.0.0.1, a new connection per request, at most one request per %s each;\n"+
			"failed = refused, reset, timed out (%s) or 5xx; restart = command issued -> first 200 after it returned.\n"+
			"swaps: gearctl restart --server, the script stopping one server and starting the next, supervisord's\n"+
			"command= edited then supervisorctl update; in the order %s.",
			b.cfg.clients, loadInterval, requestTimeout, strings.Join(append(slices.Clone(servers), servers[0]), " -> ")),
		cols: []string{"gearctl", "stop+start", "supervisorctl"},
	}
	type pass struct {
		name string
		plan []string
	}
	var passes []pass
	for _, srv := range servers {
		passes = append(passes, pass{srv, repeat([]string{srv}, b.cfg.restarts+1)})
	}
	passes = append(passes, pass{"swaps", repeat(servers, b.cfg.swaps+1)})
	for _, p := range passes {
		var failed, requests, worstLat, restart []float64
		for _, newC := range []func(string) (restarter, error){
			func(tag string) (restarter, error) { return b.newGearctl(tag) },
			func(tag string) (restarter, error) { return b.newScript(tag) },
			func(tag string) (restarter, error) { return b.newSupervisord(tag) },
		} {
			if ctx.Err() != nil {
				return nil
			}
			c, err := newC("a-" + p.name)
			r := loadRun{err: err}
			if err == nil {
				progress("a. %s: %s, %d restarts under load", p.name, c.label(), len(p.plan)-1)
				r = b.underLoad(ctx, c, p.plan)
			}
			if r.err != nil {
				t.note("%s %s: %v", p.name, c.label(), r.err)
				failed, requests, worstLat, restart = append(failed, missing), append(requests, missing),
					append(worstLat, missing), append(restart, missing)
				continue
			}
			if n := r.load.failures(); n > 0 {
				t.note("%s %s: %d of %d requests failed: %s", p.name, c.label(), n, r.load.requests, kinds(r.load.failed))
			}
			failed = append(failed, float64(r.load.failures()))
			requests = append(requests, float64(r.load.requests))
			worstLat = append(worstLat, ms(r.load.worst()))
			restart = append(restart, median(r.restart))
		}
		t.add(p.name+": failed requests", count, failed...).target = met(failed[0] == 0, "0")
		// Each contender's load lasts as long as its restarts take.
		t.add(p.name+": requests", count, requests...).plain = true
		t.add(p.name+": worst latency", millis, worstLat...)
		t.add(p.name+": restart, median", millis, restart...)
	}
	return []*table{t}
}

// repeat is n elements cycling through xs.
func repeat(xs []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = xs[i%len(xs)]
	}
	return out
}

// kinds lists failure counts by kind, largest first.
func kinds(m map[string]int) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}
