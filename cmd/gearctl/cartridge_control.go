package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/urfave/cli/v2"
)

// The control verb is an OpenShift cartridge's bin/control: the actions
// the platform (or an operator) calls, the application's action hooks
// around them, its markers, and messages for the user in the cartridge
// SDK's line format. The actions reuse the verbs; what those say on
// App.Writer becomes CLIENT_RESULT lines.

// controlArgs lets the binary be a cartridge's bin/control: invoked through
// a symlink named control, "control ACTION" means "gearctl control ACTION".
// Global options then come from their variables (GEARCTL_DIR, ...).
func controlArgs(args []string) []string {
	if len(args) > 0 && filepath.Base(args[0]) == "control" {
		return append([]string{args[0], "control"}, args[1:]...)
	}
	return args
}

// The cartridge SDK's prefixes (client_result, client_message,
// client_error): the platform shows the user only lines that carry one.
const (
	clientResult  = "CLIENT_RESULT"
	clientMessage = "CLIENT_MESSAGE"
	clientError   = "CLIENT_ERROR"
)

type controlAction struct {
	name  string
	usage string
	run   func(*cartridgeCtl) error
	// hidden: accepted because the platform calls it, with nothing to do.
	hidden bool
}

var controlActions = []controlAction{
	{name: "start", usage: "pre_start hook, start and wait until the application answers, post_start hook; nothing at all when running",
		run: (*cartridgeCtl).start},
	{name: "stop", usage: "pre_stop hook, graceful stop of every process of the gear, post_stop hook; nothing at all when stopped",
		run: (*cartridgeCtl).stop},
	{name: "restart", usage: "pre_restart hook, a fresh server beside the running one (a start when stopped), post_restart hook",
		run: (*cartridgeCtl).restart},
	{name: "reload", usage: "pre_reload hook, the server's graceful reload, post_reload hook; nothing at all when stopped",
		run: (*cartridgeCtl).reload},
	{name: "force-reload", usage: "as reload", run: (*cartridgeCtl).reload},
	{name: "status", usage: "asks the application; exit 0 when it answers, 1 when running but not answering, 3 when stopped",
		run: (*cartridgeCtl).status},
	{name: "tidy", usage: "pre_tidy hook, rotate and trim logs, remove stale files, post_tidy hook",
		run: (*cartridgeCtl).tidy},
	{name: "pre-build", usage: "pre_build hook", run: hookOnly("pre_build")},
	{name: "build", usage: "create or reuse the virtualenv (recreate: force_clean_build marker), pip install the requirements or the package, build hook",
		run: (*cartridgeCtl).build},
	{name: "deploy", usage: "deploy hook, then restart (reload: hot_deploy marker), or start when stopped",
		run: (*cartridgeCtl).deploy},
	{name: "post-deploy", usage: "post_deploy hook", run: hookOnly("post_deploy")},
	{name: "update-configuration", usage: "check the configuration a start would use",
		run: (*cartridgeCtl).updateConfiguration},
	{name: "threaddump", usage: "the Python stacks of the server's processes (needs py-spy)",
		run: (*cartridgeCtl).threaddump},
	// Snapshots, restores and archives are the platform's own business.
	{name: "pre-snapshot", hidden: true, run: nothing},
	{name: "post-snapshot", hidden: true, run: nothing},
	{name: "pre-restore", hidden: true, run: nothing},
	{name: "post-restore", hidden: true, run: nothing},
	{name: "pre-repo-archive", hidden: true, run: nothing},
}

func controlCommand() *cli.Command {
	var subs []*cli.Command
	var names []string
	for _, a := range controlActions {
		subs = append(subs, &cli.Command{
			Name:         a.name,
			Usage:        a.usage,
			Hidden:       a.hidden,
			ArgsUsage:    "[-- extra server arguments]",
			Flags:        appFlags(),
			OnUsageError: onUsageError,
			Action:       runControl(a),
		})
		if !a.hidden {
			names = append(names, a.name)
		}
	}
	accepted := strings.Join(names, ", ")
	return &cli.Command{
		Name: "control",
		Usage: "the actions of a cartridge's bin/control (" + accepted + "), with the application's " +
			".openshift/action_hooks and markers; also run as 'control ACTION' through a symlink named control",
		ArgsUsage:       "ACTION",
		HideHelpCommand: true,
		Subcommands:     subs,
		// Before the action's flags are parsed: the gear's OpenShift env
		// directories fill in what the caller's environment does not set,
		// as the node does when it runs bin/control itself.
		Before: func(*cli.Context) error {
			for _, kv := range cartridge.WithEnvDirs(os.Environ()) {
				k, v, _ := strings.Cut(kv, "=")
				os.Setenv(k, v)
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown control action %q; accepted: %s", c.Args().First(), accepted)
			}
			return usageErrorf("control needs an action; accepted: %s", accepted)
		},
	}
}

