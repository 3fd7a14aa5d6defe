package cartridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/server"
)

// Verbs are the gear verbs an action runs between its hooks: the command
// line's own, which say what they did on the action's output as the plain
// verbs do, and return errors that carry their exit status (ExitCode).
type Verbs interface {
	// Resolve checks the settings a start would use and builds its spec;
	// nothing is touched.
	Resolve() (control.Spec, server.Settings, error)
	// Inspect is the gear's status and health.
	Inspect() (control.Report, gear.Health, error)
	// PrintStatus writes rep as `gearctl status` does.
	PrintStatus(w io.Writer, rep control.Report)
	Start() error
	Stop() error
	Restart() error
	Reload() error
	Tidy() error
}

// ExitError is an action's failure with its exit status. Msg, when not
// empty, is for the user; an action's Run has told it already and returns
// an ExitError without one.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Msg
}

func (e *ExitError) ExitCode() int { return e.Code }

// Action is one action of a cartridge's bin/control.
type Action struct {
	Name, Usage string
	// Hidden: accepted because the platform calls it, with nothing to do.
	Hidden bool
	run    func(*Control) error
}

// Actions are bin/control's actions, as help lists them.
var Actions = []Action{
	{Name: "start", Usage: "pre_start hook, start and wait until the application answers, post_start hook; nothing at all when running",
		run: (*Control).start},
	{Name: "stop", Usage: "pre_stop hook, graceful stop of every process of the gear, post_stop hook; nothing at all when stopped",
		run: (*Control).stop},
	{Name: "restart", Usage: "pre_restart hook, a fresh server beside the running one (a start when stopped), post_restart hook",
		run: (*Control).restart},
	{Name: "reload", Usage: "pre_reload hook, the server's graceful reload, post_reload hook; nothing at all when stopped",
		run: (*Control).reload},
	{Name: "force-reload", Usage: "as reload", run: (*Control).reload},
	{Name: "status", Usage: "asks the application; exit 0 when it answers, 1 when running but not answering, 3 when stopped",
		run: (*Control).status},
	{Name: "tidy", Usage: "pre_tidy hook, rotate and trim logs, remove stale files, post_tidy hook",
		run: (*Control).tidy},
	{Name: "pre-build", Usage: "pre_build hook", run: hookOnly("pre_build")},
	{Name: "build", Usage: "create or reuse the virtualenv (recreate: force_clean_build marker), pip install the requirements or the package, build hook",
		run: (*Control).build},
	{Name: "deploy", Usage: "deploy hook, then restart (reload: hot_deploy marker), or start when stopped",
		run: (*Control).deploy},
	{Name: "post-deploy", Usage: "post_deploy hook", run: hookOnly("post_deploy")},
	{Name: "update-configuration", Usage: "check the configuration a start would use",
		run: (*Control).updateConfiguration},
	{Name: "threaddump", Usage: "the Python stacks of the server's processes (needs py-spy)",
		run: (*Control).threaddump},
	// Snapshots, restores and archives are the platform's own business.
	{Name: "pre-snapshot", Hidden: true, run: nothing},
	{Name: "post-snapshot", Hidden: true, run: nothing},
	{Name: "pre-restore", Hidden: true, run: nothing},
	{Name: "post-restore", Hidden: true, run: nothing},
	{Name: "pre-repo-archive", Hidden: true, run: nothing},
}

// Control is one control action under way.
type Control struct {
	ctx   context.Context
	g     control.Gear
	verbs Verbs
	set   server.Settings
	// App is the application's directory and environment, its
	// virtualenv once build made it.
	App server.AppEnv
	// out is stdout, where every line of ours is for the user, behind a
	// prefix, and the hooks' and pip's output goes as they write it.
	out   io.Writer
	hooks Hooks
	// hooksOff when GEARCTL_ACTION_HOOKS=false: the platform runs them
	// itself.
	hooksOff bool
	timeout  time.Duration
}

