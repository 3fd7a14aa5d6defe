package main

import (
	"fmt"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Stamped at build time by scripts/install:
// -ldflags "-X main.version=v1.2.0 -X main.commit=… -X main.date=…".
var version, commit, date string

// buildInfo is this binary's version, commit and commit date: as the
// build stamped them, else as the Go toolchain recorded them (`go install
// …@v1.2.0` records the version, a build in a git checkout the commit,
// its time and whether the tree was modified).
func buildInfo() (v, c, d, goVersion string) {
	v, c, d = version, commit, date
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return or(v, "dev"), or(c, "unknown"), or(d, "unknown"), "unknown"
	}
	if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			c = or(c, s.Value)
		case "vcs.time":
			d = or(d, s.Value)
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && commit == "" && c != "" {
		c += "+modified"
	}
	return or(v, "dev"), or(c, "unknown"), or(d, "unknown"), info.GoVersion
}

func or(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// versionLine is what `gearctl version` and `gearctl --version` print.
func versionLine() string {
	v, c, d, g := buildInfo()
	return fmt.Sprintf("gearctl %s (commit %s, %s, %s)", v, c, d, g)
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, commit and build date of this gearctl",
		Action: func(c *cli.Context) error {
			fmt.Fprintln(c.App.Writer, versionLine())
			return nil
		},
	}
}
