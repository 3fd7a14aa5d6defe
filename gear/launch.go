package gear

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

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/internal/relay"
	"github.com/gearctl/gearctl/pidfile"
)

// pollEvery is how often a client looks again at a gear that does not
// answer yet: often enough for a start to return soon after the gear
// settles, rarely enough to cost nothing while it waits.
const pollEvery = 50 * time.Millisecond

// Launch starts a background supervisor with cmd (a `gearctl run` that
// logs to files; its Stdin is the caller's to set) unless one already
// answers, and waits until the gear settles, at the latest at ctx's
// deadline, which the caller sets (the start and stop timeouts: a failed
// start includes stopping what did not get ready). already says that a
// supervisor was running before. A gear that does not get ready gives a
// *control.FailError with its last lines.
//
// Concurrent launches on one gear are safe: every supervisor but one loses
// the gear's lock and exits, and their launchers wait for the winner.
func Launch(ctx context.Context, g control.Gear, cmd *exec.Cmd) (st control.Status, already bool, err error) {
	c := g.Client()
	var settle time.Duration
	if d, ok := ctx.Deadline(); ok {
		settle = time.Until(d)
	}
	if st, err := c.Settled(ctx, settle); !errors.Is(err, control.ErrNoSupervisor) {
		return st, true, settledErr(ctx, g, st, err)
	}
	if err := os.MkdirAll(g.Logs(), 0o700); err != nil {
		return st, false, err
	}
	out, err := pidfile.OpenAppend(g.SupervisorOut())
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
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	lost := false
	for {
		st, err := c.Settled(ctx, settle)
		if !errors.Is(err, control.ErrNoSupervisor) {
			if err == nil && st.State != control.Ready && exited != nil {
				// Ours failed: let it finish stopping, so that a command
				// right after this one finds the gear stopped, not dying.
				select {
				case <-exited:
				case <-ctx.Done():
				}
			}
			return st, lost, settledErr(ctx, g, st, err)
		}
		select {
		case <-exited:
			if g.Supervised() {
				// Another launch won the lock: wait for its supervisor.
				exited, lost = nil, true
				continue
			}
			return st, false, launchFailed(g, from)
		case <-ctx.Done():
			return st, false, fmt.Errorf("%w on %s: %w", control.ErrNoAnswer, g.Socket(), ctx.Err())
		case <-tick.C:
		}
		if lost && !g.Supervised() {
			// The supervisor that won has gone again (a concurrent stop).
			return st, lost, errors.New("the supervisor another start launched has stopped")
		}
	}
}

// settledErr turns a settled status into the launch's result. A gear that
// did not settle by ctx's deadline has a supervisor that does not answer:
// its own start timeout would have made it settle.
func settledErr(ctx context.Context, g control.Gear, st control.Status, err error) error {
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w on %s: %w", control.ErrNoAnswer, g.Socket(), ctx.Err())
	case err != nil:
		return err
	case st.State == control.Ready:
		return nil
	case st.Failure != nil:
		return st.Failure
	}
	lines, _ := control.TailLines(g.ServerLog(), relay.TailLines)
	cause := "is " + string(st.State)
	if st.Detail != "" {
		cause += ": " + st.Detail
	}
	return &control.FailError{Server: st.Server, Cause: cause, LastLines: lines}
}

// launchFailed reports a supervisor that exited before it answered: what
// it wrote (its error, with the server's last lines) is the cause.
func launchFailed(g control.Gear, from int64) error {
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

// Await waits for the supervisor that holds the gear's lock to answer on
// its socket: one that is starting and has not opened it yet, or one whose
// socket was removed and that opens it again. It gives up after
// control.Grace with control.ErrNoAnswer, and returns
// control.ErrNoSupervisor at once when no supervisor
// holds the lock (any more).
func Await(ctx context.Context, g control.Gear) (control.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, control.Grace)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	c := g.Client()
	for {
		rep, err := c.Status(ctx)
		if !errors.Is(err, control.ErrNoSupervisor) || !g.Supervised() {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("%w: it holds the lock of %s but does not answer on %s within %s", control.ErrNoAnswer, g.Dir, g.Socket(), control.Grace)
		case <-tick.C:
		}
	}
}
