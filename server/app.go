package server

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gearctl/gearctl/internal/environ"
)

// entryCandidates are looked for in the application directory, in order,
// when no --app is given; wsgi/application is the OpenShift v2 layout.
var entryCandidates = []string{"wsgi/application", "wsgi.py", "app.py", "application.py"}

// programCandidate is the entry the OpenShift python cartridge ran as a
// program (`python -u app.py`) rather than imported, when it is one.
const programCandidate = "app.py"

// callables are the names a file's WSGI callable is looked for under, in
// order: every server's default, then Flask's (and Bottle's) convention.
var callables = []string{"application", "app"}

const defaultCallable = "application"

var (
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	moduleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

const appForms = "FILE.py, FILE.py:callable or module:callable"

// FindApp resolves the --app value against the application directory
// chdir: a file (FILE.py, or any path with a '/'), optionally with
// ":callable", or a dotted module with ":callable". Without a callable, a
// file's is the first of callables it binds, found by reading it. An empty
// value detects the application (see detectApp). App.Why says what was
// found and why.
func FindApp(chdir, value string) (App, error) {
	if value == "" {
		return detectApp(chdir)
	}
	target, callable := value, ""
	if i := strings.LastIndexByte(value, ':'); i >= 0 {
		target, callable = value[:i], value[i+1:]
		if !identifier.MatchString(callable) {
			return App{}, &InputError{Flag: "--app", Value: value, Msg: fmt.Sprintf("%q is not a Python name", callable), Accepted: appForms}
		}
	}
	if strings.HasSuffix(target, ".py") || strings.ContainsRune(target, '/') {
		path := target
		if !filepath.IsAbs(path) {
			path = filepath.Join(chdir, path)
		}
		if !isFile(path) {
			return App{}, &InputError{Flag: "--app", Value: value, Msg: fmt.Sprintf("no such file %s", path), Accepted: appForms}
		}
		if callable != "" {
			return App{File: path, Callable: callable, Why: fmt.Sprintf("--app %s: importing its %q callable, as given", value, callable)}, nil
		}
		src, err := readSource(path, value)
		if err != nil {
			return App{}, err
		}
		return importApp(target, path, src, true)
	}
	if !moduleName.MatchString(target) {
		return App{}, &InputError{Flag: "--app", Value: value, Msg: "neither a .py file nor a module name", Accepted: appForms}
	}
	if callable == "" {
		callable = defaultCallable
	}
	return App{Module: target, Callable: callable, Why: fmt.Sprintf("--app %s: importing %s:%s", value, target, callable)}, nil
}

// detectApp finds the application in chdir when no --app is given: app.py
// when it is a program (see programReason), which the OpenShift cartridge
// ran whatever else the repository held; else the first entry candidate
// that exists, else a Django project.
func detectApp(chdir string) (App, error) {
	if path := filepath.Join(chdir, programCandidate); isFile(path) {
		src, err := readSource(path, programCandidate)
		if err != nil {
			return App{}, err
		}
		if reason := programReason(src); reason != "" {
			return App{File: path, Program: true, Why: programCandidate + " " + reason}, nil
		}
	}
	for _, name := range entryCandidates {
		path := filepath.Join(chdir, name)
		if !isFile(path) {
			continue
		}
		src, err := readSource(path, name)
		if err != nil {
			return App{}, err
		}
		return importApp(name, path, src, false)
	}
	if app, ok, err := djangoApp(chdir); ok || err != nil {
		return app, err
	}
	return App{}, &InputError{Flag: "--app",
		Msg: fmt.Sprintf("no WSGI application found in %s (looked for %s, NAME/wsgi.py beside manage.py)",
			chdir, strings.Join(entryCandidates, ", ")),
		Accepted: "--app " + appForms}
}

func readSource(path, value string) (pySource, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pySource{}, &InputError{Flag: "--app", Value: value, Msg: err.Error(), Accepted: appForms}
	}
	return scanPython(string(b)), nil
}

// programReason says why a file is a program rather than a WSGI module,
// "" when it is not one: its module level, which an import runs, replaces
// the process or starts a server; or it binds no callable and has a
// __main__ block, which only running it runs.
func programReason(p pySource) string {
	switch {
	case p.starts != nil:
		return fmt.Sprintf("starts its own server at module level (%s)", p.starts)
	case !slices.ContainsFunc(callables, p.binds) && !p.star && p.hasMain:
		return `defines no "application" or "app" but has a __main__ block`
	}
	return ""
}

