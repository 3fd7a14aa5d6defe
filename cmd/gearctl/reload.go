package main

import (
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "the server's own graceful reload (code re-import), same PID; returns once it answers again",
		Action: func(c *cli.Context) error {
			g, err := findGear(c, "", statusNotRunning)
			if err != nil {
				return err
			}
			return reloadGear(newCall(c, g))
		},
	}
}

// reloadGear asks for the server's graceful reload, or restarts a server
// that has none.
func reloadGear(call call) error {
	r, err := gear.Reload(call.ctx, call.g)
	switch {
	case errors.Is(err, control.ErrNoReload):
		// A program (app.py run as the cartridge ran it) may be a shell a
		// HUP would kill: a fresh one replaces it.
		fmt.Fprintf(call.out, "gearctl: %s has no graceful reload: restarting it instead\n", r.Server)
		return restartGear(call)
	case errors.Is(err, gear.ErrNotRunning):
		return exitWith(statusNotRunning, "not running")
	case err != nil:
		return failure(err)
	}
	fmt.Fprintf(call.out, "gearctl: reloaded %s pid %d, %s\n", r.Server, r.PID, answered(r.Status, r.Settings))
	warnAnswer(r.Status, r.Settings)
	return nil
}
