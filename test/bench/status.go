package main

import (
	"context"
	"fmt"
	"time"
)

// statusLatency is section e: the wall time of one status command, from
// exec to exit, gearctl's against supervisorctl's, alternating.
func (b *bench) statusLatency(ctx context.Context, cs []statuser) *table {
	t := &table{
		title: fmt.Sprintf("e. status latency, %d samples each", 2*b.cfg.samples),
		about: "`gearctl status` and `supervisorctl -c CONF status`, each against its running gear: exec -> exit.",
		cols:  []string{"gearctl", "supervisorctl"},
	}
	progress("e. status latency")
	times := make([][]time.Duration, len(cs))
	for range 2 * b.cfg.samples {
		for i, c := range cs {
			t0 := time.Now()
			if err := bounded(ctx, c.status); err != nil {
				t.note("%s: %v", c.label(), err)
				return t
			}
			times[i] = append(times[i], time.Since(t0))
		}
	}
	t.add("median", millis, median(times[0]), median(times[1]))
	t.add("worst", millis, worst(times[0]), worst(times[1]))
	return t
}
