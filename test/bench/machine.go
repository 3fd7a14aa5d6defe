package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
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
	fmt.Fprintf(&sb, "gearctl benchmark, %s, %s in %s: -restarts %d -swaps %d -samples %d -idle %s -clients %d -only %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), kind, took.Round(time.Second),
		b.cfg.restarts, b.cfg.swaps, b.cfg.samples, b.cfg.idle, b.cfg.clients, b.cfg.only)
	fmt.Fprintf(&sb, "machine: %s, load average %s before, %s after\n",
		host.Machine(), b.load, host.LoadAverage())
	fmt.Fprintf(&sb, "versions: %s; %s built from %s; %s; uWSGI %s; %s (%s); supervisord %s; %s\n",
		runtime.Version(), b.version(ctx, b.gearctl, "version"), b.revision(ctx), b.version(ctx, "gunicorn", "--version"),
		b.version(ctx, "uwsgi", "--version"), b.version(ctx, b.python, "--version"), b.python,
		b.version(ctx, "supervisord", "--version"), b.version(ctx, "bash", "--version"))
	return sb.String()
}

// version is the first line a tool prints about its version.
func (b *bench) version(ctx context.Context, argv ...string) string {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return filepath.Base(argv[0]) + " (unknown version)"
	}
	return host.FirstLine(string(out))
}

// revision is the commit of the tree gearctl was built from, "-dirty" when
// it had changes.
func (b *bench) revision(ctx context.Context) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty", "--exclude", "*")
	cmd.Dir = b.root
	out, err := cmd.Output()
	if err != nil {
		return "a tree outside git"
	}
	return "commit " + strings.TrimSpace(string(out))
}
