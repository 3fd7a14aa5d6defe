package main

import (
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

func restartCommand() *cli.Command {
	return &cli.Command{
		Name: "restart",
		Usage: "replace the server with a fresh one without refusing connections; flags change " +
			"what they name (--server swaps servers), the rest stays; the old one keeps serving if the new one fails",
		ArgsUsage: "[-- extra server arguments]",
		Flags:     keptFlags(),
		Action: func(c *cli.Context) error {
			g, err := restartDir(c)
			if err != nil {
				return err
			}
			return restartGear(newCall(c, g))
		},
	}
}

// restartGear replaces the gear's server with one of the settings the
// call changes (all of them kept when it changes none, as for reload's
// fallback), or starts it when nothing runs.
func restartGear(call call) error {
	r, err := gear.Restart(call.ctx, call.g, call.over)
	var bad *gear.SettingsError
	switch {
	case errors.Is(err, gear.ErrNotRunning):
		// Nothing runs (or only a server whose supervisor died, which
		// start adopts): a restart is a start.
		spec, set, err := call.resolve(nil)
		if err != nil {
			return err
		}
		return launch(call, spec, set)
	case errors.As(err, &bad):
		return usageErrorf("%v", bad.Err)
	case err != nil:
		return failure(err)
	}
	fmt.Fprintf(call.out, "gearctl: restarted: %s pid %d ready on %s, %s; %s\n",
		r.Server, r.PID, r.Listen, answered(r.Status, r.Settings), r.Handover)
	warnAnswer(r.Status, r.Settings)
	return nil
}

// keptDefault is what restart's help shows as each setting's default.
const keptDefault = "as the gear runs"

// keptFlags are the settings' flags for restart: a flag not given keeps
// the running gear's value, so that is the default help shows.
func keptFlags() []cli.Flag {
	flags := appFlags()
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			f.DefaultText = keptDefault
		case *cli.StringSliceFlag:
			f.DefaultText = keptDefault
		case interface{ setDefaultText(string) }:
			f.setDefaultText(keptDefault)
		}
	}
	return flags
}
