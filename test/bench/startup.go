package main

import (
	"context"
	"fmt"
	"time"
)

// beforeStop is the pause between a measured start and the stop.
const beforeStop = 200 * time.Millisecond

// startup is section b: gearctl start → first 200, against spawning the
// server directly → first 200, polling every millisecond.
func (b *bench) startup(ctx context.Context) []*table {
	t := &table{
		title: fmt.Sprintf("b. start -> ready, %d samples each", b.cfg.samples),
		about: "gearctl: `gearctl start` run -> first 200 after it returned (it returns once ready);\n" +
			"raw: the server spawned binding the port itself -> first 200, polled every 1 ms while refused.\n" +
			"One unmeasured start of each first; samples alternate between the two.",
		cols: []string{"gearctl", "raw"},
	}
	for _, srv := range servers {
		g, err1 := b.newGearctl("b-" + srv)
		raw, err2 := b.newDirect("raw", "b-"+srv, nil)
		contenders := []contender{g, raw}
		times := make([][]time.Duration, len(contenders))
		errs := make([]error, len(contenders))
		errs[0], errs[1] = err1, err2
		progress("b. %s: start -> ready", srv)
		for i := -1; i < b.cfg.samples; i++ {
			for j, c := range contenders {
				if ctx.Err() != nil {
					return nil
				}
				if errs[j] != nil {
					continue
				}
				d, err := b.startToReady(ctx, c, srv)
				if err != nil {
					errs[j] = err
					t.note("%s %s: %v", srv, c.label(), err)
				} else if i >= 0 {
					times[j] = append(times[j], d)
				}
			}
		}
		med := []float64{median(times[0]), median(times[1])}
		t.add(srv+": median", millis, med...).target = met(med[0] <= 1.10*med[1]+15,
			fmt.Sprintf("<= 1.10 x raw + 15 ms = %.1f ms", 1.10*med[1]+15))
		t.add(srv+": worst", millis, worst(times[0]), worst(times[1]))
	}
	return []*table{t}
}

// startToReady starts c, waits for its first 200 and stops it again.
func (b *bench) startToReady(ctx context.Context, c contender, srv string) (time.Duration, error) {
	t0 := time.Now()
	err := bounded(ctx, func(ctx context.Context) error {
		if err := c.start(ctx, srv); err != nil {
			return err
		}
		return ready(c)(ctx)
	})
	d := time.Since(t0)
	// Not straight away: a uWSGI worker spawned a few milliseconds before
	// a graceful stop can miss it, and its master then waits the whole
	// worker mercy (30 s) before killing it. The stop is not measured.
	time.Sleep(beforeStop)
	if stopErr := bounded(context.WithoutCancel(ctx), c.stop); err == nil && stopErr != nil {
		err = fmt.Errorf("stop: %w", stopErr)
	}
	return d, err
}
