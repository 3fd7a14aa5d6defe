package gear

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/pidfile"
)

// A directory with nothing in it is a stopped gear: status says not
// running, stop stops nothing, restart and reload find nothing to act on.
func TestNothingRuns(t *testing.T) {
	g := control.Gear{Dir: t.TempDir()}
	ctx := context.Background()
	if rep, h, err := Status(ctx, g); err != nil || h != NotRunning || rep.State != control.Stopped {
		t.Errorf("Status = %s, health %d, %v; want stopped, not running", rep.State, h, err)
	}
	if st, err := Stop(ctx, g, false, nil); err != nil || st.PID != 0 || st.Orphan || st.Stale {
		t.Errorf("Stop = %+v, %v; want nothing stopped", st, err)
	}
	if _, err := Restart(ctx, g, nil); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Restart = %v; want ErrNotRunning", err)
	}
	if _, err := Reload(ctx, g); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Reload = %v; want ErrNotRunning", err)
	}
}

// A server pidfile naming a process that is not the server (its start
// time differs) is stale: status says not running and why, stop signals
// nothing and says so.
func TestStalePidfile(t *testing.T) {
	dir := t.TempDir()
	g := control.Gear{Dir: dir}
	// A live process of ours under another start time than recorded.
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	rec, err := pidfile.Lookup(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	rec.StartTicks++
	if err := pidfile.WriteRecord(filepath.Join(dir, "server.pid"), rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server.json"), []byte(`{"Name":"gunicorn"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, h, err := Status(context.Background(), g)
	if err != nil || h != NotRunning || !strings.Contains(rep.Detail, "stale") {
		t.Errorf("Status = %q, health %d, %v; want not running, the pidfile stale", rep.Detail, h, err)
	}
	if st, err := Stop(context.Background(), g, false, nil); err != nil || !st.Stale {
		t.Errorf("Stop = %+v, %v; want stale, nothing signalled", st, err)
	}
	if err := syscall.Kill(cmd.Process.Pid, 0); err != nil {
		t.Errorf("the process the stale pidfile named is gone: %v", err)
	}
}
