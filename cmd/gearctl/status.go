package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/internal/environ"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/urfave/cli/v2"
)

var errWriter io.Writer = os.Stderr

// Exit statuses of status, as LSB init scripts have them.
const (
	statusReady      = int(gear.Ready)
	statusNotReady   = int(gear.NotReady)
	statusNotRunning = int(gear.NotRunning)
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "state of the gear; exit 0 ready, 1 running but not ready or failing, 3 not running",
		Flags: []cli.Flag{boolFlag(cli.GenericFlag{Name: "json", Usage: "for machines"}, false)},
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			rep, health, err := inspect(c.Context, g)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				enc.Encode(redacted(rep))
			} else {
				printStatus(c.App.Writer, rep)
			}
			return &exitError{code: int(health)}
		},
	}
}

// inspect is gear.Status with its errors as exit statuses, and the
// health as status's exit status.
func inspect(ctx context.Context, g control.Gear) (control.Report, gear.Health, error) {
	rep, health, err := gear.Status(ctx, g)
	switch {
	case errors.Is(err, pidfile.ErrGarbage):
		return rep, 0, garbage(err)
	case err != nil:
		return rep, 0, exitWith(int(gear.NotReady), "%v", err)
	}
	return rep, health, nil
}

// redacted is rep for printing: --env values may be secrets, so their
// settings show only the names, as Vars: ["KEY", ...].
func redacted(rep control.Report) control.Report {
	s, err := gear.Settings(rep)
	if err != nil || len(s.Vars) == 0 {
		return rep
	}
	s.Vars = environ.Names(s.Vars)
	if b, err := json.Marshal(s); err == nil {
		rep.Settings = b
	}
	return rep
}

// printStatus fits the gear on one screen: a summary line, then its
// processes.
func printStatus(w io.Writer, rep control.Report) {
	line := []string{string(rep.State)}
	if rep.Server != "" {
		line = append(line, rep.Server)
	}
	if rep.PID != 0 {
		line = append(line, fmt.Sprintf("pid %d", rep.PID))
	}
	if !rep.StartedAt.IsZero() {
		line = append(line, "up "+time.Since(rep.StartedAt).Round(time.Second).String())
	}
	if rep.SupervisorPID != 0 {
		line = append(line, fmt.Sprintf("restarts %d", rep.Restarts), "listen "+rep.Listen, fmt.Sprintf("supervisor %d", rep.SupervisorPID))
	}
	fmt.Fprintln(w, strings.Join(line, "  "))
	if rep.App != "" {
		fmt.Fprintln(w, "  app: "+rep.App)
	}
	if rep.Interpreter != "" {
		fmt.Fprintln(w, "  interpreter: "+rep.Interpreter)
	}
	if rep.User != "" {
		fmt.Fprintln(w, "  user: "+rep.User)
	}
	if rep.Detail != "" {
		fmt.Fprintln(w, "  "+rep.Detail)
	}
	if rep.LastExit != nil {
		fmt.Fprintf(w, "  last exit: pid %d %s at %s\n", rep.LastExit.PID, rep.LastExit, rep.LastExit.At.Format(time.RFC3339))
	}
	if len(rep.Processes) == 0 {
		return
	}
	fmt.Fprintf(w, "  %7s %7s %9s %6s  %s\n", "PID", "PPID", "RSS", "CPU%", "COMMAND")
	for _, p := range rep.Processes {
		cmd := p.Command
		if len(cmd) > 60 {
			cmd = cmd[:57] + "..."
		}
		fmt.Fprintf(w, "  %7d %7d %8.1fM %6.1f  %s\n", p.PID, p.PPID, float64(p.RSS)/(1<<20), p.CPU, cmd)
	}
}
