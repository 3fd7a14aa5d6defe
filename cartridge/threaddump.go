package cartridge

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/gearctl/gearctl/gear"
)

// threaddump prints the Python stacks of every server process with
// py-spy, which reads them from outside: the servers have no thread dump
// signal of their own (gunicorn's and uWSGI's QUIT stops them).
func (x *Control) threaddump() error {
	rep, health, err := x.verbs.Inspect()
	if err != nil {
		return err
	}
	if health == gear.NotRunning {
		return &ExitError{Code: int(gear.NotRunning), Msg: "not running: no threads to dump"}
	}
	var pyspy string
	if x.App.Venv != "" {
		pyspy, _ = exec.LookPath(filepath.Join(x.App.Venv, "bin", "py-spy"))
	}
	if pyspy == "" {
		if pyspy, err = exec.LookPath("py-spy"); err != nil {
			return &ExitError{Code: 1, Msg: "threaddump needs py-spy, which is not installed: pip install py-spy into the virtualenv, or put it on PATH"}
		}
	}
	failed := 0
	for _, p := range rep.Processes {
		if p.PID == rep.SupervisorPID {
			continue
		}
		x.result(fmt.Sprintf("pid %d: %s", p.PID, p.Command))
		ctx, cancel := context.WithTimeout(x.ctx, x.timeout)
		cmd := exec.CommandContext(ctx, pyspy, "dump", "--pid", strconv.Itoa(p.PID))
		cmd.Stdout, cmd.Stderr = x.out, x.out
		if err := cmd.Run(); err != nil {
			x.message(fmt.Sprintf("py-spy dump --pid %d: %v", p.PID, err))
			failed++
		}
		cancel()
	}
	if failed > 0 {
		return &ExitError{Code: 1, Msg: fmt.Sprintf("py-spy could not read %d of the gear's processes", failed)}
	}
	return nil
}
