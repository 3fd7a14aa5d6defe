package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Help teaches: every verb has examples, every flag says what it does,
// and restart shows as defaults what it applies: the running gear's.
func TestHelpTeaches(t *testing.T) {
	app := newApp()
	var check func(prefix string, cmds []*cli.Command)
	check = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := prefix + c.Name
			if c.Hidden || c.Name == "help" {
				continue
			}
			if len(c.Subcommands) > 0 {
				check(name+" ", c.Subcommands)
			} else if prefix == "" && !strings.Contains(c.Description, "Example") {
				t.Errorf("gearctl %s: help has no example", name)
			}
			for _, f := range c.Flags {
				if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
					continue
				}
				if df, ok := f.(cli.DocGenerationFlag); ok && df.GetUsage() == "" {
					t.Errorf("gearctl %s --%s: no description", name, f.Names()[0])
				}
			}
		}
	}
	check("", app.Commands)
	for _, f := range app.Flags {
		if df, ok := f.(cli.DocGenerationFlag); ok && df.GetUsage() == "" {
			t.Errorf("gearctl --%s: no description", f.Names()[0])
		}
	}
	for _, f := range keptFlags() {
		if s := f.String(); strings.Contains(s, "(default: ") && !strings.Contains(s, "(default: "+keptDefault+")") {
			t.Errorf("restart's help shows a default restart does not apply: %s", s)
		}
	}
}
