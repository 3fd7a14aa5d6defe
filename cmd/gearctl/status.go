package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
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

// statusLines is how many of the log's last lines status shows.
const statusLines = 10

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "state of the gear; exit 0 ready, 1 running but not ready or failing, 3 not running",
		Flags: []cli.Flag{
			boolFlag(cli.GenericFlag{Name: "json", Usage: "for machines: the fields the README lists, status.schema.json their schema"}, false),
			intFlag(cli.GenericFlag{Name: "lines", Aliases: []string{"n"}, Usage: "how many of the log's last lines to show"}, statusLines, acceptedNumber),
		},
		// NAME is a registered gear's (see gearctl list).
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			name, err := nameArg(c)
			if err != nil {
				return err
			}
			if c.Int("lines") < 0 {
				return usageErrorf("--lines %d: out of range; accepted: 0 or more", c.Int("lines"))
			}
			// No gear found is a gear that runs nothing: machines get its
			// status, people the line that says where to look instead.
			rep, health := control.Report{Status: control.Status{State: control.Stopped}}, gear.NotRunning
			g, err := lookGear(c, name)
			var ng *noGear
			switch {
			case errors.As(err, &ng):
			case err != nil:
				return err
			default:
				if rep, health, err = inspect(c.Context, g); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				out := reportJSON(g, rep)
				if ng != nil {
					out.Log = "" // no gear, no log
				}
				enc.Encode(out)
			} else if ng == nil {
				printStatus(c.App.Writer, g, rep, c.Int("lines"))
			}
			if ng != nil {
				return exitWith(int(health), "%v", ng)
			}
			return &exitError{code: int(health)}
		},
	}
}

// inspect is gear.Status with its errors as exit statuses.
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

// schemaVersion is status --json's version: it grows when a field changes
// meaning or goes; new fields do not change it.
const schemaVersion = 1

// statusJSON is status --json: the report, with the settings by their
// flag names, lists that are never null, the whole gear's memory and CPU,
// and where its log is.
type statusJSON struct {
	SchemaVersion int `json:"schema_version"`
	control.Report
	Settings  map[string]any        `json:"settings,omitempty"`
	Processes []control.ProcessInfo `json:"processes"`
	Warnings  []string              `json:"warnings"`
	// RSS and CPU are the sums over the gear's processes.
	RSS uint64  `json:"rss"`
	CPU float64 `json:"cpu"`
	Log string  `json:"log"`
}

func reportJSON(g control.Gear, rep control.Report) statusJSON {
	out := statusJSON{SchemaVersion: schemaVersion, Report: rep, Processes: rep.Processes, Warnings: rep.Warnings, Log: g.ServerLog()}
	if s, err := gear.Settings(rep); err == nil {
		out.Settings = settingsReport(s)
	}
	if out.Processes == nil {
		out.Processes = []control.ProcessInfo{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	out.RSS, out.CPU = totals(rep.Processes)
	return out
}

// totals are the summed memory and CPU of procs.
func totals(procs []control.ProcessInfo) (rss uint64, cpu float64) {
	for _, p := range procs {
		rss += p.RSS
		cpu += p.CPU
	}
	return rss, cpu
}
