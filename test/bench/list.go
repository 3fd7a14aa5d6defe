package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// listWidth is how many gears of section g start or stop at a time: a
// start mostly waits for Python to import, and one after the other 100 of
// them would take most of a minute.
const listWidth = 4

// listTarget is the goal for `gearctl list` over listTargetGears.
const (
	listTarget      = 50 * time.Millisecond
	listTargetGears = 100
)

// listLatency is section g: `gearctl list` over n gears, each with its own
// gearctl supervisor, against `supervisorctl status` of one supervisord
// running the same n servers as its programs. One side after the other,
// as in d: each is timed with only its own processes on the machine.
func (b *bench) listLatency(ctx context.Context) []*table {
	n := b.cfg.listGears
	t := &table{
		title: fmt.Sprintf("g. list latency, %d gears, %d samples each", n, 2*b.cfg.samples),
		about: fmt.Sprintf("`gearctl list` over %d gears, each with its own gearctl supervisor and %s server, against\n"+
			"`supervisorctl -c CONF status` of one supervisord running the same %d servers as its programs;\n"+
			"one side after the other, each first seen to show all %d running; exec -> exit, after one unmeasured run.",
			n, fleetServer, n, n),
		cols: []string{"gearctl list", "supervisorctl status"},
	}
	progress("g. %d gears: gearctl list", n)
	list, err := b.timeGearctlList(ctx, n)
	if err != nil {
		t.note("gearctl list: %v", err)
		return []*table{t}
	}
	progress("g. %d gears: supervisorctl status", n)
	status, err := b.timeSupervisorctlStatus(ctx, n)
	if err != nil {
		t.note("supervisorctl status: %v", err)
	}
	med := t.add("median", millis, median(list), median(status))
	t.add("worst", millis, worst(list), worst(status))
	if n == listTargetGears {
		med.target = met(med.vals[0] <= ms(listTarget), fmt.Sprintf("<= %s for %d gears", listTarget, listTargetGears))
	}
	return []*table{t}
}

// timeGearctlList starts n gears, checks that gearctl list shows them all
// ready, times it, and stops them.
func (b *bench) timeGearctlList(ctx context.Context, n int) (times []time.Duration, err error) {
	_, stop, err := b.gearctlFleet(ctx, "f-gears", n, listWidth)
	defer func() {
		if stopErr := stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("stop: %w", stopErr)
		}
	}()
	if err != nil {
		return nil, err
	}
	list := func(ctx context.Context, args ...string) (string, error) {
		return b.procs.run(ctx, b.env, b.tmp, append([]string{b.gearctl, "list"}, args...)...)
	}
	out, err := list(ctx, "--json")
	if err != nil {
		return nil, err
	}
	var l struct {
		Gears []struct {
			Name, State string
		}
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("gearctl list --json: %w", err)
	}
	ready := 0
	for _, g := range l.Gears {
		if g.State == "ready" {
			ready++
		}
	}
	if ready != n || len(l.Gears) != n {
		return nil, fmt.Errorf("gearctl list shows %d gears, %d of them ready; want %d, all ready", len(l.Gears), ready, n)
	}
	return b.timed(ctx, func(ctx context.Context) error {
		_, err := list(ctx)
		return err
	})
}

// timeSupervisorctlStatus starts one supervisord with n programs, waits
// until supervisorctl status shows them all RUNNING, times it, and stops
// supervisord.
func (b *bench) timeSupervisorctlStatus(ctx context.Context, n int) (times []time.Duration, err error) {
	_, stop, c, err := b.supervisordFleet(ctx, "f-gears", n)
	defer func() {
		if stopErr := stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("stop: %w", stopErr)
		}
	}()
	if err != nil {
		return nil, err
	}
	// A program is RUNNING once it has run startsecs (1 s), not when it
	// answers; until then status exits non-zero.
	var out string
	deadline := time.Now().Add(cmdTimeout)
	for {
		out, err = c.ctl(ctx, "status")
		if err == nil && strings.Count(out, " RUNNING ") == n {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("%d of %d programs RUNNING within %s (%v)", strings.Count(out, " RUNNING "), n, cmdTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return b.timed(ctx, c.status)
}

// timed runs f once unmeasured, then 2 × samples times, and returns how
// long each of those took.
func (b *bench) timed(ctx context.Context, f func(context.Context) error) ([]time.Duration, error) {
	if err := bounded(ctx, f); err != nil {
		return nil, err
	}
	var times []time.Duration
	for range 2 * b.cfg.samples {
		t0 := time.Now()
		if err := bounded(ctx, f); err != nil {
			return times, err
		}
		times = append(times, time.Since(t0))
	}
	return times, nil
}
