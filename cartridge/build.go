package cartridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
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
func (a AppEnv) Getenv(key string) string { return getEnv(a.Env, key) }

// DefaultVenv is the gear's virtualenv when nothing names another:
// $OPENSHIFT_PYTHON_DIR/virtenv, where OpenShift kept it, else .venv in the
// application directory dir.
func DefaultVenv(env []string, dir string) string {
	if d := getEnv(env, "OPENSHIFT_PYTHON_DIR"); d != "" {
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

// Build is the cartridge's build action: the application's dependencies
// installed into its virtualenv with pip.
type Build struct {
	AppEnv
	// Clean empties the virtualenv first (the force_clean_build marker).
	Clean bool
	// Requirements is the requirements file, relative to Dir;
	// requirements.txt when empty.
	Requirements string
	// Index is the package index (mirror) URL pip uses instead of its own
	// default; pip's own PIP_INDEX_URL and PIP_* variables work too.
	Index string
	// Timeout bounds each step; 0 means DefaultActionTimeout.
	Timeout time.Duration
	// Out receives the output of venv and pip; Log what gearctl says.
	Out io.Writer
	Log func(string)
}

// Build is the build of in's application: into the virtualenv --python or
// VIRTUAL_ENV names, else DefaultVenv; clean when the force_clean_build
// marker is there; with OPENSHIFT_PYTHON_REQUIREMENTS_PATH and
// OPENSHIFT_PYPI_MIRROR_URL from in.Env, the names OpenShift gave them.
func (in Settings) Build() (Build, error) {
	ae, err := in.AppEnv()
	if err != nil {
		return Build{}, err
	}
	switch {
	case in.Python == "":
		ae.Venv = DefaultVenv(in.Env, ae.Dir)
		ae.Env = serverEnv(in.Env, ae.Venv, "")
	case ae.Venv == "":
		return Build{}, &InputError{Flag: "--python (VIRTUAL_ENV)", Value: in.Python,
			Msg:      "an interpreter outside any virtualenv, which build will not install into",
			Accepted: "a virtualenv directory, existing or to be created"}
	}
	return Build{
		AppEnv:       ae,
		Clean:        Marker(ae.Dir, ForceCleanBuild),
		Requirements: getEnv(in.Env, "OPENSHIFT_PYTHON_REQUIREMENTS_PATH"),
		Index:        getEnv(in.Env, "OPENSHIFT_PYPI_MIRROR_URL"),
	}, nil
}

// Run builds: empties the virtualenv when Clean, creates it when it has no
// interpreter, then installs what the application declares (see install).
// A failed step is a *StepError with its last lines of output.
//
// The virtualenv is made from the default interpreter with
// --system-site-packages, as OpenShift's python cartridge made its virtenv:
// the distribution's gunicorn, Django or psycopg stay importable, and the
// servers that embed Python (uWSGI's plugin, mod_wsgi) embed that same
// version.
func (b Build) Run(ctx context.Context) error {
	python := filepath.Join(b.Venv, "bin", "python")
	if b.Clean {
		b.log("force_clean_build: emptying the virtualenv %s", b.Venv)
		if err := emptyVenv(b.Venv); err != nil {
			return &StepError{Step: "force_clean_build", Err: err, Code: 1}
		}
	}
	if !isFile(python) {
		base, err := defaultPython()
		if err != nil {
			return &StepError{Step: "venv", Err: err, Code: 2}
		}
		b.log("creating the virtualenv %s with %s --system-site-packages", b.Venv, base)
		if err := b.step(base+" -m venv", base, "-m", "venv", "--system-site-packages", b.Venv).run(ctx); err != nil {
			return err
		}
	} else {
		b.log("using the virtualenv %s", b.Venv)
	}
	what, args := b.install()
	if args == nil {
		b.log("nothing to install: no %s, setup.py or pyproject.toml in %s", b.requirements(), b.Dir)
		return nil
	}
	b.log("installing %s with pip", what)
	return b.step("pip install "+what, python, append([]string{"-m", "pip"}, args...)...).run(ctx)
}

// install is what pip installs and the arguments after `python -m pip`:
// the requirements file, else the application itself, editable, when it is
// a package (setup.py or pyproject.toml, and no requirements file); nil
// when it declares nothing.
func (b Build) install() (what string, args []string) {
	args = []string{"install", "--no-input", "--disable-pip-version-check"}
	if b.Index != "" {
		args = append(args, "--index-url", b.Index)
	}
	req := b.requirements()
	path := req
	if !filepath.IsAbs(path) {
		path = filepath.Join(b.Dir, req)
	}
	switch {
	case isFile(path):
		return "-r " + req, append(args, "-r", req)
	case isFile(filepath.Join(b.Dir, "setup.py")), isFile(filepath.Join(b.Dir, "pyproject.toml")):
		return "-e .", append(args, "-e", ".")
	}
	return "", nil
}

func (b Build) requirements() string {
	if b.Requirements != "" {
		return b.Requirements
	}
	return "requirements.txt"
}

func (b Build) step(name, program string, args ...string) step {
	return step{
		name:    name,
		argv:    append([]string{program}, args...),
		env:     b.Env,
		dir:     b.Dir,
		timeout: b.Timeout,
		out:     b.Out,
	}
}

func (b Build) log(format string, args ...any) {
	if b.Log != nil {
		b.Log(fmt.Sprintf(format, args...))
	}
}

// emptyVenv removes what is in the virtualenv dir but keeps dir itself,
// which may be a symlink to where the gear keeps its dependencies (as on
// OpenShift). A directory that is not a virtualenv is refused: VIRTUAL_ENV
// set by mistake to a home directory must not cost the home directory.
func emptyVenv(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(ents) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	if !isFile(filepath.Join(dir, "pyvenv.cfg")) {
		return fmt.Errorf("%s is not a virtualenv (no pyvenv.cfg): not emptying it", dir)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
