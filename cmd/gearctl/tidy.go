package main

import (
	"fmt"

	"github.com/gearctl/gearctl/gear"
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
	removed, err := gear.Tidy(call.ctx, call.g)
	for _, f := range removed {
		fmt.Fprintln(call.out, "gearctl: removed "+f)
	}
	if err != nil {
		return exitWith(1, "%v", err)
	}
	return nil
}