// cartridgeCtl is one control action under way.
type cartridgeCtl struct {
	c *cli.Context
	g control.Gear
	// call is what the action's verb runs on: its settings have the
	// gear's virtualenv as their interpreter unless one was named.
	call call
	// out is stdout, where every line of ours is for the user, behind a
	// prefix, and the hooks' and pip's output goes as they write it.
	out io.Writer
	set cartridge.Settings
	app cartridge.AppEnv
	// hooks are the application's action hooks; off when
	// GEARCTL_ACTION_HOOKS=false (the platform runs them itself).
	hooks    cartridge.Hooks
	hooksOff bool
	timeout  time.Duration
}

func runControl(a controlAction) cli.ActionFunc {
	return func(c *cli.Context) error {
		x := &cartridgeCtl{c: c, out: c.App.Writer}
		c.App.Writer = &clientWriter{w: x.out, kind: clientResult}
		defer func() { c.App.Writer = x.out }()
		err := x.setup()
		if err == nil {
			err = a.run(x)
		}
		return x.fail(err)
	}
}

func (x *cartridgeCtl) setup() error {
	var err error
	if x.g, err = gearDir(x.c); err != nil {
		return err
	}
	on, timeout, err := actionEnv()
	if err != nil {
		return err
	}
	x.hooksOff, x.timeout = !on, timeout
	x.set = settings(x.c, x.g.Dir, nil, nil)
	if x.app, err = x.set.AppEnv(); err != nil {
		return usageErrorf("%v", err)
	}
	x.call = newCall(x.c, x.g)
	// The gear's virtualenv, once build made it, is the interpreter of
	// every action, unless --python or VIRTUAL_ENV names another.
	if !x.c.IsSet("python") && x.app.Venv != "" {
		over, venv := x.call.over, x.app.Venv
		x.call.over = func(base *cartridge.Settings) (cartridge.Settings, error) {
			s, err := over(base)
			s.Python = venv
			return s, err
		}
	}
	x.hooks = cartridge.Hooks{
		Dir:     filepath.Join(x.app.Dir, cartridge.HooksDir),
		Env:     x.app.Env,
		WorkDir: x.app.Dir,
		Timeout: timeout,
		Out:     x.out,
		Log:     x.message,
	}
	return nil
}

// actionEnv reads the variables of hooks and build steps:
// GEARCTL_ACTION_HOOKS (false: whoever calls the actions runs the hooks
// itself, as OpenShift's node does) and GEARCTL_ACTION_TIMEOUT, the bound
// of each hook and build step.
func actionEnv() (hooks bool, timeout time.Duration, err error) {
	hooks, timeout = true, cartridge.DefaultActionTimeout
	if v := os.Getenv("GEARCTL_ACTION_HOOKS"); v != "" {
		if hooks, err = strconv.ParseBool(v); err != nil {
			return false, 0, usageErrorf("GEARCTL_ACTION_HOOKS %q: not a boolean; accepted: true or false", v)
		}
	}
	if v := os.Getenv("GEARCTL_ACTION_TIMEOUT"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil || timeout <= 0 {
			return false, 0, usageErrorf("GEARCTL_ACTION_TIMEOUT %q: not a positive duration; accepted: a duration such as 90s or 10m", v)
		}
	}
	return hooks, timeout, nil
}

func (x *cartridgeCtl) result(msg string)  { clientOut(x.out, clientResult, msg) }
func (x *cartridgeCtl) message(msg string) { clientOut(x.out, clientMessage, msg) }

// fail reports err as CLIENT_ERROR lines and keeps its exit status: a
// verb's own, a failed hook's or pip's, 1 for anything else.
func (x *cartridgeCtl) fail(err error) error {
	if err == nil {
		return nil
	}
	code, msg := 1, err.Error()
	var se *cartridge.StepError
	var ee *exitError
	switch {
	case errors.As(err, &se):
		code = se.ExitCode()
		if len(se.Tail) > 0 {
			msg += "\nlast lines of output:\n" + strings.Join(se.Tail, "\n")
		}
	case errors.As(err, &ee):
		code, msg = ee.code, ee.msg
	}
	if msg != "" {
		clientOut(x.out, clientError, msg)
	}
	return &exitError{code: code}
}

