package cartridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gearctl/gearctl/server"
)

// Build is the cartridge's build action: the application's dependencies
// installed into its virtualenv with pip.
type Build struct {
	server.AppEnv
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

// NewBuild is the build of in's application, into in.BuildEnv(): clean
// when the force_clean_build marker is there; with
// OPENSHIFT_PYTHON_REQUIREMENTS_PATH and OPENSHIFT_PYPI_MIRROR_URL from
// in.Env, the names OpenShift gave them.
func NewBuild(in server.Settings) (Build, error) {
	ae, err := in.BuildEnv()
	if err != nil {
		return Build{}, err
	}
	return Build{
		AppEnv:       ae,
		Clean:        Marker(ae.Dir, ForceCleanBuild),
		Requirements: ae.Getenv("OPENSHIFT_PYTHON_REQUIREMENTS_PATH"),
		Index:        ae.Getenv("OPENSHIFT_PYPI_MIRROR_URL"),
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
		base, err := server.DefaultPython()
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
