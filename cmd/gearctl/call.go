package main

import (
	"context"
	"io"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
)

// call is what a verb takes from its command line, read once from the
// cli.Context: the plain verbs and the control actions run the same verb
// functions on it, and nothing passes data through urfave's flags.
type call struct {
	ctx context.Context
	out io.Writer
	g   control.Gear
	// over makes this command line's settings over base, the running
	// gear's (nil: none runs), for resolve.
	over func(base *server.Settings) (server.Settings, error)
	// given are the settings this command line gives, by flag name.
	given []string
	// supervisor are the supervisor's own flags, for a background
	// supervisor.
	supervisor []string
}

// newCall reads c for a verb on gear g.
func newCall(c *cli.Context, g control.Gear) call {
	return call{
		ctx: c.Context, out: c.App.Writer, g: g, supervisor: supervisorArgs(c), given: givenSettings(c),
		over: func(base *server.Settings) (server.Settings, error) {
			extra, err := extraArgs(c)
			if err != nil {
				return server.Settings{}, err
			}
			return settings(c, g.Dir, extra, base), nil
		},
	}
}

// resolve checks the call's settings over base and builds the server's
// Spec; bad input is a usage error, and nothing has been touched yet.
func (cl call) resolve(base *server.Settings) (control.Spec, server.Settings, error) {
	set, err := cl.over(base)
	if err != nil {
		return control.Spec{}, set, err
	}
	spec, set, err := gear.Resolve(set, 0)
	if err != nil {
		return spec, set, usageErrorf("%v", err)
	}
	return spec, set, nil
}
