package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// The servers of section d: the one each supervisor of its first table
// keeps running, and the one each of its many gears runs. The latter is
// the standard-library runner, one Python process whose workers are
// threads, so that many gears fit on the machine.
const (
	idleServer  = "gunicorn"
	fleetServer = "wsgiref"
)

// idleAndStatus runs sections d and e: gearctl, supervisord and the bash
// wrapper each keep gunicorn running; d watches the supervisors idle, then
// e times the status commands. Once those are stopped, d puts many gears
// on the machine.
func (b *bench) idleAndStatus(ctx context.Context) []*table {
	tables := b.oneGearEach(ctx)
	if strings.Contains(b.cfg.only, "d") && ctx.Err() == nil {
		// d's first table (or why it is missing) comes first.
		tables = slices.Insert(tables, 1, b.fleet(ctx))
	}
	return tables
}

// oneGearEach is d's first table and e.
func (b *bench) oneGearEach(ctx context.Context) []*table {
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

// idle is d's first table: the memory and CPU time of each supervisor
// process itself, not its server, over the idle window.
func (b *bench) idle(ctx context.Context, sups []supervisor) *table {
	t := &table{
		title: fmt.Sprintf("d. supervisor idle over %s", b.cfg.idle),
		about: fmt.Sprintf("each keeping %s (2 workers) running; the supervisor process alone, the largest of 1 s samples from 2 s after\n"+
			"the bench's last command: Rss (VmRSS counted page by page), Pss and Anonymous from /proc/PID/smaps_rollup;\n"+
			"utime+stime from /proc/PID/stat (%d ticks/s). PSS divides each page among the processes that map it;\n"+
			"private is the anonymous memory, which no file backs and no other process shares here.\n"+
			"bash wrapper: bash -c 'trap \"kill -TERM $pid; wait $pid\" TERM INT; server & pid=$!; wait $pid'.",
			idleServer, clockTicks),
		cols: []string{"gearctl", "supervisord", "bash wrapper"},
	}
	progress("d. idle for %s", b.cfg.idle)
	sets := make([][]int, len(sups))
	errs := make([]error, len(sups))
	for i, c := range sups {
		errs[i] = bounded(ctx, func(ctx context.Context) error {
			pid, _, err := c.pids(ctx)
			sets[i] = []int{pid}
			return err
		})
	}
	us, window := b.watch(ctx, sets)
	if us == nil {
		return t
	}
	for i, err := range errs {
		if err != nil {
			us[i].err = err
		}
	}
	rss := t.addUsage(us, window)
	rss.target = met(rss.vals[0] <= 8 && rss.vals[0] < rss.vals[1]/4,
		fmt.Sprintf("<= 8 MiB and < supervisord/4 = %.1f MiB", rss.vals[1]/4))
	return t
}

// fleet is d's second table: n gears on one machine. n gearctl
// supervisors, each with its own --dir and its own server, are watched
// over the idle window; once they are stopped, one supervisord running the
// same n servers as its programs is. One side after the other, so that
// neither's pages are shared with the other's processes.
func (b *bench) fleet(ctx context.Context) *table {
	n := b.cfg.gears
	t := &table{
		title: fmt.Sprintf("d. %d gears on one machine, idle over %s", n, b.cfg.idle),
		about: fmt.Sprintf("%d gearctl supervisors, each with its own --dir and its own %s server (one Python process), against one\n"+
			"supervisord running the same %d servers as its programs, one side after the other. The supervisor processes alone,\n"+
			"measured as above and summed at each sample: the largest sum.", n, fleetServer, n),
		cols: []string{fmt.Sprintf("%d gearctl", n), "1 supervisord"},
	}
	sides := []func(context.Context) ([]int, func() error, error){
		func(ctx context.Context) ([]int, func() error, error) { return b.gearctlFleet(ctx, "d-gears", n, 1) },
		func(ctx context.Context) ([]int, func() error, error) {
			pids, stop, _, err := b.supervisordFleet(ctx, "d-gears", n)
			return pids, stop, err
		},
	}
	us := make([]usage, len(sides))
	var window time.Duration
	for i, up := range sides {
		progress("d. %d gears: %s", n, t.cols[i])
		u, w, ok := b.watchSide(ctx, up)
		if !ok {
			return t
		}
		us[i], window = u, max(window, w)
	}
	t.addUsage(us, window)
	return t
}

// watchSide brings one side of the fleet up, watches its supervisors over
// the idle window and stops everything it started; ok is false when ctx
// ended first.
func (b *bench) watchSide(ctx context.Context, up func(context.Context) ([]int, func() error, error)) (u usage, window time.Duration, ok bool) {
	pids, stop, err := up(ctx)
	defer func() {
		if stopErr := stop(); u.err == nil && stopErr != nil {
			u.err = fmt.Errorf("stop: %w", stopErr)
		}
	}()
	if err != nil {
		return usage{err: err}, 0, ctx.Err() == nil
	}
	us, window := b.watch(ctx, [][]int{pids})
	if us == nil {
		return usage{}, 0, false
	}
	return us[0], window, true
}

// gearctlFleet starts n gears tagged tag, width of them at a time (1: one
// after the other), each with a gearctl supervisor of its own, and returns
// the supervisors' PIDs and what stops the gears it started, width at a
// time too.
func (b *bench) gearctlFleet(ctx context.Context, tag string, n, width int) ([]int, func() error, error) {
	gears := make([]*gearctlC, n)
	for i := range gears {
		g, err := b.newGearctl(tag)
		if err != nil {
			return nil, func() error { return nil }, err
		}
		gears[i] = g
	}
	started := make([]bool, n)
	stop := func() error {
		return inParallel(n, width, func(i int) error {
			if !started[i] {
				return nil
			}
			return bounded(context.WithoutCancel(ctx), gears[i].stop)
		})
	}
	pids := make([]int, n)
	var mu sync.Mutex
	given := map[int]bool{}
	err := inParallel(n, width, func(i int) error {
		g := gears[i]
		started[i] = true
		// Each gear's port is picked as it starts, not long before: the
		// kernel hands a port let go to the next connection that asks.
		// Two starting at once must not get the same one.
		mu.Lock()
		port, err := freePort()
		for err == nil && given[port] {
			port, err = freePort()
		}
		given[port] = true
		mu.Unlock()
		if err != nil {
			return err
		}
		g.port = port
		err = bounded(ctx, func(ctx context.Context) error {
			if err := g.start(ctx, fleetServer); err != nil {
				return err
			}
			if err := ready(g)(ctx); err != nil {
				return err
			}
			pid, _, err := g.pids(ctx)
			pids[i] = pid
			return err
		})
		if err != nil {
			return fmt.Errorf("gear %d of %d: %w", i+1, n, err)
		}
		return nil
	})
	if err != nil {
		return nil, stop, err
	}
	return pids, stop, nil
}

// inParallel calls f(0) … f(n-1), width calls at a time, and returns the
// first error; no call starts after one failed.
func inParallel(n, width int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	slots := make(chan struct{}, width)
	for i := range n {
		slots <- struct{}{}
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// supervisordFleet starts one supervisord tagged tag with n programs,
// waits until every one answers, and returns supervisord's PID and its
// stop.
func (b *bench) supervisordFleet(ctx context.Context, tag string, n int) ([]int, func() error, *supervisordC, error) {
	c, err := b.newSupervisordOf(tag, n)
	stop := func() error {
		// supervisord stops its programs one after the other, about a
		// second each: 100 of them take longer than one command may.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmdTimeout+time.Duration(n)*time.Second)
		defer cancel()
		return c.stop(ctx)
	}
	if err == nil {
		err = c.start(ctx, fleetServer)
	}
	for _, addr := range c.addrs() {
		if err != nil {
			break
		}
		err = bounded(ctx, func(ctx context.Context) error {
			_, err := waitAnswer(ctx, addr, nil)
			return err
		})
	}
	if err != nil {
		return nil, stop, c, err
	}
	return []int{c.pid}, stop, c, nil
}

// usage is what the idle window saw of a set of processes: the largest of
// the 1 s samples of their memory, summed over the set, and the CPU time
// they used.
type usage struct {
	peak mem
	cpu  time.Duration
	err  error
}

// watch samples each set of PIDs every second over the idle window and
// returns what it saw of each, and how long the window was; nil if ctx
// ended first. The window opens 2 s after the call, a moment after the
// bench's own last command to the supervisors (the status that gave their
// PIDs): idle is what they hold when nobody asks them anything, not their
// answer to the bench.
func (b *bench) watch(ctx context.Context, sets [][]int) ([]usage, time.Duration) {
	us := make([]usage, len(sets))
	cpu0 := make([]time.Duration, len(sets))
	for i, pids := range sets {
		cpu0[i], us[i].err = cpuSum(pids)
	}
	sample := func() {
		for i, pids := range sets {
			var sum mem
			for _, pid := range pids {
				if us[i].err != nil {
					break
				}
				m, err := memory(pid)
				sum, us[i].err = sum.plus(m), err
			}
			us[i].peak = us[i].peak.larger(sum)
		}
	}
	select {
	case <-ctx.Done():
		return nil, 0
	case <-time.After(2 * time.Second):
	}
	start := time.Now()
	sample()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < b.cfg.idle {
		select {
		case <-ctx.Done():
			return nil, 0
		case <-tick.C:
			sample()
		}
	}
	window := time.Since(start)
	for i, pids := range sets {
		cpu1, err := cpuSum(pids)
		if us[i].err == nil {
			us[i].cpu, us[i].err = cpu1-cpu0[i], err
		}
	}
	return us, window
}

// cpuSum is the CPU time the processes have used.
func cpuSum(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		d, err := cpuTime(pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// addUsage adds the rows of what watch saw, a column per set, with a note
// for each set that could not be measured; it returns the RSS row.
func (t *table) addUsage(us []usage, window time.Duration) *row {
	n := len(us)
	rss, pss, anon, cpu := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, u := range us {
		if u.err != nil {
			t.note("%s: %v", t.cols[i], u.err)
			rss[i], pss[i], anon[i], cpu[i] = missing, missing, missing, missing
			continue
		}
		rss[i], pss[i], anon[i] = mib(u.peak.rss), mib(u.peak.pss), mib(u.peak.anon)
		cpu[i] = ms(u.cpu)
	}
	r := t.add("RSS (VmRSS)", mebibytes, rss...)
	t.add("PSS", mebibytes, pss...)
	t.add("private (anonymous)", mebibytes, anon...)
	t.add(fmt.Sprintf("CPU in %s", window.Round(time.Second)), millis, cpu...)
	return r
}

// mib is n bytes in MiB, for a table value.
func mib(n int64) float64 { return float64(n) / (1 << 20) }
