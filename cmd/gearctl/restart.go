package main

import (
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/control"
	"github.com/urfave/cli/v2"
)

func restartCommand() *cli.Command {
	return &cli.Command{
		Name: "restart",
		Usage: "replace the server with a fresh one without refusing connections; flags change " +
			"what they name (--server swaps servers), the rest stays; the old one keeps serving if the new one fails",
		ArgsUsage: "[-- extra server arguments]",
		Flags:     appFlags(),
		Action: func(c *cli.Context) error {
			g, err := gear(c)
			if err != nil {
				return err
			}
			cl := g.Client()
			rep, err := cl.Status(c.Context)
			if errors.Is(err, control.ErrNoSupervisor) {
				// Nothing runs (or only a server whose supervisor died,
				// which start adopts): a restart is a start.
				spec, set, err := resolve(c, g, nil)
				if err != nil {
					return err
				}
				return launch(c, g, spec, set)
			}
			if err != nil {
				return exitWith(1, "%v", err)
			}
			base, err := storedSettings(rep)
			if err != nil {
				return exitWith(1, "%v", err)
			}
			spec, _, err := resolve(c, g, &base)
			if err != nil {
				return err
			}
			if err := cl.Restart(c.Context, spec); err != nil {
				return failure(err)
			}
			rep, _ = cl.Status(c.Context)
			fmt.Fprintf(c.App.Writer, "gearctl: restarted: %s pid %d ready on %s; %s\n", rep.Server, rep.PID, rep.Listen, rep.Handover)
			return nil
		},
	}
}