// NewControl prepares an action on gear g and the application set names,
// writing to out; SetVerbs gives it the gear verbs before it runs.
func NewControl(ctx context.Context, g control.Gear, set server.Settings, out io.Writer) (*Control, error) {
	on, timeout, err := ActionEnv()
	if err != nil {
		return nil, err
	}
	app, err := set.AppEnv()
	if err != nil {
		return nil, &ExitError{Code: 2, Msg: err.Error()}
	}
	x := &Control{ctx: ctx, g: g, set: set, App: app, out: out, hooksOff: !on, timeout: timeout}
	x.hooks = Hooks{
		Dir:     filepath.Join(app.Dir, HooksDir),
		Env:     app.Env,
		WorkDir: app.Dir,
		Timeout: timeout,
		Out:     out,
		Log:     x.message,
	}
	return x, nil
}

// SetVerbs gives the action the gear verbs it runs.
func (x *Control) SetVerbs(v Verbs) { x.verbs = v }

// Run runs a and reports its failure as CLIENT_ERROR lines; the error
// returned is an *ExitError with the exit status (a verb's own, a failed
// hook's or pip's, 1 for anything else) and nothing left to tell.
func (x *Control) Run(a Action) error {
	err := a.run(x)
	if err == nil {
		return nil
	}
	code, msg := 1, err.Error()
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		code = coded.ExitCode()
	}
	var told *ExitError
	if errors.As(err, &told) && told.Msg == "" {
		msg = ""
	}
	var se *StepError
	if errors.As(err, &se) && len(se.Tail) > 0 {
		msg += "\nlast lines of output:\n" + strings.Join(se.Tail, "\n")
	}
	if msg != "" {
		clientOut(x.out, ClientError, msg)
	}
	return &ExitError{Code: code}
}

// ActionEnv reads the variables of hooks and build steps:
// GEARCTL_ACTION_HOOKS (false: whoever calls the actions runs the hooks
// itself, as OpenShift's node does) and GEARCTL_ACTION_TIMEOUT, the bound
// of each hook and build step. A bad value is an *ExitError of status 2.
func ActionEnv() (hooks bool, timeout time.Duration, err error) {
	hooks, timeout = true, DefaultActionTimeout
	if v := os.Getenv("GEARCTL_ACTION_HOOKS"); v != "" {
		if hooks, err = strconv.ParseBool(v); err != nil {
			return false, 0, &ExitError{Code: 2, Msg: fmt.Sprintf("GEARCTL_ACTION_HOOKS %q: not a boolean; accepted: true or false", v)}
		}
	}
	if v := os.Getenv("GEARCTL_ACTION_TIMEOUT"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil || timeout <= 0 {
			return false, 0, &ExitError{Code: 2, Msg: fmt.Sprintf("GEARCTL_ACTION_TIMEOUT %q: not a positive duration; accepted: a duration such as 90s or 10m", v)}
		}
	}
	return hooks, timeout, nil
}

func (x *Control) result(msg string)  { clientOut(x.out, ClientResult, msg) }
func (x *Control) message(msg string) { clientOut(x.out, ClientMessage, msg) }

// hook runs the application's hook for name; SIGINT or SIGTERM stop it
// rather than leave it running without us.
func (x *Control) hook(name string) error {
	if x.hooksOff {
		return nil
	}
	return interruptible(x.ctx, func(ctx context.Context) error { return x.hooks.Run(ctx, name) })
}

// around runs the pre_ hook of action, then do, then its post_ hook; a
// failure stops there and is the result.
func (x *Control) around(action string, do func() error) error {
	if err := x.hook("pre_" + action); err != nil {
		return err
	}
	if err := do(); err != nil {
		return err
	}
	return x.hook("post_" + action)
}

func hookOnly(name string) func(*Control) error {
	return func(x *Control) error { return x.hook(name) }
}

func nothing(*Control) error { return nil }
