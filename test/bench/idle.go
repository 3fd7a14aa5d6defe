package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// idleServer is the server the supervisors of section d look after.
const idleServer = "gunicorn"

// idleAndStatus runs sections d and e on one set of gears: gearctl,
// supervisord and the bash wrapper each keep gunicorn running; d watches
// the supervisors idle, then e times the status commands.
func (b *bench) idleAndStatus(ctx context.Context) []*table {
	g, err1 := b.newGearctl("d")
	sd, err2 := b.newSupervisord("d")
	wr, err3 := b.newDirect("bash wrapper", "d", wrapper)
	sups := []supervisor{g, sd, wr}
	defer func() {
		for _, c := range sups {
			bounded(context.WithoutCancel(ctx), c.stop)
		}
	}()
	var tables []*table
	for i, err := range []error{err1, err2, err3} {
		if err == nil {
			err = bounded(ctx, func(ctx context.Context) error { return sups[i].start(ctx, idleServer) })
		}
		if err == nil {
			err = bounded(ctx, ready(sups[i]))
		}
		if err != nil {
			t := &table{title: "d, e: not measured"}
			t.note("starting %s with %s: %v", sups[i].label(), idleServer, err)
			return []*table{t}
		}
	}
	if strings.Contains(b.cfg.only, "d") {
		tables = append(tables, b.idle(ctx, sups))
	}
	if strings.Contains(b.cfg.only, "e") && ctx.Err() == nil {
		tables = append(tables, b.statusLatency(ctx, []statuser{g, sd}))
	}
	return tables
}

// idle is section d: the RSS and CPU time of each supervisor process
// itself, not its server, over the idle window. RSS is sampled every
// second and the largest sample reported.
func (b *bench) idle(ctx context.Context, sups []supervisor) *table {
	t := &table{
		title: fmt.Sprintf("d. supervisor idle over %s", b.cfg.idle),
		about: fmt.Sprintf("each keeping %s (2 workers) running; the supervisor process alone: VmRSS and RssAnon from\n"+
			"/proc/PID/status (largest of 1 s samples, from 2 s after the bench's last command), utime+stime from /proc/PID/stat (%d ticks/s).\n"+
			"bash wrapper: bash -c 'trap \"kill -TERM $pid; wait $pid\" TERM INT; server & pid=$!; wait $pid'.",
			idleServer, clockTicks),
		cols: []string{"gearctl", "supervisord", "bash wrapper"},
	}
	progress("d. idle for %s", b.cfg.idle)
	n := len(sups)
	pids := make([]int, n)
	cpu0 := make([]time.Duration, n)
	peak, peakAnon := make([]int64, n), make([]int64, n)
	failed := make([]error, n)
	sample := func() {
		for i, pid := range pids {
			if failed[i] != nil {
				continue
			}
			r, a, err := memory(pid)
			failed[i] = err
			peak[i], peakAnon[i] = max(peak[i], r), max(peakAnon[i], a)
		}
	}
	for i, c := range sups {
		failed[i] = bounded(ctx, func(ctx context.Context) (err error) {
			pids[i], _, err = c.pids(ctx)
			return err
		})
		if failed[i] == nil {
			cpu0[i], failed[i] = cpuTime(pids[i])
		}
	}
	// The window opens a moment after the bench's own last command to the
	// supervisors (the status that gave their PIDs): idle is what they hold
	// when nobody asks them anything, not their answer to the bench.
	select {
	case <-ctx.Done():
		return t
	case <-time.After(2 * time.Second):
	}
	start := time.Now()
	sample()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < b.cfg.idle {
		select {
		case <-ctx.Done():
			return t
		case <-tick.C:
			sample()
		}
	}
	window := time.Since(start)
	rssMiB, anonMiB, cpuMs := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, pid := range pids {
		cpu1, err := cpuTime(pid)
		if failed[i] == nil {
			failed[i] = err
		}
		if failed[i] != nil {
			t.note("%s: %v", sups[i].label(), failed[i])
			rssMiB[i], anonMiB[i], cpuMs[i] = missing, missing, missing
			continue
		}
		rssMiB[i] = float64(peak[i]) / (1 << 20)
		anonMiB[i] = float64(peakAnon[i]) / (1 << 20)
		cpuMs[i] = ms(cpu1 - cpu0[i])
	}
	t.add("RSS (VmRSS)", mebibytes, rssMiB...).target = met(rssMiB[0] <= 8 && rssMiB[0] < rssMiB[1]/4,
		fmt.Sprintf("<= 8 MiB and < supervisord/4 = %.1f MiB", rssMiB[1]/4))
	t.add("  of it anonymous (RssAnon)", mebibytes, anonMiB...)
	t.add(fmt.Sprintf("CPU in %s", window.Round(time.Second)), millis, cpuMs...)
	return t
}
