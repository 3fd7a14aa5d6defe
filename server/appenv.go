package server

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gearctl/gearctl/internal/environ"
)

// AppEnv is what runs for the application besides its server — action
// hooks, the build, a shell — needs to know.
type AppEnv struct {
	// Dir is the application directory, absolute.
	Dir string
	// Venv is its virtualenv, "" for none. It may not exist yet: build
	// creates it.
	Venv string
	// Env is the environment, with the virtualenv's bin first on PATH and
	// VIRTUAL_ENV set, as the server gets it.
	Env []string
}

// AppEnv resolves the application directory and the virtualenv. Unlike
// Resolve it needs no entry point and no server, and takes a virtualenv
// that does not exist yet: hooks run before the first build, and a shell is
// the way in when the rest is broken. With no --python (nor VIRTUAL_ENV),
// the gear's own virtualenv (DefaultVenv) is used once it exists.
func (in Settings) AppEnv() (AppEnv, error) {
	dir, err := absDir("--chdir", in.Chdir)
	if err != nil {
		return AppEnv{}, err
	}
	venv, err := venvOf(in.Python)
	if err != nil {
		return AppEnv{}, err
	}
	if in.Python == "" {
		if v := DefaultVenv(in.Env, dir); isFile(filepath.Join(v, "bin", "python")) {
			venv = v
		}
	}
	// A broken --python must not keep a shell out: the hooks and the
	// shell then get PATH as it is.
	python, _, _ := findPython(in.Python)
	if venv != "" {
		python = filepath.Join(venv, "bin", "python")
	}
	return AppEnv{Dir: dir, Venv: venv, Env: serverEnv(in.Env, venv, python)}, nil
}

// Getenv is key's value in Env.
func (a AppEnv) Getenv(key string) string { return environ.Get(a.Env, key) }

// DefaultVenv is the gear's virtualenv when nothing names another:
// $OPENSHIFT_PYTHON_DIR/virtenv, where OpenShift kept it, else .venv in the
// application directory dir.
func DefaultVenv(env []string, dir string) string {
	if d := environ.Get(env, "OPENSHIFT_PYTHON_DIR"); d != "" {
		return filepath.Join(d, "virtenv")
	}
	return filepath.Join(dir, ".venv")
}

// venvOf is the virtualenv that a --python value names: a directory,
// existing or to be created (a path that does not exist yet), or the
// virtualenv an interpreter belongs to; "" for an interpreter outside any
// and for no value.
func venvOf(python string) (string, error) {
	if python == "" {
		return "", nil
	}
	fi, err := os.Stat(python)
	if (err == nil && fi.IsDir()) || (errors.Is(err, fs.ErrNotExist) && strings.ContainsRune(python, '/')) {
		return filepath.Abs(python)
	}
	_, venv, err := findPython(python)
	return venv, err
}

// BuildEnv is the AppEnv a build installs into: the virtualenv --python
// or VIRTUAL_ENV names, else DefaultVenv. An interpreter outside any
// virtualenv is refused: build will not install into a system Python.
func (in Settings) BuildEnv() (AppEnv, error) {
	ae, err := in.AppEnv()
	if err != nil {
		return AppEnv{}, err
	}
	switch {
	case in.Python == "":
		ae.Venv = DefaultVenv(in.Env, ae.Dir)
		ae.Env = serverEnv(in.Env, ae.Venv, "")
	case ae.Venv == "":
		return AppEnv{}, &InputError{Flag: "--python (VIRTUAL_ENV)", Value: in.Python,
			Msg:      "an interpreter outside any virtualenv, which build will not install into",
			Accepted: "a virtualenv directory, existing or to be created"}
	}
	return ae, nil
}
