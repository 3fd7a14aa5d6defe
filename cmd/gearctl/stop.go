package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/urfave/cli/v2"
)

// killGrace is what a stop may take beyond the server's stop timeout:
// SIGKILL and reaping.
const killGrace = 10 * time.Second

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:  "stop",
		Usage: "stop the server gracefully, then the supervisor; returns once no process of the gear is left",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "now", Usage: "kill the server at once instead of waiting for its graceful stop (also during one)"}},
		Action: func(c *cli.Context) error {
			g, err := gear(c)
			if err != nil {
				return err
			}
			msg, err := stopGear(c.Context, g, c.Bool("now"))
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "gearctl: "+msg)
			return nil
		},
	}
}

// stopGear stops the supervisor, or a server whose supervisor died, and
// says what it did. A stop under way is joined: this one returns when it
// is done, and kills only with now. Stopped means the port is free too.
func stopGear(ctx context.Context, g control.Gear, now bool) (string, error) {
	cl := g.Client()
	rep, err := cl.Status(ctx)
	if errors.Is(err, control.ErrNoSupervisor) {
		// A supervisor may hold the gear without answering yet: it is
		// starting, or its socket was removed and it opens it again.
		rep, err = g.Await(ctx)
		if errors.Is(err, control.ErrNoSupervisor) {
			return stopOrphan(g)
		}
	}
	if err != nil {
		return "", exitWith(1, "%v", err)
	}
	// Pin the supervisor before asking it to stop, to wait for its exit.
	sup, err := pidfile.Lookup(rep.SupervisorPID)
	var p *pidfile.Process
	if err == nil {
		p, err = pidfile.Open(sup)
	}
	if err == nil {
		defer p.Close()
	}
	wait := 30 * time.Second
	if set, err := storedSettings(rep); err == nil {
		wait = set.StopTimeout
	}
	last, err := cl.Stop(ctx, now, wait+killGrace)
	if err != nil && p == nil {
		// Gone already (a concurrent stop): stop what may be left.
		return stopOrphan(g)
	}
	for _, w := range last.Warnings {
		fmt.Fprintln(errWriter, "gearctl: warning: "+w)
	}
	// The answer comes just before the supervisor's exit, or not at all
	// when it was killed: its end is what is waited for.
	ctx, cancel := context.WithTimeout(ctx, wait+killGrace)
	defer cancel()
	if p != nil {
		err = p.Wait(ctx)
	} else {
		err = waitGone(ctx, cl)
	}
	if err != nil {
		return "", exitWith(1, "supervisor pid %d still stopping after %s", rep.SupervisorPID, wait+killGrace)
	}
	if err := portFree(ctx, rep.Listen); err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped %s pid %d", rep.Server, rep.PID), nil
}

// stopOrphan stops a server left without its supervisor, if there is one.
func stopOrphan(g control.Gear) (string, error) {
	pid, listen, err := g.StopOrphan(newLogger(errWriter))
	switch {
	case errors.Is(err, pidfile.ErrLocked):
		// One took the lock after stopGear found none.
		return "", exitWith(1, "a supervisor is starting for %s; try again", g.Dir)
	case errors.Is(err, pidfile.ErrStale):
		return "not running (the server pidfile was stale; nothing was signalled)", nil
	case errors.Is(err, pidfile.ErrGarbage):
		return "", garbage(err)
	case errors.Is(err, pidfile.ErrUntrusted):
		return "", untrusted(err)
	case err != nil:
		return "", exitWith(1, "%v", err)
	case pid == 0:
		return "not running", nil
	}
	if err := portFree(context.Background(), listen); err != nil {
		return "", err
	}
	return fmt.Sprintf("stopped server pid %d, which ran without its supervisor", pid), nil
}

// portFreeWithin is how long a port may stay listened on after the last
// process of the gear is gone: the kernel closes sockets as it reaps.
const portFreeWithin = time.Second

// portFree fails, exit 1, when something still listens on the gear's
// address after its stop: whoever holds it is named, so that a stop never
// says stopped while a next start would fail on the port.
func portFree(ctx context.Context, listen string) error {
	_, port, err := net.SplitHostPort(listen)
	n, _ := strconv.Atoi(port)
	if err != nil || n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, portFreeWithin)
	defer cancel()
	for {
		held, pids := control.PortHolders(n)
		if !held {
			return nil
		}
		select {
		case <-ctx.Done():
			who := "a process this user cannot see"
			if len(pids) > 0 {
				who = control.Describe(pids)
			}
			return exitWith(1, "stopped, but port %d is still listened on by %s", n, who)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitGone waits until the control socket stops answering: a supervisor
// that is PID 1 has no pidfile to wait on.
func waitGone(ctx context.Context, cl *control.Client) error {
	for {
		if _, err := cl.Status(ctx); errors.Is(err, control.ErrNoSupervisor) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
