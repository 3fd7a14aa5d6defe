package gear

import (
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/gearctl/gearctl/control"
)

// Started is what a start did.
type Started struct {
	control.Status
	// Already: a supervisor was running; nothing was started.
	Already bool
	// Took is from the launch until the gear was ready.
	Took time.Duration
}

// Start launches a background supervisor of spec — this executable's
// `run`, handed spec in a file (control.Gear.Handoff), with its
// supervisor flags runFlags — unless one runs, and waits until the gear is
// ready, or failed and stopped again.
func Start(ctx context.Context, g control.Gear, spec control.Spec, runFlags []string) (Started, error) {
	if err := os.MkdirAll(g.Logs(), 0o700); err != nil {
		return Started{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return Started{}, err
	}
	token, drop, err := g.Handoff(spec)
	if err != nil {
		return Started{}, err
	}
	defer drop()
	args := append([]string{"--dir", g.Dir, "--log-dir", g.Logs(), "run", "--log-to-terminal=false", "--handoff", token}, runFlags...)
	// A failed start includes stopping what did not get ready.
	ctx, cancel := context.WithTimeout(ctx, spec.StartTimeout+spec.StopTimeout+KillGrace)
	defer cancel()
	t0 := time.Now()
	st, already, err := Launch(ctx, g, exec.Command(exe, args...))
	return Started{Status: st, Already: already, Took: st.ReadyAt.Sub(t0)}, err
}
