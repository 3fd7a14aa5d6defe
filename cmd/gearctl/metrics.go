package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"github.com/gearctl/gearctl/control"
	"github.com/urfave/cli/v2"
)

const acceptedMetrics = "HOST:PORT, such as 127.0.0.1:9100, or :9100 for every address"

// metricsFlag serves the gear's Prometheus metrics. A supervisor flag, like
// the balancer's: a restart does not change it.
func metricsFlag() cli.Flag {
	return typed(cli.GenericFlag{Name: "metrics", EnvVars: []string{"GEARCTL_METRICS"},
		Usage: "serve the gear's Prometheus metrics at http://HOST:PORT/metrics, such as 127.0.0.1:9100 (off by default)"}, "", parseMetricsAddr, acceptedMetrics)
}

// parseMetricsAddr accepts HOST:PORT with a port to listen on; the host
// is checked by listening.
func parseMetricsAddr(s string) (string, error) {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("port %q", port)
	}
	return s, nil
}

// metricsArgs passes --metrics on to the background supervisor.
func metricsArgs(c *cli.Context) []string {
	if a := c.String("metrics"); a != "" {
		return []string{"--metrics", a}
	}
	return nil
}

// listenMetrics binds the --metrics address for g's supervisor: nil when
// there is none, or when a supervisor already runs g (it serves its own;
// the caller will find it running).
func listenMetrics(c *cli.Context, g control.Gear) (net.Listener, error) {
	a := c.String("metrics")
	if a == "" || g.Supervised() {
		return nil, nil
	}
	l, err := net.Listen("tcp", a)
	if err != nil {
		why := err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			why = errno.Error() // "address already in use", without Go's "listen tcp ...: bind:"
		}
		return nil, usageErrorf("--metrics %s: %s; accepted: a HOST:PORT this user can listen on and nothing else does", a, why)
	}
	return l, nil
}

// checkMetrics refuses a --metrics address the background supervisor could
// not listen on: start calls it before it launches anything.
func checkMetrics(c *cli.Context, g control.Gear) error {
	l, err := listenMetrics(c, g)
	if l != nil {
		l.Close()
	}
	return err
}
