package cartridge

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// entryCandidates are looked for in the application directory, in order,
// when no --app is given; wsgi/application is the OpenShift v2 layout.
var entryCandidates = []string{"wsgi/application", "wsgi.py", "app.py", "application.py"}

const defaultCallable = "application"

var (
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	moduleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

const appForms = "FILE.py, FILE.py:callable or module:callable"

// FindApp resolves the --app value against the application directory
// chdir: a file (FILE.py, or any path with a '/'), optionally with
// ":callable", or a dotted module with ":callable". An empty value picks the
// first entry candidate that exists.
func FindApp(chdir, value string) (App, error) {
	if value == "" {
		for _, c := range entryCandidates {
			if isFile(filepath.Join(chdir, c)) {
				return App{File: filepath.Join(chdir, c), Callable: defaultCallable}, nil
			}
		}
		return App{}, &InputError{Flag: "--app", Msg: fmt.Sprintf("no WSGI application found in %s (looked for %s)", chdir, strings.Join(entryCandidates, ", ")), Accepted: appForms}
	}
	target, callable := value, defaultCallable
	if i := strings.LastIndexByte(value, ':'); i >= 0 {
		target, callable = value[:i], value[i+1:]
	}
	if !identifier.MatchString(callable) {
		return App{}, &InputError{Flag: "--app", Value: value, Msg: fmt.Sprintf("%q is not a Python name", callable), Accepted: appForms}
	}
	if strings.HasSuffix(target, ".py") || strings.ContainsRune(target, '/') {
		path := target
		if !filepath.IsAbs(path) {
			path = filepath.Join(chdir, path)
		}
		if !isFile(path) {
			return App{}, &InputError{Flag: "--app", Value: value, Msg: fmt.Sprintf("no such file %s", path), Accepted: appForms}
		}
		return App{File: path, Callable: callable}, nil
	}
	if !moduleName.MatchString(target) {
		return App{}, &InputError{Flag: "--app", Value: value, Msg: "neither a .py file nor a module name", Accepted: appForms}
	}
	return App{Module: target, Callable: callable}, nil
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
