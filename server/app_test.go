package server

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/internal/environ"
)

// seedApp is the app.py of OpenShift's python cartridge template: a program
// that becomes bash running app.sh, which starts the real server.
const seedApp = `#!/usr/bin/env python
import os
virtenv = os.environ.get('OPENSHIFT_PYTHON_DIR', '.') + '/virtenv/'
os.execvp('bash', ['bash', 'app.sh'])
`

// flaskApp is Flask's quickstart: its app.run() runs only as a program.
const flaskApp = `from flask import Flask

app = Flask(
    __name__,
)


@app.route("/")
def hello():
    return "hello"


if __name__ == "__main__":
    app.run(host="127.0.0.1",
            port=8080)
`

// wsgirefApp is a WSGI module that can also serve itself.
const wsgirefApp = `from wsgiref.simple_server import make_server


def application(environ, start_response):
    start_response("200 OK", [])
    return [b"hi"]


if __name__ == '__main__':
    make_server('', 8000, application).serve_forever()
`

// TestScanPython: what reading a file as text finds at its module level.
func TestScanPython(t *testing.T) {
	cases := []struct {
		name, src string
		// program is programReason's verdict; callable, the name importApp
		// would take ("" none of callables).
		program            bool
		callable           string
		starts, mainStarts string
	}{
		{name: "seed app.py", src: seedApp, program: true, starts: "os.execvp, line 4"},
		{name: "flask, app.run under __main__", src: flaskApp, callable: "app", mainStarts: "app.run(), line 14"},
		{name: "wsgiref, serve_forever under __main__", src: wsgirefApp, callable: "application", mainStarts: "make_server(), line 10"},
		{name: "only app", src: "import bottle\napp = bottle.Bottle()\n", callable: "app"},
		{name: "both: application first", src: "app = object()\napplication = app\n", callable: "application"},
		{name: "main block, no callable", src: "def main():\n    print('hi')\n\nif __name__ == \"__main__\":\n    main()\n", program: true},
		{name: "one-line main block", src: "import sys\nif __name__=='__main__': sys.exit(0)\n", program: true},
		{name: "server started in a def only", src: "import os\ndef run():\n    os.execvp('bash', ['bash'])\n    app.run()\napplication = run\n", callable: "application"},
		{name: "module level under if runs at import", src: "import os\nif True:\n    os.execl('/bin/sh', 'sh')\n", program: true, starts: "os.execl, line 3"},
		{name: "else of the main block runs at import", src: "if __name__ == '__main__':\n    pass\nelse:\n    make_server('', 1, None)\n", program: true, starts: "make_server(), line 4"},
		{name: "run_simple at module level", src: "from werkzeug.serving import run_simple\nfrom w import app\nrun_simple('localhost', 4000, app)\n", program: true, starts: "run_simple(), line 3", callable: "app"},
		{name: "uvicorn.run at module level", src: "import uvicorn\nuvicorn.run('m:app')\n", program: true, starts: "uvicorn.run(), line 2"},
		{name: "bare execvp from os", src: "from os import execvp\nexecvp('bash', ['bash', 'app.sh'])\n", program: true, starts: "execvp(), line 2"},
		{name: "exec() of code is not an exec of a program", src: "exec('x = 1')\napplication = None\n", callable: "application"},
		{name: "in a docstring and a comment", src: "'''\nos.execvp('bash', ['bash'])\napp.run()\n'''\n# os.execvp('bash')\napplication = None  # app.run()\n", callable: "application"},
		{name: "triple-quoted string with quotes and escapes", src: "x = \"\"\"a \\\"\"\" \"\ndef f(): pass\n\"\"\"\napplication = 1\n", callable: "application"},
		{name: "from-import in try", src: "try:\n    from myapp import app as application\nexcept ImportError:\n    raise\n", callable: "application"},
		{name: "from-import list", src: "from myapp import (\n    db,\n    app,\n)\n", callable: "app"},
		{name: "annotated", src: "from flask import Flask\napp: Flask = Flask(__name__)\n", callable: "app"},
		{name: "unpacked and chained", src: "db, app = make()\nx = y = 1\n", callable: "app"},
		{name: "class body", src: "class Site:\n    application = None\n    app = None\n"},
		{name: "comparison is not assignment", src: "app == 1\napplication <= 2\n"},
		{name: "keyword argument is not assignment", src: "configure(app=1)\n"},
		{name: "import binds a module", src: "import app\nimport application as application\n"},
		{name: "backslash continuation", src: "application = \\\n    make()\nif __name__ == '__main__': \\\n    application.run()\n", callable: "application", mainStarts: "application.run(), line 3"},
		{name: "decorated def", src: "@wrap\ndef application(e, s):\n    os.execvp('x', [])\n", callable: "application"},
		{name: "tabs", src: "def f():\n\tos.execvp('x', [])\napp = f\n", callable: "app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := scanPython(c.src)
			if got := programReason(p) != ""; got != c.program {
				t.Errorf("program: %v (%q); want %v", got, programReason(p), c.program)
			}
			callable := ""
			if i := slices.IndexFunc(callables, p.binds); i >= 0 {
				callable = callables[i]
			}
			if callable != c.callable {
				t.Errorf("callable %q (bound %q); want %q", callable, p.bound, c.callable)
			}
			if got := callString(p.starts); got != c.starts {
				t.Errorf("starts at module level: %q; want %q", got, c.starts)
			}
			if got := callString(p.mainStarts); got != c.mainStarts {
				t.Errorf("starts under __main__: %q; want %q", got, c.mainStarts)
			}
		})
	}
}

