package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
)

// printStatus fits the gear on one screen, as systemctl status does: a
// summary line, what runs and how it has fared, its processes, and the
// last lines of its log.
func printStatus(w io.Writer, g control.Gear, rep control.Report, lines int) {
	now := time.Now()
	line := []string{string(rep.State)}
	if rep.Server != "" {
		line = append(line, rep.Server)
	}
	if rep.PID != 0 {
		line = append(line, fmt.Sprintf("pid %d", rep.PID))
	}
	if !rep.Since.IsZero() {
		line = append(line, fmt.Sprintf("since %s (%s)", rep.Since.UTC().Format(time.RFC3339), now.Sub(rep.Since).Round(time.Second)))
	} else if !rep.StartedAt.IsZero() {
		line = append(line, "up "+now.Sub(rep.StartedAt).Round(time.Second).String())
	}
	if rep.Listen != "" && rep.Listen != ":0" {
		line = append(line, "listen "+rep.Listen)
	}
	if rep.SupervisorPID != 0 {
		line = append(line, fmt.Sprintf("supervisor %d", rep.SupervisorPID))
	}
	fmt.Fprintln(w, strings.Join(line, "  "))

	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %s: %s\n", name, value)
		}
	}
	field("app", rep.App)
	field("interpreter", rep.Interpreter)
	field("user", rep.User)
	field("haproxy", balancerText(rep.Balancer))
	if rep.SupervisorPID != 0 {
		field("restarts", fmt.Sprintf("%d (%d crashed, %d requested)", rep.Restarts, rep.Crashes, rep.Requested))
	}
	if rep.LastExit != nil {
		field("last exit", fmt.Sprintf("pid %d %s at %s", rep.LastExit.PID, rep.LastExit, rep.LastExit.At.UTC().Format(time.RFC3339)))
	}
	if len(rep.Processes) > 0 {
		rss, cpu := totals(rep.Processes)
		field("memory", fmt.Sprintf("%.1f MiB in %d processes, CPU %.1f%%", float64(rss)/(1<<20), len(rep.Processes), cpu))
	}
	field("log", g.ServerLog())
	if rep.LogError != "" {
		field("log error", rep.LogError)
	}
	if rep.Detail != "" {
		fmt.Fprintln(w, "  "+rep.Detail)
	}
	for _, warn := range rep.Warnings {
		field("warning", warn)
	}
	if rep.Failure != nil && len(rep.Failure.LastLines) > 0 {
		fmt.Fprintln(w, "  the server's last lines:")
		fmt.Fprintln(w, "  "+rep.Failure.Tail())
	}
	if len(rep.Processes) > 0 {
		fmt.Fprintf(w, "  %7s %7s %9s %6s  %s\n", "PID", "PPID", "RSS", "CPU%", "COMMAND")
		for _, p := range rep.Processes {
			fmt.Fprintf(w, "  %7d %7d %8.1fM %6.1f  %s\n", p.PID, p.PPID, float64(p.RSS)/(1<<20), p.CPU, p.Command)
		}
	}
	if lines > 0 {
		if tail, err := gear.Logs(g, lines); err == nil && len(tail) > 0 {
			fmt.Fprintf(w, "  last %d lines of the log:\n", len(tail))
			for _, l := range tail {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
}

// balancerText is the gear's haproxy registration in a few words.
func balancerText(b *control.BalancerReport) string {
	if b == nil {
		return ""
	}
	var s []string
	if b.Backend != "" {
		s = append(s, b.Backend+"/"+b.Server)
	}
	if b.State != "" {
		st := b.State
		if b.Healthy != nil {
			st += map[bool]string{true: ", checks up", false: ", checks down"}[*b.Healthy]
		}
		s = append(s, st)
	}
	s = append(s, "wanted "+b.Desired)
	if b.Agent != "" {
		s = append(s, "agent on "+b.Agent)
	}
	if b.Error != "" {
		s = append(s, "error: "+b.Error)
	}
	return strings.Join(s, "; ")
}
