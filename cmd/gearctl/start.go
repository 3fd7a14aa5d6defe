package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start a background supervisor unless one runs, and wait until the application answers",
		ArgsUsage: "[-- extra server arguments]",
		Flags:     append(appFlags(), balancerFlags()...),
		Action: func(c *cli.Context) error {
			g, err := gearDir(c)
			if err != nil {
				return err
			}
			cl := newCall(c, g)
			spec, set, err := cl.resolve(nil)
			if err != nil {
				return err
			}
			if err := checkBalancer(c, spec.Host); err != nil {
				return err
			}
			return launch(cl, spec, set)
		},
	}
}

// launch starts the background supervisor for set and reports how it went.
func launch(cl call, spec control.Spec, set cartridge.Settings) error {
	g := cl.g
	if err := checkServerFile(g); err != nil {
		return err
	}
	if err := os.MkdirAll(g.Logs(), 0o700); err != nil {
		return usageErrorf("--log-dir %s: %v; accepted: a directory this user can write", g.Logs(), err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	token, drop, err := g.Handoff(spec)
	if err != nil {
		return exitWith(1, "%v", err)
	}
	defer drop()
	args := append([]string{"--dir", g.Dir, "--log-dir", g.Logs(), "run", "--log-to-terminal=false", "--handoff", token}, cl.balancer...)
	// A failed start includes stopping what did not get ready.
	ctx, cancel := context.WithTimeout(cl.ctx, spec.StartTimeout+spec.StopTimeout+gear.KillGrace)
	defer cancel()
	t0 := time.Now()
	cmd := exec.Command(exe, args...)
	st, already, err := gear.Launch(ctx, g, cmd)
	if err != nil {
		return failure(err)
	}
	if already {
		fmt.Fprintf(cl.out, "gearctl: already running: %s pid %d, %s\n", st.Server, st.PID, st.State)
		return nil
	}
	fmt.Fprintf(cl.out, "gearctl: %s\n", spec.App)
	fmt.Fprintf(cl.out, "gearctl: %s pid %d ready on %s in %.2fs, %s (supervisor pid %d)\n",
		st.Server, st.PID, st.Listen, st.ReadyAt.Sub(t0).Seconds(), answered(st, set), st.SupervisorPID)
	warnAnswer(st, set)
	return nil
}

// answered says what the probe that found the gear ready got.
func answered(st control.Status, set cartridge.Settings) string {
	if st.ReadyCode == 0 {
		return "answering"
	}
	return fmt.Sprintf("GET %s answered %d %s", set.ReadyPath, st.ReadyCode, http.StatusText(st.ReadyCode))
}

// warnAnswer tells on stderr of a gear that counts as ready on a 4xx: it
// runs, but does not serve what the probe asked for.
func warnAnswer(st control.Status, set cartridge.Settings) {
	if hint := cartridge.ReadyHint(st.ReadyCode, set.ReadyPath); hint != "" {
		fmt.Fprintf(errWriter, "gearctl: warning: %s\n", hint)
	}
}
