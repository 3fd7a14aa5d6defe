package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/gearctl/gearctl/server"
	"github.com/urfave/cli/v2"
)

// parse runs args through a command with the application flags and
// returns the settings they make, over base when it is not nil.
func parse(t *testing.T, base *server.Settings, args ...string) server.Settings {
	t.Helper()
	var got server.Settings
	app := &cli.App{Flags: appFlags(), Action: func(c *cli.Context) error {
		got = settings(c, "/gear", nil, base)
		return nil
	}}
	if err := app.Run(append([]string{"gearctl"}, args...)); err != nil {
		t.Fatal(err)
	}
	return got
}

// everyFlag gives each application flag a value of its own.
var everyFlag = []string{
	"--server", "uwsgi", "--app", "a.py", "--chdir", "/app", "--host", "127.0.0.2", "--port", "9999",
	"--workers", "7", "--threads", "3", "--python", "/venv", "--command", "true", "--ready-path", "/health",
	"--ready-status", "200-399", "--static", "/s=static", "--env", "K=V", "--env-file", "e.env",
	"--start-timeout", "7s", "--stop-timeout", "8s", "--probe-interval", "9s", "--probe-failures", "4",
	"--user", "nobody", "--group", "nogroup",
}

// TestSettingsTable: every flag fills its own field of Settings, and
// every field a user sets has a flag: none is left at its zero value.
func TestSettingsTable(t *testing.T) {
	got := parse(t, nil, everyFlag...)
	want := server.Settings{
		Server: "uwsgi", App: "a.py", Chdir: "/app", Host: "127.0.0.2", Port: 9999, Workers: 7, Threads: 3,
		Python: "/venv", Command: "true", ReadyPath: "/health", ReadyStatus: "200-399",
		Static: []string{"/s=static"}, Vars: []string{"K=V"}, EnvFiles: []string{"e.env"},
		StartTimeout: 7 * time.Second, StopTimeout: 8 * time.Second, ProbeInterval: 9 * time.Second, ProbeFailures: 4,
		User: "nobody", Group: "nogroup", Dir: "/gear",
	}
	got.Env = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings from every flag:\n got %+v\nwant %+v", got, want)
	}
	v := reflect.ValueOf(got)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name != "Env" && name != "ExtraArgs" && v.Field(i).IsZero() {
			t.Errorf("Settings.%s has no flag in the table", name)
		}
	}
}

// TestSettingsKeepBase: a restart keeps every setting it does not give
// again, and changes the one it gives.
func TestSettingsKeepBase(t *testing.T) {
	base := parse(t, nil, everyFlag...)
	base.ExtraArgs = []string{"--extra"}
	got := parse(t, &base, "--workers", "12")
	want := base
	want.Workers = 12
	got.Env, want.Env = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restart --workers 12 over a gear:\n got %+v\nwant %+v", got, want)
	}
	defaults := parse(t, nil)
	if defaults.Server != "auto" || defaults.Port != 8080 || defaults.Workers != 2 || defaults.StopTimeout != 30*time.Second {
		t.Errorf("defaults %+v; want auto, port 8080, 2 workers, 30s stop timeout", defaults)
	}
}

// A start on a running gear names the settings it gave that differ, and
// the restart that applies them; --env's values are never shown.
func TestDiffering(t *testing.T) {
	running := server.Settings{Server: "gunicorn", Workers: 2, Port: 8080, StartTimeout: time.Minute, Vars: []string{"K=old"}}
	asked := running
	asked.Server, asked.Workers, asked.Vars = "uwsgi", 8, []string{"K=s3cret"}
	said, flags := differing([]string{"server", "workers", "port", "env"}, asked, running)
	wantSaid := []string{"--server uwsgi (running: gunicorn)", "--workers 8 (running: 2)", "--env (other values)"}
	wantFlags := []string{"--server=uwsgi", "--workers=8", "--env ..."}
	if !reflect.DeepEqual(said, wantSaid) || !reflect.DeepEqual(flags, wantFlags) {
		t.Errorf("differing = %q, %q; want %q, %q", said, flags, wantSaid, wantFlags)
	}
	if said, _ := differing([]string{"port"}, asked, running); len(said) != 0 {
		t.Errorf("differing on an unchanged, given --port = %q; want nothing", said)
	}
	if said, _ := differing(nil, asked, running); len(said) != 0 {
		t.Errorf("differing with nothing given = %q; want nothing: defaults are not asked for", said)
	}
}