// hook runs the application's hook for name; SIGINT or SIGTERM stop it
// rather than leave it running without us.
func (x *cartridgeCtl) hook(name string) error {
	if x.hooksOff {
		return nil
	}
	return interruptible(x.c.Context, func(ctx context.Context) error { return x.hooks.Run(ctx, name) })
}

// around runs the pre_ hook of action, then do, then its post_ hook; a
// failure stops there and is the result.
func (x *cartridgeCtl) around(action string, do func() error) error {
	if err := x.hook("pre_" + action); err != nil {
		return err
	}
	if err := do(); err != nil {
		return err
	}
	return x.hook("post_" + action)
}

func hookOnly(name string) func(*cartridgeCtl) error {
	return func(x *cartridgeCtl) error { return x.hook(name) }
}

func nothing(*cartridgeCtl) error { return nil }

// supervised reports whether the gear's supervisor answers.
func (x *cartridgeCtl) supervised() bool {
	_, err := x.g.Client().Status(x.c.Context)
	return err == nil
}

func (x *cartridgeCtl) start() error {
	if x.supervised() {
		// Running already: start only says so (once it has settled), and
		// no hook runs, since nothing is started.
		return x.launch()
	}
	// Bad settings are refused before the pre_start hook can act on them.
	if _, _, err := x.call.resolve(nil); err != nil {
		return err
	}
	return x.around("start", x.launch)
}

// launch starts the background supervisor, as `gearctl start` does.
func (x *cartridgeCtl) launch() error {
	spec, set, err := x.call.resolve(nil)
	if err != nil {
		return err
	}
	return launch(x.call, spec, set)
}

func (x *cartridgeCtl) stop() error {
	_, code, err := inspect(x.c, x.g)
	if err != nil {
		return err
	}
	if code == statusNotRunning {
		x.result("not running: nothing to stop")
		return nil
	}
	return x.around("stop", func() error {
		msg, err := stopGear(x.c.Context, x.g, false)
		if err == nil {
			x.result(msg)
		}
		return err
	})
}

func (x *cartridgeCtl) restart() error {
	return x.around("restart", func() error { return restartGear(x.call) })
}

// reload of a stopped gear is what LSB's force-reload is: nothing, and
// success.
func (x *cartridgeCtl) reload() error {
	if !x.supervised() {
		x.result("not running: nothing to reload")
		return nil
	}
	return x.around("reload", func() error { return reloadGear(x.call) })
}

// status answers as the stock cartridge did, with the gear's state
// below, and an exit status that says it: the stock one always exited 0.
func (x *cartridgeCtl) status() error {
	rep, code, err := inspect(x.c, x.g)
	if err != nil {
		return err
	}
	if code == statusReady {
		if detail, ok := answers(x.c.Context, rep); !ok {
			code, rep.Detail = statusNotReady, "the application does not answer: "+detail
		}
	}
	if code == statusReady {
		x.result("Application is running")
	} else {
		x.result("Application is either stopped or inaccessible")
	}
	printStatus(&clientWriter{w: x.out, kind: clientResult}, rep)
	return &exitError{code: code}
}

// statusTimeout bounds status's request to the application, as the stock
// cartridge's curl -m 30 did.
const statusTimeout = 30 * time.Second

