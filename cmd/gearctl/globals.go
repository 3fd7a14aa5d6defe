package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// The global flags name the gear and where its files are. People type
// them after the verb as often as before it (`gearctl status --dir X`),
// so every verb declares them too, and its help lists them; globalString
// reads whichever was given.

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name:        "dir",
			EnvVars:     []string{"GEARCTL_DIR"},
			Usage:       "the gear's state directory, such as /srv/app/.gearctl",
			DefaultText: "$OPENSHIFT_PYTHON_DIR/run, else .gearctl in the application's directory (--chdir)",
		},
		nameFlag(),
		&cli.StringFlag{
			Name:        "log-dir",
			EnvVars:     []string{"GEARCTL_LOG_DIR", "OPENSHIFT_PYTHON_LOG_DIR"},
			Usage:       "where server.log is written, such as /var/log/app",
			DefaultText: "DIR/logs",
		},
	}
}

// withGlobalFlags gives every command, control's actions included, the
// global flags of its own. Only the app's read the variables: a variable
// must not outrank a flag given before the verb.
func withGlobalFlags(cmds []*cli.Command) {
	for _, c := range cmds {
		if len(c.Subcommands) > 0 {
			withGlobalFlags(c.Subcommands)
			continue
		}
		for _, f := range globalFlags() {
			sf := f.(*cli.StringFlag)
			sf.Usage += " [$" + strings.Join(sf.EnvVars, ", $") + "]"
			sf.EnvVars = nil
			c.Flags = append(c.Flags, sf)
		}
	}
}

// globalString is the global flag name as given after the verb, else
// before it, else by its variable or default: the innermost context that
// was told wins.
func globalString(c *cli.Context, name string) string {
	lineage := c.Lineage()
	for _, ctx := range lineage {
		if slices.Contains(ctx.LocalFlagNames(), name) {
			return ctx.String(name)
		}
	}
	return lineage[len(lineage)-1].String(name)
}
