package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// Launch starts a background supervisor with cmd (a `gearctl run` that
// logs to files; its Stdin is the caller's to set) unless one already answers, and waits until the gear
// settles. already says that a supervisor was running before. A gear that
// does not get ready gives a *FailError with the last lines of its log.
//
// Concurrent launches on one gear are safe: every supervisor but one loses
// the gear's lock and exits, and their launchers wait for the winner.
func (g Gear) Launch(ctx context.Context, cmd *exec.Cmd) (st Status, already bool, err error) {
	c := g.Client()
	if st, err := c.Settled(ctx); !errors.Is(err, ErrNoSupervisor) {
		return st, true, g.settledErr(st, err)
	}
	if err := os.MkdirAll(g.Logs(), 0o700); err != nil {
		return st, false, err
	}
	out, err := os.OpenFile(g.SupervisorOut(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return st, false, err
	}
	defer out.Close()
	from, _ := out.Seek(0, io.SeekEnd)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own session: the terminal's signals and hangup do not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return st, false, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	lost := false
	for {
		st, err := c.Settled(ctx)
		if !errors.Is(err, ErrNoSupervisor) {
			if err == nil && st.State != Ready && exited != nil {
				// Ours failed: let it finish stopping, so that a command
				// right after this one finds the gear stopped, not dying.
				select {
				case <-exited:
				case <-ctx.Done():
				}
			}
			return st, lost, g.settledErr(st, err)
		}
		select {
		case <-exited:
			if g.supervised() {
				// Another launch won the lock: wait for its supervisor.
				exited, lost = nil, true
				continue
			}
			return st, false, g.launchFailed(from)
		case <-ctx.Done():
			return st, false, fmt.Errorf("no answer on %s: %w", g.Socket(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
		if lost && !g.supervised() {
			// The supervisor that won has gone again (a concurrent stop).
			return st, lost, errors.New("the supervisor another start launched has stopped")
		}
	}
}

// supervised reports whether a supervisor holds the gear's lock.
func (g Gear) supervised() bool {
	l, err := pidfile.TryLock(g.lockFile())
	if err != nil {
		return errors.Is(err, pidfile.ErrLocked)
	}
	l.Unlock()
	return false
}

// settledErr turns a settled status into the launch's result.
func (g Gear) settledErr(st Status, err error) error {
	switch {
	case err != nil:
		return err
	case st.State == Ready:
		return nil
	}
	lines, _ := TailLines(g.ServerLog(), tailLines)
	cause := "is " + string(st.State)
	if st.Detail != "" {
		cause += ": " + st.Detail
	}
	return &FailError{Server: st.Server, Cause: cause, LastLines: lines}
}

// launchFailed reports a supervisor that exited before it answered: what
// it wrote (its error, with the server's last lines) is the cause.
func (g Gear) launchFailed(from int64) error {
	f, err := os.Open(g.SupervisorOut())
	if err != nil {
		return err
	}
	defer f.Close()
	f.Seek(from, io.SeekStart)
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = "the supervisor exited without a word; see " + g.SupervisorOut()
	}
	return errors.New(strings.TrimPrefix(msg, "gearctl: "))
}
