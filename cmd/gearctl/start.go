package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start a background supervisor unless one runs, and wait until the application answers",
		ArgsUsage: "[-- extra server arguments]",
		Flags:     append(appFlags(), supervisorFlags()...),
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			cl := newCall(c, g)
			spec, set, err := cl.resolve(nil)
			if err != nil {
				return err
			}
			if err := checkBalancer(c, spec.Host); err != nil {
				return err
			}
			if err := checkMetrics(c, g); err != nil {
				return err
			}
			return launch(cl, spec, set)
		},
	}
}

// launch starts the background supervisor for set and reports how it went.
func launch(cl call, spec control.Spec, set server.Settings) error {
	if err := checkServerFile(cl.g); err != nil {
		return err
	}
	if err := nameFree(cl.g, spec.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(cl.g.Logs(), 0o700); err != nil {
		return usageErrorf("--log-dir %s: %v; accepted: a directory this user can write", cl.g.Logs(), err)
	}
	st, err := gear.Start(cl.ctx, cl.g, spec, cl.supervisor)
	if err != nil {
		return failure(err)
	}
	if st.Already {
		fmt.Fprintf(cl.out, "gearctl: already running: %s pid %d, %s\n", st.Server, st.PID, st.State)
		if running, err := gear.Settings(control.Report{Status: st.Status}); err == nil {
			if said, flags := differing(cl.given, set, running); len(said) > 0 {
				fmt.Fprintf(cl.out, "gearctl: it runs with other settings than these: %s; 'gearctl restart %s' applies them\n",
					strings.Join(said, ", "), strings.Join(flags, " "))
			}
		}
		return nil
	}
	fmt.Fprintf(cl.out, "gearctl: %s\n", spec.App)
	fmt.Fprintf(cl.out, "gearctl: %s pid %d ready on %s in %.2fs, %s (supervisor pid %d)\n",
		st.Server, st.PID, st.Listen, st.Took.Seconds(), answered(st.Status, set), st.SupervisorPID)
	warnAnswer(st.Status, set)
	return nil
}

// answered says what the probe that found the gear ready got.
func answered(st control.Status, set server.Settings) string {
	if st.ReadyCode == 0 {
		return "answering"
	}
	return fmt.Sprintf("GET %s answered %d %s", set.ReadyPath, st.ReadyCode, http.StatusText(st.ReadyCode))
}

// warnAnswer tells on stderr of a gear that counts as ready on a 4xx: it
// runs, but does not serve what the probe asked for.
func warnAnswer(st control.Status, set server.Settings) {
	if hint := server.ReadyHint(st.ReadyCode, set.ReadyPath); hint != "" {
		fmt.Fprintf(errWriter, "gearctl: warning: %s\n", hint)
	}
}
