package cartridge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gearctl/gearctl/internal/environ"
	"github.com/gearctl/gearctl/server"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// What build installs follows from the files the application has.
func TestBuildInstall(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		b     Build
		want  string // the pip arguments after the common ones; "" for nothing
	}{
		{name: "requirements", files: []string{"requirements.txt"}, want: "-r requirements.txt"},
		{name: "requirements and setup.py", files: []string{"requirements.txt", "setup.py"}, want: "-r requirements.txt"},
		{name: "setup.py", files: []string{"setup.py"}, want: "-e ."},
		{name: "pyproject.toml", files: []string{"pyproject.toml"}, want: "-e ."},
		{name: "nothing", files: []string{"wsgi.py"}},
		{name: "requirements path", files: []string{"deps/prod.txt", "setup.py"},
			b: Build{Requirements: "deps/prod.txt"}, want: "-r deps/prod.txt"},
		{name: "requirements path missing", files: []string{"requirements.txt"},
			b: Build{Requirements: "deps/prod.txt"}},
		{name: "mirror", files: []string{"requirements.txt"},
			b: Build{Index: "http://mirror.example/simple"}, want: "--index-url http://mirror.example/simple -r requirements.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			b.Dir = t.TempDir()
			for _, f := range tc.files {
				touch(t, filepath.Join(b.Dir, f))
			}
			what, args := b.install()
			if tc.want == "" {
				if args != nil {
					t.Errorf("install %q; want nothing", args)
				}
				return
			}
			const common = "install --no-input --disable-pip-version-check "
			if got := strings.Join(args, " "); got != common+tc.want {
				t.Errorf("install %q; want %q", got, common+tc.want)
			}
			if !strings.HasSuffix(tc.want, what) {
				t.Errorf("what %q; want the end of %q", what, tc.want)
			}
		})
	}
}

// Which virtualenv build installs into, and what it reads from the
// environment.
func TestSettingsBuild(t *testing.T) {
	app := t.TempDir()
	gearDir := t.TempDir()
	touch(t, filepath.Join(app, MarkersDir, ForceCleanBuild))

	b, err := NewBuild(server.Settings{Chdir: app, Env: []string{"OPENSHIFT_PYTHON_DIR=" + gearDir + "/",
		"OPENSHIFT_PYPI_MIRROR_URL=http://mirror.example/simple", "OPENSHIFT_PYTHON_REQUIREMENTS_PATH=reqs.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(gearDir, "virtenv"); b.Venv != want {
		t.Errorf("venv %s; want %s, OpenShift's place", b.Venv, want)
	}
	if !b.Clean || b.Index != "http://mirror.example/simple" || b.Requirements != "reqs.txt" {
		t.Errorf("clean %v index %q requirements %q; want the marker and the variables honoured", b.Clean, b.Index, b.Requirements)
	}
	if got := environ.Get(b.Env, "VIRTUAL_ENV"); got != b.Venv {
		t.Errorf("VIRTUAL_ENV=%s in the build's environment; want %s", got, b.Venv)
	}

	b, err = NewBuild(server.Settings{Chdir: app})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(app, ".venv"); b.Venv != want {
		t.Errorf("venv %s; want %s without OPENSHIFT_PYTHON_DIR", b.Venv, want)
	}

	named := filepath.Join(t.TempDir(), "env-to-be")
	if b, err = NewBuild(server.Settings{Chdir: app, Python: named}); err != nil || b.Venv != named {
		t.Errorf("venv %s, %v; want %s, the virtualenv to be that --python names", b.Venv, err, named)
	}

	_, err = NewBuild(server.Settings{Chdir: app, Python: "sh"})
	var input *server.InputError
	if !errors.As(err, &input) || !strings.Contains(err.Error(), "outside any virtualenv") {
		t.Errorf("%v; want an *InputError refusing an interpreter outside a virtualenv", err)
	}
}

func TestEmptyVenv(t *testing.T) {
	notVenv := t.TempDir()
	touch(t, filepath.Join(notVenv, "precious"))
	if err := emptyVenv(notVenv); err == nil {
		t.Error("a directory without pyvenv.cfg was emptied")
	}
	if !isFile(filepath.Join(notVenv, "precious")) {
		t.Error("a directory without pyvenv.cfg lost its files")
	}

	// The virtualenv is a symlink to where the gear keeps it, as on
	// OpenShift: its content goes, the link and the directory stay.
	target := t.TempDir()
	touch(t, filepath.Join(target, "pyvenv.cfg"))
	touch(t, filepath.Join(target, "lib", "site-packages", "x.py"))
	link := filepath.Join(t.TempDir(), "virtenv")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := emptyVenv(link); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(link)
	if err != nil || len(ents) != 0 {
		t.Errorf("after emptying: %v, %v; want an empty directory behind the link", ents, err)
	}
	if err := emptyVenv(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("a virtualenv that does not exist: %v; want nothing to do", err)
	}
}

func TestMarker(t *testing.T) {
	app := t.TempDir()
	if Marker(app, HotDeploy) {
		t.Error("hot_deploy found in an empty application")
	}
	touch(t, filepath.Join(app, ".openshift", "markers", "hot_deploy"))
	if !Marker(app, HotDeploy) || Marker(app, ForceCleanBuild) {
		t.Error("want hot_deploy and not force_clean_build")
	}
}