func callString(c *pyCall) string {
	if c == nil {
		return ""
	}
	return c.String()
}

// FuzzScanPython: any text is read without a panic, and every line found
// is a line of it.
func FuzzScanPython(f *testing.F) {
	for _, s := range []string{seedApp, flaskApp, wsgirefApp, "'''", "\"\\", "(\n[\n{", "if __name__ == '__main__':", "x = \\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := strings.Count(src, "\n") + 1
		for _, l := range pyLines(src) {
			if l.num < 1 || l.num > lines {
				t.Fatalf("line %d of a text of %d lines", l.num, lines)
			}
		}
		p := scanPython(src)
		for _, c := range []*pyCall{p.starts, p.mainStarts} {
			if c != nil && (c.line < 1 || c.line > lines) {
				t.Fatalf("call %v of a text of %d lines", c, lines)
			}
		}
	})
}

// tree writes files (path -> content) into a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const djangoManage = `#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)


if __name__ == '__main__':
    main()
`

const djangoWSGI = `import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')

application = get_wsgi_application()
`

// TestFindApp: the entry found for each layout, and the one line a user
// gets for what cannot be served.
func TestFindApp(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		app   string // --app
		// want is the App found, its Why and path fields aside; why, a
		// substring of its Why.
		want App
		why  string
		// err, substrings of the error instead.
		err []string
	}{
		{name: "seed app.py is a program", files: map[string]string{"app.py": seedApp, "app.sh": "exec gunicorn wsgi\n"},
			want: App{File: "app.py", Program: true}, why: "app.py starts its own server at module level (os.execvp, line 4)"},
		{name: "a program app.py comes before wsgi.py", files: map[string]string{"app.py": seedApp, "wsgi.py": "application = None\n"},
			want: App{File: "app.py", Program: true}, why: "app.py starts its own server at module level (os.execvp, line 4)"},
		{name: "wsgi.py comes before a WSGI app.py", files: map[string]string{"app.py": flaskApp, "wsgi.py": "application = None\n"},
			want: App{File: "wsgi.py", Callable: "application"}, why: `wsgi.py: importing its "application" callable`},
		{name: "wsgi/application comes first", files: map[string]string{"wsgi/application": "from x import app as application\n", "wsgi.py": "app = 1\n"},
			want: App{File: "wsgi/application", Callable: "application"}},
		{name: "flask app.py is imported", files: map[string]string{"app.py": flaskApp},
			want: App{File: "app.py", Callable: "app"},
			why:  `app.py: importing its "app" callable (no "application"; app.run() under __main__ (line 14) is not run)`},
		{name: "wsgiref app.py is imported", files: map[string]string{"app.py": wsgirefApp},
			want: App{File: "app.py", Callable: "application"}, why: "make_server() under __main__ (line 10) is not run"},
		{name: "application.py with app", files: map[string]string{"application.py": "app = make()\n"},
			want: App{File: "application.py", Callable: "app"}},
		{name: "a wsgi.py program is imported all the same", files: map[string]string{"wsgi.py": seedApp + "application = None\n"},
			want: App{File: "wsgi.py", Callable: "application"}, why: "importing it runs its module level, which calls os.execvp, line 4"},
		{name: "no callable", files: map[string]string{"wsgi.py": "def hello(environ, start_response):\n    pass\nDEBUG = True\n"},
			err: []string{`--app: wsgi.py defines no "application" or "app" (it binds hello, DEBUG); accepted: --app wsgi.py:NAME`}},
		{name: "nothing bound is left to the server", files: map[string]string{"wsgi.py": "raise RuntimeError('broken')\n"},
			want: App{File: "wsgi.py", Callable: "application"}, why: "finds no name bound"},
		{name: "explicit file, callable found", files: map[string]string{"site.py": "app = 1\n"}, app: "site.py",
			want: App{File: "site.py", Callable: "app"}, why: `--app site.py: importing its "app" callable (no "application")`},
		{name: "explicit file and callable", files: map[string]string{"site.py": "serve = 1\n"}, app: "site.py:serve",
			want: App{File: "site.py", Callable: "serve"}},
		{name: "explicit program app.py", files: map[string]string{"app.py": seedApp}, app: "app.py",
			err: []string{`--app "app.py": app.py defines no "application" or "app" (it binds virtenv) but starts its own server at module level (os.execvp, line 4): leave out --app`, "--app app.py:NAME"}},
		{name: "explicit module", app: "pkg.web", want: App{Module: "pkg.web", Callable: "application"}},
		{name: "explicit missing file", app: "missing.py", err: []string{`--app "missing.py": no such file`, "FILE.py"}},
		{name: "django project", files: map[string]string{"manage.py": djangoManage, "mysite/wsgi.py": djangoWSGI, "mysite/settings.py": ""},
			want: App{Module: "mysite.wsgi", Callable: "application", Env: []string{"DJANGO_SETTINGS_MODULE=mysite.settings"}},
			why:  "mysite/wsgi.py of the Django project in . (manage.py): importing mysite.wsgi:application; DJANGO_SETTINGS_MODULE defaults to mysite.settings"},
		{name: "django project in a directory", files: map[string]string{"src/manage.py": djangoManage, "src/mysite/wsgi.py": djangoWSGI, "README": ""},
			want: App{Module: "mysite.wsgi", Callable: "application", Env: []string{"DJANGO_SETTINGS_MODULE=mysite.settings"}, PythonPath: "src"},
			why:  "src/mysite/wsgi.py of the Django project in src (manage.py): importing mysite.wsgi:application, with src first on sys.path"},
		{name: "django project in OpenShift's wsgi/", files: map[string]string{"wsgi/manage.py": djangoManage, "wsgi/mysite/wsgi.py": djangoWSGI},
			want: App{Module: "mysite.wsgi", Callable: "application", Env: []string{"DJANGO_SETTINGS_MODULE=mysite.settings"}, PythonPath: "wsgi"}},
		{name: "django manage.py without settings", files: map[string]string{"manage.py": "import sys\n", "proj/wsgi.py": "application = 1\n"},
			want: App{Module: "proj.wsgi", Callable: "application"}},
		{name: "nothing there", files: map[string]string{"README": "", "manage.py": djangoManage},
			err: []string{"--app: no WSGI application found in ", " (looked for wsgi/application, wsgi.py, app.py, application.py, NAME/wsgi.py beside manage.py); accepted: --app FILE.py, FILE.py:callable or module:callable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tree(t, c.files)
			got, err := FindApp(dir, c.app)
			if c.err != nil {
				if !isInputError(err, "--app") {
					t.Fatalf("FindApp = %+v, %v; want an --app InputError", got, err)
				}
				for _, want := range c.err {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			for _, p := range []*string{&want.File, &want.PythonPath} {
				if *p != "" {
					*p = filepath.Join(dir, *p)
				}
			}
			why := got.Why
			got.Why = ""
			if got.String() != want.String() || got.Program != want.Program || got.PythonPath != want.PythonPath ||
				!slices.Equal(got.Env, want.Env) {
				t.Errorf("FindApp = %+v; want %+v", got, want)
			}
			if why == "" || !strings.Contains(why, c.why) {
				t.Errorf("why %q; want it to say %q", why, c.why)
			}
			if strings.Contains(why, "\n") {
				t.Errorf("why %q is more than one line", why)
			}
		})
	}
}

// resolveIn resolves settings for the application in dir.
func resolveIn(t *testing.T, dir string, with func(*Settings)) (Config, error) {
	t.Helper()
	in := Settings{Server: "auto", Chdir: dir, Host: "127.0.0.1", Port: 8123, Workers: 1, Threads: 1,
		ReadyPath: "/", StartTimeout: time.Second, StopTimeout: time.Second, Dir: t.TempDir(),
		Env: []string{"PATH=" + os.Getenv("PATH")}}
	if with != nil {
		with(&in)
	}
	return in.Resolve()
}

// TestResolveProgram: a program app.py runs as `PYTHON -u app.py`, binding
// the gear's address itself; --command replaces it and another --server is
// refused.
func TestResolveProgram(t *testing.T) {
	dir := tree(t, map[string]string{"app.py": seedApp, "app.sh": "exec gunicorn wsgi\n"})
	c, err := resolveIn(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != programServer || !c.App.Program {
		t.Fatalf("server %q program %v; want %q, a program", c.Server, c.App.Program, programServer)
	}
	if want := ": running it as a program with " + c.Python + " -u app.py"; !strings.HasSuffix(c.App.Why, want) {
		t.Errorf("why %q; want it to end %q", c.App.Why, want)
	}
	s, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != programServer || s.Path != c.Python || !slices.Equal(s.Args, []string{c.Python, "-u", "app.py"}) || s.Dir != dir {
		t.Errorf("spec %s runs %s %q in %s; want program: %s -u app.py in %s", s.Name, s.Path, s.Args, s.Dir, c.Python, dir)
	}
	if s.TakesFD || s.ProbeFD || s.Signals.Stop != syscall.SIGTERM || s.Signals.Reload != 0 {
		t.Errorf("spec takes fd %v, probe fd %v, signals %+v; want its own port, TERM and no reload", s.TakesFD, s.ProbeFD, s.Signals)
	}
	for _, kv := range []string{"OPENSHIFT_PYTHON_IP=127.0.0.1", "OPENSHIFT_PYTHON_PORT=8123", "GEARCTL_HOST=127.0.0.1", "GEARCTL_PORT=8123"} {
		k, v, _ := strings.Cut(kv, "=")
		if got := environ.Get(s.Env, k); got != v {
			t.Errorf("server env %s=%q; want %q", k, got, v)
		}
	}

	_, err = resolveIn(t, dir, func(in *Settings) { in.Server = "gunicorn" })
	if !isInputError(err, "--server") || !strings.Contains(err.Error(), "app.py starts its own server at module level") ||
		!strings.Contains(err.Error(), "--server auto") || strings.Contains(err.Error(), "\n") {
		t.Errorf("--server gunicorn with a program app.py: %v; want one line naming the program and --server auto", err)
	}

	c, err = resolveIn(t, dir, func(in *Settings) { in.Command = "gunicorn -b {host}:{port} wsgi" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "command" || c.App.Program || !strings.HasPrefix(c.App.Why, "--command given") {
		t.Errorf("with --command: server %q program %v why %q; want command", c.Server, c.App.Program, c.App.Why)
	}

	c, err = resolveIn(t, dir, func(in *Settings) { in.App = "wsgi.py"; writeTestFile(t, dir, "wsgi.py", "application = 1\n") })
	if err != nil {
		t.Fatal(err)
	}
	if c.Server == programServer || c.App.Program || c.App.Callable != "application" {
		t.Errorf("with --app wsgi.py: server %q app %+v; want it imported", c.Server, c.App)
	}
}

// TestResolveServerProgram: --server program runs app.py even where
// detection would import it or take wsgi.py first, and takes no --app.
func TestResolveServerProgram(t *testing.T) {
	dir := tree(t, map[string]string{"app.py": flaskApp, "wsgi.py": "application = None\n"})
	program := func(in *Settings) { in.Server = programServer }
	c, err := resolveIn(t, dir, program)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != programServer || !c.App.Program || c.App.File != filepath.Join(dir, "app.py") ||
		c.App.Why != "--server program given for app.py: running it as a program with "+c.Python+" -u app.py" {
		t.Errorf("server %q app %+v; want app.py run as a program", c.Server, c.App)
	}
	_, err = resolveIn(t, dir, func(in *Settings) { program(in); in.App = "wsgi.py" })
	if !isInputError(err, "--app") {
		t.Errorf("--server program --app wsgi.py: %v; want an --app InputError", err)
	}
	_, err = resolveIn(t, t.TempDir(), program)
	if !isInputError(err, "--server") || !strings.Contains(err.Error(), "no app.py in ") {
		t.Errorf("--server program without app.py: %v; want a --server InputError", err)
	}
}

func writeTestFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestResolveDjangoEnv: manage.py's DJANGO_SETTINGS_MODULE is a default the
// user's own setting overrides; a project below Chdir goes first on
// PYTHONPATH, before the user's.
func TestResolveDjangoEnv(t *testing.T) {
	dir := tree(t, map[string]string{"src/manage.py": djangoManage, "src/mysite/wsgi.py": djangoWSGI})
	c, err := resolveIn(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := environ.Get(c.Env, "DJANGO_SETTINGS_MODULE"); got != "mysite.settings" {
		t.Errorf("DJANGO_SETTINGS_MODULE=%q; want manage.py's mysite.settings", got)
	}
	if got := environ.Get(c.Env, "PYTHONPATH"); got != filepath.Join(dir, "src") {
		t.Errorf("PYTHONPATH=%q; want the project's directory", got)
	}
	c, err = resolveIn(t, dir, func(in *Settings) {
		in.Env = append(in.Env, "DJANGO_SETTINGS_MODULE=mysite.prod", "PYTHONPATH=/opt/lib")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := environ.Get(c.Env, "DJANGO_SETTINGS_MODULE"); got != "mysite.prod" {
		t.Errorf("DJANGO_SETTINGS_MODULE=%q; want the user's mysite.prod", got)
	}
	if got := environ.Get(c.Env, "PYTHONPATH"); got != filepath.Join(dir, "src")+":/opt/lib" {
		t.Errorf("PYTHONPATH=%q; want the project's directory, then the user's", got)
	}
}
