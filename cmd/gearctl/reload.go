package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "the server's own graceful reload (code re-import), same PID; returns once it answers again",
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
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
	cl := call.g.Client()
	// The reload may take the server's start timeout.
	timeout := 60 * time.Second
	rep, err := cl.Status(call.ctx)
	if set, serr := gear.Settings(rep); err == nil && serr == nil {
		timeout = set.StartTimeout
	}
	if err == nil {
		err = cl.Reload(call.ctx, timeout)
	}
	if errors.Is(err, control.ErrNoReload) {
		// A program (app.py run as the cartridge ran it) may be a shell a
		// HUP would kill: a fresh one replaces it.
		fmt.Fprintf(call.out, "gearctl: %s has no graceful reload: restarting it instead\n", rep.Server)
		return restartGear(call)
	}
	if errors.Is(err, control.ErrNoSupervisor) {
		return exitWith(statusNotRunning, "not running")
	}
	if err != nil {
		return failure(err)
	}
	rep, _ = cl.Status(call.ctx)
	set, _ := gear.Settings(rep)
	fmt.Fprintf(call.out, "gearctl: reloaded %s pid %d, %s\n", rep.Server, rep.PID, answered(rep.Status, set))
	warnAnswer(rep.Status, set)
	return nil
}
