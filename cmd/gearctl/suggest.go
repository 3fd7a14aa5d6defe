package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// minLikeness is how alike (Jaro-Winkler, 0 to 1) a mistyped word and a
// known one must be for "did you mean": strat and start are 0.93, port
// and sport 0.93, status and stop 0.64.
const minLikeness = 0.8

// didYouMean is ` (did you mean "X"?)` for the known word most like typed,
// when one is like enough; "" otherwise.
func didYouMean(typed string, known []string) string {
	best, score := "", 0.0
	for _, k := range known {
		if s := smetrics.JaroWinkler(typed, k, 0.7, 4); s > score {
			best, score = k, s
		}
	}
	if score < minLikeness {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// commandNames are the names of the visible commands.
func commandNames(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return names
}

// flagNames are the long names of flags, with their dashes.
func flagNames(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) > 1 {
				names = append(names, "--"+n)
			}
		}
	}
	return names
}
