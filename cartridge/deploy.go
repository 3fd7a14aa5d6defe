package cartridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"syscall"
)

func (x *Control) build() error {
	b, err := NewBuild(x.set)
	if err != nil {
		return &ExitError{Code: 2, Msg: err.Error()}
	}
	b.Timeout, b.Out, b.Log = x.timeout, x.out, x.message
	if err := interruptible(x.ctx, b.Run); err != nil {
		return err
	}
	return x.hook("build")
}

// deploy runs the deploy hook (migrations and the like) while the old code
// still serves, then puts the new code in service: a restart, or with the
// hot_deploy marker the server's reload in place; a start when stopped.
// When the caller runs the hooks (GEARCTL_ACTION_HOOKS=false), a stopped
// gear stays stopped: OpenShift's node runs its deploy hook after this
// action and starts the gear after that.
func (x *Control) deploy() error {
	if err := x.hook("deploy"); err != nil {
		return err
	}
	switch {
	case !x.supervised() && x.hooksOff:
		x.message("not running: the caller starts it after its deploy hook")
		return nil
	case !x.supervised():
		return x.start()
	case Marker(x.App.Dir, HotDeploy):
		x.message("hot_deploy marker: reloading in place")
		return x.reload()
	}
	return x.restart()
}

func (x *Control) updateConfiguration() error {
	spec, set, err := x.verbs.Resolve()
	if err != nil {
		return err
	}
	x.result(fmt.Sprintf("configuration checked: %s serves %s on %s:%d; %s; %s", spec.Name, set.Chdir, spec.Host, spec.Port, spec.App, spec.Interpreter))
	return nil
}

// DeployHook runs the application's deploy hook before `run` starts the
// server, as a container's start script did (mod_wsgi-docker's):
// .docker/action_hooks/deploy, else .openshift/action_hooks/deploy, in
// dir with the server's environment env, its output on out. A failing
// hook is the end: the server is not started, and the *ExitError has the
// hook's exit status.
func DeployHook(ctx context.Context, dir string, env []string, out io.Writer, log func(string)) error {
	on, timeout, err := ActionEnv()
	if err != nil || !on {
		return err
	}
	for _, d := range []string{".docker/action_hooks", HooksDir} {
		h := Hooks{Dir: filepath.Join(dir, d), Env: env, WorkDir: dir, Timeout: timeout, Out: out, Log: log}
		if !h.Has("deploy") {
			continue
		}
		err := interruptible(ctx, func(ctx context.Context) error { return h.Run(ctx, "deploy") })
		var se *StepError
		if errors.As(err, &se) {
			return &ExitError{Code: se.ExitCode(), Msg: fmt.Sprintf("%v: the server was not started", err)}
		}
		return err
	}
	return nil
}

// interruptible runs f with a context that SIGINT and SIGTERM end, so that
// a hook or pip is stopped with us rather than left running.
func interruptible(ctx context.Context, f func(context.Context) error) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return f(ctx)
}