// importApp is the file at path (name, as the user knows it) imported as
// a WSGI module, its callable the first of callables it binds. A file
// that binds other names but none of those is bad input that names them.
// One that binds no name at all is left to the server to import and report
// on: it fails at import (a raise, an exit), which the server's traceback
// explains better, or makes its callable in a way reading cannot follow.
// explicit: name is the --app value.
func importApp(name, path string, p pySource, explicit bool) (App, error) {
	label, value := name, ""
	if explicit {
		label, value = "--app "+name, name
	}
	var notes []string
	callable := defaultCallable
	switch i := slices.IndexFunc(callables, p.binds); {
	case i > 0:
		callable = callables[i]
		notes = append(notes, fmt.Sprintf("no %q", callables[0]))
	case i < 0 && p.star:
		notes = append(notes, `a "from … import *" may bind it`)
	case i < 0 && len(p.bound) == 0:
		notes = append(notes, "reading it finds no name bound at module level")
	case i < 0:
		return App{}, &InputError{Flag: "--app", Value: value,
			Msg: fmt.Sprintf("%s defines no %q or %q (it binds %s)%s", name, callables[0], callables[1],
				listNames(p.bound), startsNote(name, p)),
			Accepted: "--app " + name + ":NAME, naming the callable"}
	}
	if p.starts != nil {
		notes = append(notes, fmt.Sprintf("importing it runs its module level, which calls %s", p.starts))
	}
	if p.mainStarts != nil {
		notes = append(notes, fmt.Sprintf("%s under __main__ (line %d) is not run", p.mainStarts.what, p.mainStarts.line))
	}
	why := fmt.Sprintf("%s: importing its %q callable", label, callable)
	if len(notes) > 0 {
		why += " (" + strings.Join(notes, "; ") + ")"
	}
	return App{File: path, Callable: callable, Why: why}, nil
}

// startsNote tells a user who named a program with --app how to run it as
// one.
func startsNote(name string, p pySource) string {
	switch {
	case p.starts == nil:
		return ""
	case name == programCandidate:
		return fmt.Sprintf(" but starts its own server at module level (%s): leave out --app to run it as a program", p.starts)
	}
	return fmt.Sprintf(" but starts its own server at module level (%s): --command can run it as a program", p.starts)
}

// listNames is names for a message, the first few of them.
func listNames(names []string) string {
	const most = 5
	if len(names) > most {
		return strings.Join(names[:most], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

// settingsDefault is the DJANGO_SETTINGS_MODULE a manage.py sets by
// default, as `django-admin startproject` writes it.
var settingsDefault = regexp.MustCompile(`setdefault\(\s*['"]DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]`)

// djangoApp finds a Django project: manage.py beside NAME/wsgi.py, in chdir,
// else in OpenShift's wsgi/, else in a directory of chdir (a project made
// by `django-admin startproject` in the repository). NAME is the package of
// manage.py's DJANGO_SETTINGS_MODULE, else the one package beside it with a
// wsgi.py. Its module is NAME.wsgi, imported with the project's directory
// on sys.path; DJANGO_SETTINGS_MODULE defaults to manage.py's.
func djangoApp(chdir string) (App, bool, error) {
	dirs := []string{chdir, filepath.Join(chdir, "wsgi")}
	ents, _ := os.ReadDir(chdir)
	for _, e := range ents {
		if e.IsDir() && e.Name() != "wsgi" && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(chdir, e.Name()))
		}
	}
	for _, dir := range dirs {
		manage, err := os.ReadFile(filepath.Join(dir, "manage.py"))
		if err != nil {
			continue
		}
		var settings, project string
		if m := settingsDefault.FindSubmatch(manage); m != nil {
			settings = string(m[1])
			project, _, _ = strings.Cut(settings, ".")
		} else if found, _ := filepath.Glob(filepath.Join(dir, "*", "wsgi.py")); len(found) == 1 {
			project = filepath.Base(filepath.Dir(found[0]))
		}
		wsgi := filepath.Join(dir, project, "wsgi.py")
		if project == "" || !isFile(wsgi) {
			continue
		}
		rel, _ := filepath.Rel(chdir, wsgi)
		src, err := readSource(wsgi, rel)
		if err != nil {
			return App{}, true, err
		}
		file, err := importApp(rel, wsgi, src, false)
		if err != nil {
			return App{}, true, err
		}
		where, _ := filepath.Rel(chdir, dir)
		app := App{Module: project + ".wsgi", Callable: file.Callable}
		app.Why = fmt.Sprintf("%s of the Django project in %s (manage.py): importing %s:%s", rel, where, app.Module, app.Callable)
		if dir != chdir {
			app.PythonPath = dir
			app.Why += ", with " + where + " first on sys.path"
		}
		if settings != "" {
			app.Env = []string{"DJANGO_SETTINGS_MODULE=" + settings}
			app.Why += "; DJANGO_SETTINGS_MODULE defaults to " + settings
		}
		return app, true, nil
	}
	return App{}, false, nil
}

// environ is env with what the application needs of the environment: its
// Env variables where env does not set them (the user's own setting wins),
// and PythonPath first on PYTHONPATH.
func (a App) environ(env []string) []string {
	for _, kv := range a.Env {
		if k, _, _ := strings.Cut(kv, "="); !environ.Has(env, k) {
			env = append(env, kv)
		}
	}
	if a.PythonPath != "" {
		path := a.PythonPath
		if old := environ.Get(env, "PYTHONPATH"); old != "" {
			path += string(os.PathListSeparator) + old
		}
		env = environ.Set(env, "PYTHONPATH", path)
	}
	return env
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// String is the app as the user would write it.
func (a App) String() string {
	if a.Module != "" {
		return a.Module + ":" + a.Callable
	}
	return a.File + ":" + a.Callable
}
