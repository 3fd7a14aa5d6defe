package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/urfave/cli/v2"
)

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "the server's own graceful reload (code re-import), same PID; returns once it answers again",
		Action: func(c *cli.Context) error {
			g, err := gear(c)
			if err != nil {
				return err
			}
			cl := g.Client()
			// The reload may take the server's start timeout.
			timeout := 60 * time.Second
			rep, err := cl.Status(c.Context)
			if set, serr := storedSettings(rep); err == nil && serr == nil {
				timeout = set.StartTimeout
			}
			if err == nil {
				err = cl.Reload(c.Context, timeout)
			}
			if errors.Is(err, control.ErrNoReload) {
				// A program (app.py run as the cartridge ran it) may be a
				// shell a HUP would kill: a fresh one replaces it.
				fmt.Fprintf(c.App.Writer, "gearctl: %s has no graceful reload: restarting it instead\n", rep.Server)
				return restartGear(c, g)
			}
			if errors.Is(err, control.ErrNoSupervisor) {
				return exitWith(statusNotRunning, "not running")
			}
			if err != nil {
				return failure(err)
			}
			rep, _ = cl.Status(c.Context)
			set, _ := storedSettings(rep)
			fmt.Fprintf(c.App.Writer, "gearctl: reloaded %s pid %d, %s\n", rep.Server, rep.PID, answered(rep.Status, set))
			warnAnswer(rep.Status, set)
			return nil
		},
	}
}
