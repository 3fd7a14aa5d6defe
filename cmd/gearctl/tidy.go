package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/registry"
	"github.com/urfave/cli/v2"
)

func tidyCommand() *cli.Command {
	return &cli.Command{
		Name:  "tidy",
		Usage: "rotate and trim logs, remove stale files, and the registry's entries of gears whose supervisor is gone",
		Action: func(c *cli.Context) error {
			g, err := lookGear(c, "")
			var ng *noGear
			switch {
			case errors.As(err, &ng):
				// No gear here to tidy; the registry still is.
				if err := tidyRegistry(c.App.Writer); err != nil {
					return err
				}
				return exitWith(0, "%v", ng)
			case err != nil:
				return err
			}
			return tidyGear(newCall(c, g))
		},
	}
}

// tidyGear starts a new log file and removes what is stale, in the gear
// and in the registry.
func tidyGear(call call) error {
	removed, err := gear.Tidy(call.ctx, call.g)
	for _, f := range removed {
		fmt.Fprintln(call.out, "gearctl: removed "+f)
	}
	if err != nil {
		return exitWith(1, "%v", err)
	}
	return tidyRegistry(call.out)
}

// tidyRegistry removes the registry's entries of gears whose supervisor
// is gone, and says of each whether the server it left still runs. An
// entry another user could have written is left alone, and said.
func tidyRegistry(out io.Writer) error {
	removed, refused, err := registry.Default().Tidy()
	for _, f := range removed {
		if f.Err != nil {
			fmt.Fprintf(out, "gearctl: removed %v\n", f.Err)
			continue
		}
		msg := fmt.Sprintf("gearctl: removed the registry entry of %s: its supervisor pid %d is gone", f.Name, f.Supervisor.PID)
		if p, _, _ := (control.Gear{Dir: f.Dir}).Orphan(); p != nil {
			msg += fmt.Sprintf("; the server pid %d it left runs on (gearctl --dir %s status)", p.PID(), f.Dir)
			p.Close()
		}
		fmt.Fprintln(out, msg)
	}
	for _, f := range refused {
		fmt.Fprintf(errWriter, "gearctl: %v; left as it is\n", f.Err)
	}
	switch {
	case err != nil:
		return registryErr(err)
	case len(refused) > 0:
		return &exitError{code: 2}
	}
	return nil
}
