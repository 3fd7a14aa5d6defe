package main

import (
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/urfave/cli/v2"
)

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:  "stop",
		Usage: "stop the server gracefully, then the supervisor; returns once no process of the gear is left",
		Flags: []cli.Flag{boolFlag(cli.GenericFlag{Name: "now", Usage: "kill the server at once instead of waiting for its graceful stop (also during one)"}, false)},
		// NAME is a registered gear's (see gearctl list).
		ArgsUsage: "[NAME]",
		Action: func(c *cli.Context) error {
			name, err := nameArg(c)
			if err != nil {
				return err
			}
			// Nothing found is nothing running: stop has nothing to do.
			g, err := findGear(c, name, 0)
			if err != nil {
				return err
			}
			return stopGear(newCall(c, g), c.Bool("now"))
		},
	}
}

// stopGear stops the gear and says what it did; the stop's warnings go to
// stderr.
func stopGear(cl call, now bool) error {
	st, err := gear.Stop(cl.ctx, cl.g, now, newLogger(errWriter, "text"))
	for _, w := range st.Warnings {
		fmt.Fprintln(errWriter, "gearctl: warning: "+w)
	}
	var msg string
	switch {
	case errors.Is(err, gear.ErrStarting):
		return exitWith(1, "a supervisor is starting for %s; try again", cl.g.Dir)
	case errors.Is(err, pidfile.ErrGarbage):
		return garbage(err)
	case errors.Is(err, pidfile.ErrUntrusted):
		return untrusted(err)
	case err != nil:
		return exitWith(1, "%v", err)
	case st.Stale:
		msg = "not running (the server pidfile was stale; nothing was signalled)"
	case st.PID == 0:
		msg = "not running"
	case st.Orphan:
		msg = fmt.Sprintf("stopped server pid %d, which ran without its supervisor", st.PID)
	default:
		msg = fmt.Sprintf("stopped %s pid %d", st.Server, st.PID)
	}
	fmt.Fprintln(cl.out, "gearctl: "+msg)
	return nil
}
