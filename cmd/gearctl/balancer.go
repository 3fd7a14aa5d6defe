package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/haproxy"
	"github.com/urfave/cli/v2"
)

// balancerFlags register the gear with haproxy (see supervisorFlags).
func balancerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "haproxy", EnvVars: []string{"GEARCTL_HAPROXY"},
			Usage: "register the gear as a dynamic server through haproxy's runtime API, unix:PATH or HOST:PORT, such as unix:/run/haproxy/admin.sock"},
		&cli.StringFlag{Name: "haproxy-backend", Value: "express", EnvVars: []string{"GEARCTL_HAPROXY_BACKEND"},
			Usage: "the haproxy backend the gear registers in (express: the OpenShift haproxy cartridge's)"},
		&cli.StringFlag{Name: "haproxy-server", EnvVars: []string{"GEARCTL_HAPROXY_SERVER", "OPENSHIFT_GEAR_NAME"},
			Usage: "the gear's server name in the backend", DefaultText: "HOSTNAME-PORT"},
		intFlag(cli.GenericFlag{Name: "agent-port", EnvVars: []string{"GEARCTL_AGENT_PORT"},
			Usage: "answer haproxy's agent-check on this port of --host, such as 8081", DefaultText: "off"}, 0, acceptedPort),
	}
}

// balancerArgs passes the balancer flags on to the background supervisor.
func balancerArgs(c *cli.Context) []string {
	var args []string
	for _, name := range []string{"haproxy", "haproxy-backend", "haproxy-server"} {
		if v := c.String(name); v != "" {
			args = append(args, "--"+name, v)
		}
	}
	if p := c.Int("agent-port"); p != 0 {
		args = append(args, "--agent-port", strconv.Itoa(p))
	}
	return args
}

// checkBalancer refuses bad balancer flags for a gear on host. start and
// run call it before anything starts: the background supervisor would
// otherwise meet them only after the launch, and the start exit 1.
func checkBalancer(c *cli.Context, host string) error {
	api, port := c.String("haproxy"), c.Int("agent-port")
	if port < 0 || port > 65535 || port == 0 && c.IsSet("agent-port") {
		return usageErrorf("--agent-port %d: out of range; accepted: 1 to 65535", port)
	}
	if api != "" {
		if _, err := haproxy.New(api); err != nil {
			return usageErrorf("--haproxy: %v", err)
		}
	}
	for _, name := range []string{"haproxy-backend", "haproxy-server"} {
		if v := c.String(name); c.IsSet(name) || v != "" {
			if err := haproxy.CheckName(name[len("haproxy-"):], v); err != nil {
				return usageErrorf("--%s %q: not a valid haproxy name; accepted: letters, digits, '-', '_', '.' and ':'", name, v)
			}
		}
	}
	if api == "" && port == 0 {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return usageErrorf("--host %q: haproxy needs the IP address it reaches the gear on; accepted: an IP address such as 10.0.0.5", host)
	}
	return nil
}

// follower starts what the balancer flags ask for; nil when they ask
// nothing.
func follower(c *cli.Context, spec control.Spec, log *slog.Logger) (*haproxy.Follower, error) {
	if err := checkBalancer(c, spec.Host); err != nil {
		return nil, err
	}
	api, port := c.String("haproxy"), c.Int("agent-port")
	if api == "" && port == 0 {
		return nil, nil
	}
	cfg := haproxy.FollowConfig{Backend: c.String("haproxy-backend"), Server: c.String("haproxy-server"),
		Addr: net.ParseIP(spec.Host).String(), Port: spec.Port, AgentPort: port, Drain: spec.StopTimeout, Logger: log}
	if api != "" {
		client, err := haproxy.New(api)
		if err != nil {
			return nil, usageErrorf("--haproxy: %v", err)
		}
		cfg.Client = client
	}
	if cfg.Server == "" {
		host, _ := os.Hostname()
		cfg.Server = fmt.Sprintf("%s-%d", host, spec.Port)
	}
	f, err := haproxy.Follow(cfg)
	switch {
	case errors.Is(err, haproxy.ErrInvalid):
		return nil, usageErrorf("%v", err)
	case err != nil:
		// checkBalancer refused the rest: what is left is the agent's listen.
		return nil, usageErrorf("--agent-port %d: %v", port, err)
	}
	return f, nil
}
