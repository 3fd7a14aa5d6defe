package main

import "github.com/urfave/cli/v2"

// The supervisor's own flags — the load balancer, the metrics, the log
// format — belong to the supervisor, not to the server it runs: start
// passes them on to its background supervisor, and a restart does not
// change them.

func supervisorFlags() []cli.Flag {
	return append(balancerFlags(), metricsFlag(), logFormatFlag())
}

// supervisorArgs are c's supervisor flags as a background supervisor's
// arguments.
func supervisorArgs(c *cli.Context) []string {
	return append(append(balancerArgs(c), metricsArgs(c)...), logFormatArgs(c)...)
}
