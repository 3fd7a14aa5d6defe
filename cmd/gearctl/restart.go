package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

func restartCommand() *cli.Command {
	return &cli.Command{
		Name: "restart",
		Usage: "replace the server with a fresh one without refusing connections; flags change " +
			"what they name (--server swaps servers), the rest stays; the old one keeps serving if the new one fails",
		ArgsUsage: "[-- extra server arguments]",
		Flags:     appFlags(),
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			return restartGear(newCall(c, g))
		},
	}
}

// restartGear replaces the gear's server with one of the settings c's
// flags change (all of them kept when c has none, as for reload's
// fallback), or starts it when nothing runs.
func restartGear(call call) error {
	cl := call.g.Client()
	rep, err := cl.Status(call.ctx)
	if errors.Is(err, control.ErrNoSupervisor) {
		// Nothing runs (or only a server whose supervisor died,
		// which start adopts): a restart is a start.
		spec, set, err := call.resolve(nil)
		if err != nil {
			return err
		}
		return launch(call, spec, set)
	}
	if err != nil {
		return exitWith(1, "%v", err)
	}
	base, err := gear.Settings(rep)
	if err != nil {
		return exitWith(1, "%v", err)
	}
	spec, set, err := call.resolve(&base)
	if err != nil {
		return err
	}
	if port := movedPort(rep, base, set, spec); port != 0 {
		if spec, _, err = specFor(set, port); err != nil {
			return err
		}
	}
	if err := cl.Restart(call.ctx, spec); err != nil {
		return failure(err)
	}
	// What is reported comes from a status fetched after the restart: a
	// stop that raced it (SIGTERM to the supervisor) may have taken the
	// new server away in between, and "pid 0 ready on " is no success.
	rep, err = cl.Status(call.ctx)
	if err != nil {
		return exitWith(1, "restart: the new server got ready, but then the supervisor stopped answering: %v", err)
	}
	if gone := rep.State == control.Stopping || rep.State == control.Stopped || rep.State == control.Failed; gone || rep.PID == 0 {
		return exitWith(1, "restart: the new server got ready, but the gear is %s now (supervisor pid %d): a stop came in", rep.State, rep.SupervisorPID)
	}
	fmt.Fprintf(call.out, "gearctl: restarted: %s pid %d ready on %s, %s; %s\n",
		rep.Server, rep.PID, rep.Listen, answered(rep.Status, set), rep.Handover)
	warnAnswer(rep.Status, set)
	return nil
}

// movedPort is the port a gear registered with haproxy restarts on when the
// listening socket cannot pass from the old server to the new one (either
// binds its own port): the new instance starts beside the old one on
// another port, haproxy takes it in, then drains the old one. The gear
// moves between its home port and a free one; 0 means no move.
func movedPort(rep control.Report, base, set cartridge.Settings, spec control.Spec) int {
	if rep.Balancer == nil || rep.Balancer.Backend == "" || set.Port != base.Port || set.Host != base.Host {
		return 0
	}
	old, _, err := specFor(base, portOf(rep.Listen))
	if err == nil && old.TakesFD && spec.TakesFD && spec.ProbeFD {
		return 0
	}
	if portOf(rep.Listen) != set.Port {
		return set.Port // back home
	}
	l, err := net.Listen("tcp", net.JoinHostPort(set.Host, "0"))
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func portOf(address string) int {
	_, p, _ := net.SplitHostPort(address)
	n, _ := strconv.Atoi(p)
	return n
}