// answers asks the application for its ready path on the address it
// listens on: a gear its supervisor calls ready can still hang. detail
// says why not.
func answers(ctx context.Context, rep control.Report) (detail string, ok bool) {
	path, ready := "/", control.DefaultReady
	if s, err := gear.Settings(rep); err == nil {
		if s.ReadyPath != "" {
			path = s.ReadyPath
		}
		if r, err := cartridge.ParseReadyStatus(s.ReadyStatus); err == nil {
			ready = r
		}
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	res, detail, err := control.Probe(ctx, rep.Listen, path, ready)
	if err != nil {
		return err.Error(), false
	}
	return detail, res == control.Success
}

func (x *cartridgeCtl) tidy() error {
	return x.around("tidy", func() error {
		x.message("rotating and trimming the logs in " + x.g.Logs())
		return tidyGear(x.call)
	})
}

func (x *cartridgeCtl) build() error {
	b, err := x.set.Build()
	if err != nil {
		return usageErrorf("%v", err)
	}
	b.Timeout, b.Out, b.Log = x.timeout, x.out, x.message
	if err := interruptible(x.c.Context, b.Run); err != nil {
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
func (x *cartridgeCtl) deploy() error {
	if err := x.hook("deploy"); err != nil {
		return err
	}
	switch {
	case !x.supervised() && x.hooksOff:
		x.message("not running: the caller starts it after its deploy hook")
		return nil
	case !x.supervised():
		return x.start()
	case cartridge.Marker(x.app.Dir, cartridge.HotDeploy):
		x.message("hot_deploy marker: reloading in place")
		return x.reload()
	}
	return x.restart()
}

func (x *cartridgeCtl) updateConfiguration() error {
	spec, set, err := x.call.resolve(nil)
	if err != nil {
		return err
	}
	x.result(fmt.Sprintf("configuration checked: %s serves %s on %s:%d; %s; %s", spec.Name, set.Chdir, spec.Host, spec.Port, spec.App, spec.Interpreter))
	return nil
}

// threaddump prints the Python stacks of every server process with
// py-spy, which reads them from outside: the servers have no thread dump
// signal of their own (gunicorn's and uWSGI's QUIT stops them).
func (x *cartridgeCtl) threaddump() error {
	rep, code, err := inspect(x.c, x.g)
	if err != nil {
		return err
	}
	if code == statusNotRunning {
		return exitWith(statusNotRunning, "not running: no threads to dump")
	}
	var pyspy string
	if x.app.Venv != "" {
		pyspy, _ = exec.LookPath(filepath.Join(x.app.Venv, "bin", "py-spy"))
	}
	if pyspy == "" {
		if pyspy, err = exec.LookPath("py-spy"); err != nil {
			return exitWith(1, "threaddump needs py-spy, which is not installed: pip install py-spy into the virtualenv, or put it on PATH")
		}
	}
	failed := 0
	for _, p := range rep.Processes {
		if p.PID == rep.SupervisorPID {
			continue
		}
		x.result(fmt.Sprintf("pid %d: %s", p.PID, p.Command))
		ctx, cancel := context.WithTimeout(x.c.Context, x.timeout)
		cmd := exec.CommandContext(ctx, pyspy, "dump", "--pid", strconv.Itoa(p.PID))
		cmd.Stdout, cmd.Stderr = x.out, x.out
		if err := cmd.Run(); err != nil {
			x.message(fmt.Sprintf("py-spy dump --pid %d: %v", p.PID, err))
			failed++
		}
		cancel()
	}
	if failed > 0 {
		return exitWith(1, "py-spy could not read %d of the gear's processes", failed)
	}
	return nil
}

// runDeployHook runs the application's deploy hook before `run` starts
// the server, as a container's start script did (mod_wsgi-docker's):
// .docker/action_hooks/deploy, else .openshift/action_hooks/deploy, with
// the server's environment, its output on stdout. A failing hook is the
// end: the server is not started and its exit status is run's. Not in the
// background supervisor that start launches: there, deploying is the
// control actions' business, and a start must not deploy.
func runDeployHook(c *cli.Context, g control.Gear, spec control.Spec) error {
	on, timeout, err := actionEnv()
	if err != nil || !on || c.String("handoff") != "" {
		return err
	}
	for _, dir := range []string{".docker/action_hooks", cartridge.HooksDir} {
		h := cartridge.Hooks{
			Dir: filepath.Join(spec.Dir, dir), Env: spec.Env, WorkDir: spec.Dir, Timeout: timeout,
			Out: os.Stdout, Log: func(msg string) { fmt.Fprintln(os.Stderr, "gearctl: "+msg) },
		}
		if !h.Has("deploy") {
			continue
		}
		err := interruptible(c.Context, func(ctx context.Context) error { return h.Run(ctx, "deploy") })
		var se *cartridge.StepError
		if errors.As(err, &se) {
			return exitWith(se.ExitCode(), "%v: the server was not started", err)
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

// clientOut writes text as the cartridge SDK's client_out does: each line
// behind "KIND: ", and one empty one for no text.
func clientOut(w io.Writer, kind, text string) {
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(w, "%s: %s\n", kind, line)
	}
}

// clientWriter turns each line written to it into a clientOut line,
// without the "gearctl: " the verbs start their lines with.
type clientWriter struct {
	w    io.Writer
	kind string
	buf  []byte
}

func (cw *clientWriter) Write(p []byte) (int, error) {
	cw.buf = append(cw.buf, p...)
	for {
		i := bytes.IndexByte(cw.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		clientOut(cw.w, cw.kind, strings.TrimPrefix(string(cw.buf[:i]), "gearctl: "))
		cw.buf = cw.buf[i+1:]
	}
}
