package server

import (
	"path/filepath"
	"testing"
)

// A virtualenv is used by the other actions once it exists, not before.
func TestAppEnvDefaultVenv(t *testing.T) {
	app := t.TempDir()
	gearDir := t.TempDir()
	in := Settings{Chdir: app, Env: []string{"OPENSHIFT_PYTHON_DIR=" + gearDir, "PATH=/usr/bin"}}
	ae, err := in.AppEnv()
	if err != nil || ae.Venv != "" || ae.Dir != app {
		t.Fatalf("%+v, %v; want app %s and no virtualenv before one exists", ae, err, app)
	}
	venv := filepath.Join(gearDir, "virtenv")
	mkdirs(t, venv, "bin")
	putFile(t, filepath.Join(venv, "bin", "python"), "")
	if ae, err = in.AppEnv(); err != nil || ae.Venv != venv {
		t.Fatalf("%+v, %v; want the virtualenv %s", ae, err, venv)
	}
	if got, want := ae.Getenv("PATH"), filepath.Join(venv, "bin")+":/usr/bin"; got != want {
		t.Errorf("PATH=%s; want %s", got, want)
	}
}
