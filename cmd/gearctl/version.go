package main

import (
	"fmt"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print version and build information",
		Action: func(c *cli.Context) error {
			info, _ := debug.ReadBuildInfo()
			rev := "unknown"
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
			fmt.Fprintf(c.App.Writer, "gearctl %s (%s, %s)\n", version, rev, info.GoVersion)
			return nil
		},
	}
}
