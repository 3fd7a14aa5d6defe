package cartridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/internal/relay"
	"golang.org/x/sys/unix"
)

// HooksDir is where an application keeps its action hooks, relative to its
// directory ($OPENSHIFT_REPO_DIR): executables named after the action they
// go with (pre_start, post_start, build, deploy, ...).
const HooksDir = ".openshift/action_hooks"

// DefaultActionTimeout bounds each hook and each build step unless
// GEARCTL_ACTION_TIMEOUT says otherwise: long enough for a pip install of a
// real application, short enough that a hung hook does not hold a deploy
// forever.
const DefaultActionTimeout = 10 * time.Minute

// Hooks runs the action hooks found in one directory.
type Hooks struct {
	// Dir holds the hooks.
	Dir string
	// Env is the environment hooks get (the gear's, see AppEnv); WorkDir
	// is where they run, the application directory.
	Env     []string
	WorkDir string
	// Timeout bounds each hook; 0 means DefaultActionTimeout.
	Timeout time.Duration
	// Out receives the hooks' stdout and stderr, as one stream in the
	// order written.
	Out io.Writer
	// Log receives what gearctl says about the hooks; nil drops it.
	Log func(string)
}

// Path is where the hook for name would be.
func (h Hooks) Path(name string) string { return filepath.Join(h.Dir, name) }

// Has reports whether a hook for name exists, executable or not.
func (h Hooks) Has(name string) bool { return isFile(h.Path(name)) }

// Run runs the hook for name, if the application has one: a missing hook
// is no error, and one that is not executable is skipped with a notice (as
// OpenShift did, but said). A hook that does not exit 0, or outlives its
// timeout, or whose ctx ends first, is a *StepError; its output went to Out
// as it came.
func (h Hooks) Run(ctx context.Context, name string) error {
	path := h.Path(name)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &StepError{Step: name + " hook", Err: err, Code: 126}
	case !fi.Mode().IsRegular():
		h.log("%s hook %s is not a regular file: skipped", name, path)
		return nil
	case fi.Mode().Perm()&0o111 == 0:
		h.log("%s hook %s is not executable: skipped (chmod +x it to run it)", name, path)
		return nil
	}
	h.log("running %s hook", name)
	return step{
		name:    name + " hook",
		argv:    []string{path},
		env:     h.Env,
		dir:     h.WorkDir,
		timeout: h.Timeout,
		out:     h.Out,
	}.run(ctx)
}

func (h Hooks) log(format string, args ...any) {
	if h.Log != nil {
		h.Log(fmt.Sprintf(format, args...))
	}
}

// StepError is a program gearctl ran for the application — a hook, venv,
// pip — that did not succeed.
type StepError struct {
	// Step names it: "pre_start hook", "pip install -r requirements.txt".
	Step string
	// Code is its exit status, or what a shell would report: 126 when it
	// could not be executed, 127 when it was not found.
	Code int
	// Signal is the signal that ended it, 0 when it exited.
	Signal syscall.Signal
	// Timeout is set when it was stopped for outliving it; Canceled when
	// it was stopped because gearctl was asked to stop (SIGINT, SIGTERM).
	Timeout  time.Duration
	Canceled bool
	// Err is why it could not be started, if it was not.
	Err error
	// Tail is the last lines of its output.
	Tail []string
}

func (e *StepError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Step, e.Err)
	case e.Timeout > 0:
		return fmt.Sprintf("%s: still running after %s: stopped", e.Step, e.Timeout)
	case e.Canceled:
		return fmt.Sprintf("%s: interrupted: stopped", e.Step)
	case e.Signal != 0:
		return fmt.Sprintf("%s: killed by signal %s", e.Step, unix.SignalName(e.Signal))
	}
	return fmt.Sprintf("%s: exit status %d", e.Step, e.Code)
}

// ExitCode is the exit status gearctl passes on for the step, as shells
// and timeout(1) have it: the step's own, 128+N for signal N, 124 for a
// timeout, 130 for an interruption.
func (e *StepError) ExitCode() int {
	switch {
	case e.Timeout > 0:
		return 124
	case e.Canceled:
		return 130
	case e.Signal != 0:
		return 128 + int(e.Signal)
	case e.Code == 0:
		return 1
	}
	return e.Code
}

// The bounds of a step's end. They are only bounds: a step that behaves
// is never waited on for them.
var (
	// stopGrace is how long a step that outlived its timeout gets between
	// SIGTERM and SIGKILL.
	stopGrace = 5 * time.Second
	// drainAfterExit is how long output is still read once the step has
	// exited: a process it left behind may hold the pipe open forever.
	drainAfterExit = time.Second
)

// step is one program run to completion on the application's behalf.
type step struct {
	name    string
	argv    []string // argv[0] is the program, found on our PATH
	env     []string
	dir     string
	timeout time.Duration
	out     io.Writer
}

// run runs the step in a process group of its own, with stdin on
// /dev/null and stdout and stderr on one pipe relayed to out line by line.
// When it outlives its timeout or ctx ends, its group gets SIGTERM, then
// SIGKILL after stopGrace.
//
// Its exit is awaited without reaping it (waitid WNOWAIT): until it is
// reaped its PID, and so its process group id, cannot be reused, so
// signalling the group never reaches a stranger.
func (s step) run(ctx context.Context) error {
	timeout := s.timeout
	if timeout <= 0 {
		timeout = DefaultActionTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := s.out
	if out == nil {
		out = io.Discard
	}

	r, w, err := os.Pipe()
	if err != nil {
		return &StepError{Step: s.name, Err: err, Code: 126}
	}
	defer r.Close()
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Env, cmd.Dir = s.env, s.dir
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		return &StepError{Step: s.name, Err: err, Code: code}
	}
	pid := cmd.Process.Pid

	var t relay.Tail
	copied := make(chan struct{})
	go func() {
		// Line by line, so that lines of the step never interleave with
		// gearctl's own.
		relay.Lines(r, func(line []byte) {
			out.Write(line)
			t.Add(line)
		})
		close(copied)
	}()
	exited := make(chan struct{})
	go func() {
		waitExited(pid)
		close(exited)
	}()

	stopped := false
	select {
	case <-exited:
	case <-tctx.Done():
		stopped = true
		unix.Kill(-pid, unix.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopGrace):
			unix.Kill(-pid, unix.SIGKILL)
			<-exited
		}
		// The leader is gone but not reaped: what it left in its group
		// goes too.
		unix.Kill(-pid, unix.SIGKILL)
	}
	werr := cmd.Wait()

	r.SetReadDeadline(time.Now().Add(drainAfterExit))
	<-copied

	e := &StepError{Step: s.name, Tail: t.Lines()}
	switch {
	case stopped && ctx.Err() != nil:
		e.Canceled = true
	case stopped:
		e.Timeout = timeout
	case werr == nil:
		return nil
	default:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			e.Signal = ws.Signal()
		} else {
			e.Code = ws.ExitStatus()
		}
	}
	return e
}

// waitExited waits until pid, a child of ours, has exited, and leaves it
// to be reaped.
func waitExited(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}
