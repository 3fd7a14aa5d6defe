package main

import (
	"testing"

	"github.com/urfave/cli/v2"
)

// The global flags work before the verb and after it, also after a
// control action, and the one after the verb wins.
func TestGlobalFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--dir", "/a", "status"}, "", "/a"},
		{[]string{"status", "--dir", "/b"}, "", "/b"},
		{[]string{"--dir", "/a", "status", "--dir", "/b"}, "", "/b"},
		{[]string{"control", "status", "--dir", "/c"}, "", "/c"},
		{[]string{"status"}, "/e", "/e"},
		{[]string{"--dir", "/a", "status"}, "/e", "/a"},
		{[]string{"status"}, "", ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			t.Setenv("GEARCTL_DIR", tc.env)
			app := newApp()
			var got string
			capture := func(c *cli.Context) error { got = globalString(c, "dir"); return nil }
			for _, c := range app.Commands {
				c.Action = capture
				for _, sub := range c.Subcommands {
					sub.Action = capture
				}
			}
			if err := app.Run(append([]string{"gearctl"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%q with GEARCTL_DIR=%q: --dir %q; want %q", tc.args, tc.env, got, tc.want)
			}
		})
	}
}
