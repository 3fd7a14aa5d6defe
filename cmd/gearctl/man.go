package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The manual page is made from the same definitions as --help, so the two
// never disagree.

func manCommand() *cli.Command {
	return &cli.Command{
		Name:  "man",
		Usage: "print gearctl's manual page (roff), made from the same definitions as --help",
		Description: "Example:\n" +
			"   gearctl man > /usr/local/share/man/man1/gearctl.1   # scripts/install does this\n" +
			"   gearctl man | man -l -",
		Action: func(c *cli.Context) error {
			page, err := c.App.ToManWithSection(1)
			if err != nil {
				return exitWith(1, "man page: %v", err)
			}
			fmt.Fprint(c.App.Writer, page)
			return nil
		},
	}
}
