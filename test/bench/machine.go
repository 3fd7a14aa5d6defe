package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/gearctl/gearctl/test/bench/host"
)

// machine is the report's header: when, how long, with what settings, on
// what machine and with which versions of everything measured.
func (b *bench) machine(ctx context.Context, took time.Duration) string {
	kind := "full run"
	if b.cfg.quick {
		kind = "quick run (-quick)"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "gearctl benchmark, %s, %s in %s: -restarts %d -swaps %d -samples %d -idle %s -gears %d -list-gears %d -clients %d -lines %d -only %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), kind, took.Round(time.Second),
		b.cfg.restarts, b.cfg.swaps, b.cfg.samples, b.cfg.idle, b.cfg.gears, b.cfg.listGears, b.cfg.clients, b.cfg.lines, b.cfg.only)
	fmt.Fprintf(&sb, "machine: %s, load average %s before, %s after\n",
		host.Machine(), b.load, host.LoadAverage())
	fmt.Fprintf(&sb, "versions: %s; %s built from %s; %s; uWSGI %s; %s (%s); supervisord %s; %s\n",
		runtime.Version(), host.Version(ctx, b.gearctl, "version"), host.Revision(ctx, b.root), host.Version(ctx, "gunicorn", "--version"),
		host.Version(ctx, "uwsgi", "--version"), host.Version(ctx, b.python, "--version"), b.python,
		host.Version(ctx, "supervisord", "--version"), host.Version(ctx, "bash", "--version"))
	return sb.String()
}
