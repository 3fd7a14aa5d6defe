package cartridge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/server"
)

// verbLog records the verbs an action ran, in order, beside the hooks
// (each hook appends its name to the same file).
type verbLog struct {
	t      *testing.T
	file   string
	health gear.Health
}

func (v *verbLog) add(name string) error {
	f, err := os.OpenFile(v.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		v.t.Fatal(err)
	}
	defer f.Close()
	_, err = io.WriteString(f, name+"\n")
	return err
}

func (v *verbLog) Resolve() (control.Spec, server.Settings, error) {
	return control.Spec{}, server.Settings{}, nil
}

func (v *verbLog) Inspect() (control.Report, gear.Health, error) {
	rep := control.Report{Status: control.Status{State: control.Stopped}}
	if v.health != gear.NotRunning {
		rep.State, rep.SupervisorPID = control.Ready, 1
	}
	return rep, v.health, nil
}

func (v *verbLog) PrintStatus(w io.Writer, rep control.Report) {
	io.WriteString(w, string(rep.State)+"\n")
}
func (v *verbLog) Start() error   { return v.add("START") }
func (v *verbLog) Stop() error    { return v.add("STOP") }
func (v *verbLog) Restart() error { return v.add("RESTART") }
func (v *verbLog) Reload() error  { return v.add("RELOAD") }
func (v *verbLog) Tidy() error    { return v.add("TIDY") }

// action runs the control action name on an application whose hooks each
// log their name, on a gear in state health; it returns the order of
// hooks and verbs, what the action wrote, and its error.
func action(t *testing.T, name string, health gear.Health, hooks map[string]string, markers ...string) (order []string, out string, err error) {
	t.Helper()
	app := t.TempDir()
	trace := filepath.Join(t.TempDir(), "trace")
	for _, d := range []string{HooksDir, MarkersDir} {
		if err := os.MkdirAll(filepath.Join(app, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for hook, script := range hooks {
		text := "#!/bin/sh\necho " + hook + " >> " + trace + "\n" + script
		if err := os.WriteFile(filepath.Join(app, HooksDir, hook), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range markers {
		if err := os.WriteFile(filepath.Join(app, MarkersDir, m), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	x, err := NewControl(context.Background(), control.Gear{Dir: t.TempDir()}, server.Settings{Chdir: app, Env: os.Environ()}, &b)
	if err != nil {
		t.Fatal(err)
	}
	x.SetVerbs(&verbLog{t: t, file: trace, health: health})
	var a *Action
	for i := range Actions {
		if Actions[i].Name == name {
			a = &Actions[i]
		}
	}
	if a == nil {
		t.Fatalf("no action %s", name)
	}
	err = x.Run(*a)
	data, _ := os.ReadFile(trace)
	return strings.Fields(string(data)), b.String(), err
}

var everyHook = map[string]string{
	"pre_start": "", "post_start": "", "pre_stop": "", "post_stop": "", "pre_restart": "", "post_restart": "",
	"pre_reload": "", "post_reload": "", "deploy": "", "pre_tidy": "", "post_tidy": "",
}

// Each action runs its verb between its pre_ and post_ hooks, or, when
// there is nothing to do, neither hooks nor verb.
func TestActionOrder(t *testing.T) {
	for _, tc := range []struct {
		action  string
		health  gear.Health
		markers []string
		want    string
	}{
		{"start", gear.NotRunning, nil, "pre_start START post_start"},
		{"start", gear.Ready, nil, "START"}, // says it runs already; nothing is started
		{"stop", gear.Ready, nil, "pre_stop STOP post_stop"},
		{"stop", gear.NotRunning, nil, ""},
		{"restart", gear.Ready, nil, "pre_restart RESTART post_restart"},
		{"reload", gear.Ready, nil, "pre_reload RELOAD post_reload"},
		{"reload", gear.NotRunning, nil, ""},
		{"tidy", gear.NotRunning, nil, "pre_tidy TIDY post_tidy"},
		{"deploy", gear.Ready, nil, "deploy pre_restart RESTART post_restart"},
		{"deploy", gear.Ready, []string{HotDeploy}, "deploy pre_reload RELOAD post_reload"},
		{"deploy", gear.NotRunning, nil, "deploy pre_start START post_start"},
	} {
		order, out, err := action(t, tc.action, tc.health, everyHook, tc.markers...)
		if err != nil || strings.Join(order, " ") != tc.want {
			t.Errorf("%s on a gear %v %v: ran %q, %v; want %q\n%s", tc.action, tc.health, tc.markers, order, err, tc.want, out)
		}
	}
}

// A failing pre_ hook stops the action before its verb: the hook's exit
// status is the action's, told as a CLIENT_ERROR line with its last lines.
func TestActionHookFails(t *testing.T) {
	order, out, err := action(t, "restart", gear.Ready, map[string]string{"pre_restart": "echo migration failed; exit 7", "post_restart": ""})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 || ee.Msg != "" {
		t.Errorf("%v; want an *ExitError of status 7, already told", err)
	}
	if strings.Join(order, " ") != "pre_restart" {
		t.Errorf("ran %q; want only the pre_restart hook", order)
	}
	if !strings.Contains(out, "CLIENT_ERROR: ") || !strings.Contains(out, "CLIENT_ERROR: migration failed") {
		t.Errorf("output %q; want CLIENT_ERROR lines with the hook's last line", out)
	}
}

// With GEARCTL_ACTION_HOOKS=false the caller runs the hooks: deploy of a
// stopped gear leaves it stopped, for the node to start after its own
// deploy hook.
func TestActionHooksOff(t *testing.T) {
	t.Setenv("GEARCTL_ACTION_HOOKS", "false")
	order, out, err := action(t, "deploy", gear.NotRunning, everyHook)
	if err != nil || len(order) != 0 || !strings.Contains(out, "CLIENT_MESSAGE: not running: the caller starts it") {
		t.Errorf("ran %q, %v, output %q; want nothing run and the caller told", order, err, out)
	}
	t.Setenv("GEARCTL_ACTION_HOOKS", "sometimes")
	_, err = NewControl(context.Background(), control.Gear{}, server.Settings{Chdir: t.TempDir()}, io.Discard)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || !strings.Contains(ee.Msg, `GEARCTL_ACTION_HOOKS "sometimes"`) {
		t.Errorf("%v; want exit 2 naming the variable", err)
	}
}

// status says what the stock cartridge said, and exits as LSB asks.
func TestActionStatusStopped(t *testing.T) {
	_, out, err := action(t, "status", gear.NotRunning, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Errorf("%v; want exit status 3", err)
	}
	if want := "CLIENT_RESULT: Application is either stopped or inaccessible\nCLIENT_RESULT: stopped\n"; out != want {
		t.Errorf("output %q; want %q", out, want)
	}
}
