package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
)

// The control verb is an OpenShift cartridge's bin/control: package
// cartridge runs its actions, their hooks and markers; the gear verbs it
// runs between the hooks are the plain verbs' own, and what they say on
// App.Writer becomes CLIENT_RESULT lines.

// controlArgs lets the binary be a cartridge's bin/control: invoked through
// a symlink named control, "control ACTION" means "gearctl control ACTION".
// Global options then come from their variables (GEARCTL_DIR, ...).
func controlArgs(args []string) []string {
	if len(args) > 0 && filepath.Base(args[0]) == "control" {
		return append([]string{args[0], "control"}, args[1:]...)
	}
	return args
}

func controlCommand() *cli.Command {
	var subs []*cli.Command
	var names []string
	for _, a := range cartridge.Actions {
		subs = append(subs, &cli.Command{
			Name:         a.Name,
			Usage:        a.Usage,
			Hidden:       a.Hidden,
			ArgsUsage:    "[-- extra server arguments]",
			Flags:        appFlags(),
			OnUsageError: onUsageError,
			Action:       runControl(a),
		})
		if !a.Hidden {
			names = append(names, a.Name)
		}
	}
	accepted := strings.Join(names, ", ")
	return &cli.Command{
		Name: "control",
		Usage: "the actions of a cartridge's bin/control (" + accepted + "), with the application's " +
			".openshift/action_hooks and markers; also run as 'control ACTION' through a symlink named control",
		ArgsUsage:       "ACTION",
		HideHelpCommand: true,
		Subcommands:     subs,
		// Before the action's flags are parsed: the gear's OpenShift env
		// directories fill in what the caller's environment does not set,
		// as the node does when it runs bin/control itself.
		Before: func(*cli.Context) error {
			for _, kv := range cartridge.WithEnvDirs(os.Environ()) {
				k, v, _ := strings.Cut(kv, "=")
				os.Setenv(k, v)
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				action := c.Args().First()
				return usageErrorf("unknown control action %q%s; accepted: %s", action, didYouMean(action, names), accepted)
			}
			return usageErrorf("control needs an action; accepted: %s", accepted)
		},
	}
}

func runControl(a cartridge.Action) cli.ActionFunc {
	return func(c *cli.Context) error {
		out := c.App.Writer
		c.App.Writer = cartridge.ClientWriter(out, cartridge.ClientResult)
		defer func() { c.App.Writer = out }()
		return fromCartridge(controlAction(c, out, a))
	}
}

// controlAction runs a on the gear of c, writing to out.
func controlAction(c *cli.Context, out io.Writer, a cartridge.Action) error {
	g, err := gearDir(c)
	if err != nil {
		return err
	}
	x, err := cartridge.NewControl(c.Context, g, settings(c, g.Dir, nil, nil), out)
	if err != nil {
		return err
	}
	cl := newCall(c, g)
	// The gear's virtualenv, once build made it, is the interpreter of
	// every action, unless --python or VIRTUAL_ENV names another.
	if venv := x.App.Venv; !c.IsSet("python") && venv != "" {
		over := cl.over
		cl.over = func(base *server.Settings) (server.Settings, error) {
			s, err := over(base)
			s.Python = venv
			return s, err
		}
	}
	x.SetVerbs(controlVerbs{cl})
	return x.Run(a)
}

// controlVerbs are the plain verbs for the control actions.
type controlVerbs struct{ call }

func (v controlVerbs) Resolve() (control.Spec, server.Settings, error) { return v.resolve(nil) }

func (v controlVerbs) Inspect() (control.Report, gear.Health, error) { return inspect(v.ctx, v.g) }

func (v controlVerbs) PrintStatus(w io.Writer, rep control.Report) {
	printStatus(w, v.g, rep, statusLines)
}

func (v controlVerbs) Start() error {
	spec, set, err := v.resolve(nil)
	if err != nil {
		return err
	}
	return launch(v.call, spec, set)
}

func (v controlVerbs) Stop() error    { return stopGear(v.call, false) }
func (v controlVerbs) Restart() error { return restartGear(v.call) }
func (v controlVerbs) Reload() error  { return reloadGear(v.call) }
func (v controlVerbs) Tidy() error    { return tidyGear(v.call) }

// fromCartridge is err with a *cartridge.ExitError in it made this
// command's exit error.
func fromCartridge(err error) error {
	var ee *cartridge.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.Code, msg: ee.Msg}
	}
	return err
}
