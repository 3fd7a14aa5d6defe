package main

import (
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "the server's output (and the supervisor's lines) from server.log",
		Flags: []cli.Flag{
			intFlag(cli.GenericFlag{Name: "lines", Aliases: []string{"n"}, Usage: "how many of the last lines"}, 20, acceptedNumber),
			boolFlag(cli.GenericFlag{Name: "follow", Aliases: []string{"f"}, Usage: "go on printing lines as they come, across rotations"}, false),
		},
		// NAME is a registered gear's (see gearctl list).
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			name, err := nameArg(c)
			if err != nil {
				return err
			}
			// No gear where one was looked for is no log yet there.
			g, err := lookGear(c, name)
			var ng *noGear
			if errors.As(err, &ng) && g.Dir != "" {
				err = nil
			}
			switch {
			case ng != nil && err != nil:
				return exitWith(1, "%v", ng)
			case err != nil:
				return err
			}
			if c.Int("lines") < 0 {
				return usageErrorf("--lines %d: out of range; accepted: 0 or more", c.Int("lines"))
			}
			why := "the gear has not run with this log directory (--dir, --log-dir)"
			if ng != nil {
				why = ng.msg
			}
			lines, err := gear.Logs(g, c.Int("lines"))
			switch {
			case errors.Is(err, gear.ErrNoLog) && c.Bool("follow"):
				fmt.Fprintf(errWriter, "gearctl: %v; waiting for it\n", err)
			case errors.Is(err, gear.ErrNoLog):
				return exitWith(1, "%v: %s", err, why)
			case err != nil:
				return exitWith(1, "%v", err)
			}
			for _, l := range lines {
				fmt.Fprintln(c.App.Writer, l)
			}
			if !c.Bool("follow") {
				return nil
			}
			if err := gear.Follow(c.Context, g, c.App.Writer); err != nil {
				return exitWith(1, "%v", err)
			}
			return nil
		},
	}
}
