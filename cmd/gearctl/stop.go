package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/urfave/cli/v2"
)

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:  "stop",
		Usage: "stop the server gracefully, then the supervisor; returns once no process of the gear is left",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "now", Usage: "kill the server at once instead of waiting for its graceful stop (also during one)"}},
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			msg, err := stopGear(c.Context, g, c.Bool("now"))
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "gearctl: "+msg)
			return nil
		},
	}
}

// stopGear stops the gear and says what it did; the stop's warnings go to
// stderr.
func stopGear(ctx context.Context, g control.Gear, now bool) (string, error) {
	st, err := gear.Stop(ctx, g, now, newLogger(errWriter))
	for _, w := range st.Warnings {
		fmt.Fprintln(errWriter, "gearctl: warning: "+w)
	}
	switch {
	case errors.Is(err, gear.ErrStarting):
		return "", exitWith(1, "a supervisor is starting for %s; try again", g.Dir)
	case errors.Is(err, pidfile.ErrGarbage):
		return "", garbage(err)
	case errors.Is(err, pidfile.ErrUntrusted):
		return "", untrusted(err)
	case err != nil:
		return "", exitWith(1, "%v", err)
	case st.Stale:
		return "not running (the server pidfile was stale; nothing was signalled)", nil
	case st.PID == 0:
		return "not running", nil
	case st.Orphan:
		return fmt.Sprintf("stopped server pid %d, which ran without its supervisor", st.PID), nil
	}
	return fmt.Sprintf("stopped %s pid %d", st.Server, st.PID), nil
}
