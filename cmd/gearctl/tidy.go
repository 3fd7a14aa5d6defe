package main

import (
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/control"
	"github.com/urfave/cli/v2"
)

func tidyCommand() *cli.Command {
	return &cli.Command{
		Name:  "tidy",
		Usage: "rotate and trim logs, remove stale files",
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			return tidyGear(newCall(c, g))
		},
	}
}

// tidyGear starts a new log file and removes what is stale.
func tidyGear(call call) error {
	if err := call.g.Client().Rotate(call.ctx); err != nil && !errors.Is(err, control.ErrNoSupervisor) {
		return exitWith(1, "%v", err)
	}
	removed, err := call.g.Tidy()
	for _, f := range removed {
		fmt.Fprintln(call.out, "gearctl: removed "+f)
	}
	if err != nil {
		return exitWith(1, "%v", err)
	}
	return nil
}
