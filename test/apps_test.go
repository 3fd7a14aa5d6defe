package test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The matrix: real applications, each in a virtualenv of its own with a
// package found nowhere else, under every server. Each cell starts the
// application, asks for a page that proves the virtualenv's package was
// imported and for a static file, swaps to the next server under load, and
// stops with nothing left.

// matrixServers are the servers of the matrix, in swap order: each cell
// swaps from its server to the next one.
var matrixServers = []string{"gunicorn", "uwsgi", "wsgiref", "mod_wsgi-express", "apache"}

// takesSocket are the servers that take over the listening socket, so
// that a swap between two of them refuses nothing.
var takesSocket = map[string]bool{"gunicorn": true, "uwsgi": true, "wsgiref": true}

// debianPython is the interpreter Debian's servers and python3-* packages
// are built for.
const debianPython = "/usr/bin/python3"

// matrixApp is one application of the matrix, made once per test binary.
type matrixApp struct {
	name string
	// dir is the application directory, venv its virtualenv (for the
	// built app: made by `control build`, per cell).
	dir, venv string
	// page is asked for and must answer 200 with want in its body; static
	// a static file that must answer 200 with staticType.
	page, want         string
	static, staticType string
	// args are start's extra flags.
	args []string
}

// wheelhouse holds wheels the tests make, for offline pip installs: the
// matrix's own package and mod_wsgi built from the vendored source.
var wheelhouse struct {
	once sync.Once
	dir  string
	err  error
}

// vendoredModWSGI is the mod_wsgi source in shared/vendor beside the
// repository.
func vendoredModWSGI() (string, error) {
	m, _ := filepath.Glob(filepath.Join("..", "..", "shared", "vendor", "mod_wsgi-*.tar.gz"))
	if len(m) == 0 {
		return "", fmt.Errorf("no mod_wsgi-*.tar.gz in ../../shared/vendor")
	}
	return filepath.Abs(m[len(m)-1])
}

// makeWheelhouse builds, once, the wheels of matrixpkg (a package of the
// tests' own that no index has) and of mod_wsgi, which gives
// mod_wsgi-express.
func makeWheelhouse(t *testing.T) string {
	t.Helper()
	wheelhouse.once.Do(func() {
		dir := filepath.Join(scratch, "wheelhouse")
		pkg := filepath.Join(scratch, "matrixpkg-src")
		wheelhouse.dir = dir
		if wheelhouse.err = os.MkdirAll(filepath.Join(pkg, "matrixpkg"), 0o755); wheelhouse.err != nil {
			return
		}
		os.WriteFile(filepath.Join(pkg, "backend.py"), []byte(strings.ReplaceAll(inTreeBackend, `"hellopkg"`, `"matrixpkg"`)), 0o644)
		os.WriteFile(filepath.Join(pkg, "pyproject.toml"), []byte(inTreePyproject), 0o644)
		os.WriteFile(filepath.Join(pkg, "matrixpkg", "__init__.py"), []byte("GREETING = 'matrixpkg says hello'\n"), 0o644)
		src, err := vendoredModWSGI()
		if err != nil {
			wheelhouse.err = err
			return
		}
		for _, what := range []string{pkg, src} {
			cmd := exec.Command(debianPython, "-m", "pip", "wheel", "--no-index", "--no-deps", "--no-build-isolation", "-q", "-w", dir, what)
			if out, err := cmd.CombinedOutput(); err != nil {
				wheelhouse.err = fmt.Errorf("pip wheel %s: %v: %s", what, err, bytes.TrimSpace(out))
				return
			}
		}
	})
	need(t, "the wheels of the matrix (Debian: python3-pip python3-wheel python3-setuptools python3-dev apache2-dev, and shared/vendor)", wheelhouse.err)
	return wheelhouse.dir
}

// matrixVenv is a virtualenv of Debian's Python that sees its packages
// (Django, Flask, gunicorn) and holds matrixpkg and mod_wsgi, made once.
var matrixVenv struct {
	once sync.Once
	dir  string
	err  error
}

func makeMatrixVenv(t *testing.T) string {
	t.Helper()
	wh := makeWheelhouse(t)
	matrixVenv.once.Do(func() {
		dir := filepath.Join(scratch, "matrix-venv")
		for _, argv := range [][]string{
			{debianPython, "-m", "venv", "--system-site-packages", dir},
			{filepath.Join(dir, "bin", "pip"), "install", "-q", "--no-index", "--find-links", wh, "matrixpkg", "mod_wsgi"},
		} {
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				matrixVenv.err = fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
				return
			}
		}
		matrixVenv.dir = dir
	})
	need(t, "a virtualenv of "+debianPython+" with pip (Debian: python3-venv)", matrixVenv.err)
	return matrixVenv.dir
}

// matrixApps are the applications, made once each.
var matrixApps struct {
	once         sync.Once
	django, flsk matrixApp
	err          error
}

const djangoView = `
from django.http import HttpResponse
import django, matrixpkg, sys

def hello(request):
    return HttpResponse("%s; django %s; python %s" % (matrixpkg.GREETING, django.get_version(), sys.prefix))
`

const flaskApp = `import sys
from flask import Flask
import matrixpkg

# gearctl serves /static (--static), not Flask.
app = Flask(__name__, static_folder=None)


@app.route("/")
def hello():
    return "%s; flask; python %s" % (matrixpkg.GREETING, sys.prefix)


if __name__ == "__main__":
    app.run()
`

func makeMatrixApps(t *testing.T) (django, flask matrixApp) {
	t.Helper()
	venv := makeMatrixVenv(t)
	matrixApps.once.Do(func() {
		matrixApps.django, matrixApps.err = makeDjango(venv)
		if matrixApps.err != nil {
			return
		}
		dir := filepath.Join(scratch, "flask-app")
		os.MkdirAll(filepath.Join(dir, "static"), 0o755)
		os.WriteFile(filepath.Join(dir, "app.py"), []byte(flaskApp), 0o644)
		os.WriteFile(filepath.Join(dir, "static", "style.css"), []byte("body { color: teal }\n"), 0o644)
		matrixApps.flsk = matrixApp{name: "flask", dir: dir, venv: venv, page: "/", want: "matrixpkg says hello; flask; python " + venv,
			static: "/static/style.css", staticType: "text/css", args: []string{"--static", "/static=static"}}
	})
	need(t, "a Django project (Debian: python3-django)", matrixApps.err)
	return matrixApps.django, matrixApps.flsk
}

// makeDjango runs django-admin startproject, adds a view, lets the probe's
// host in, and collects the admin's static files into wsgi/static, which
// gearctl serves at /static by default (OpenShift's layout).
func makeDjango(venv string) (matrixApp, error) {
	dir := filepath.Join(scratch, "django-app")
	python := filepath.Join(venv, "bin", "python")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return matrixApp{}, err
	}
	if out, err := exec.Command(python, "-m", "django", "startproject", "mysite", dir).CombinedOutput(); err != nil {
		return matrixApp{}, fmt.Errorf("django startproject: %v: %s", err, bytes.TrimSpace(out))
	}
	settings := filepath.Join(dir, "mysite", "settings.py")
	b, err := os.ReadFile(settings)
	if err != nil {
		return matrixApp{}, err
	}
	s := strings.Replace(string(b), "DEBUG = True", "DEBUG = False", 1)
	s = strings.Replace(s, "ALLOWED_HOSTS = []", "ALLOWED_HOSTS = ['127.0.0.1', 'localhost']", 1)
	s += "\nSTATIC_ROOT = BASE_DIR / 'wsgi' / 'static'\n"
	os.WriteFile(settings, []byte(s), 0o644)
	os.WriteFile(filepath.Join(dir, "mysite", "views.py"), []byte(djangoView), 0o644)
	urls := filepath.Join(dir, "mysite", "urls.py")
	b, _ = os.ReadFile(urls)
	u := strings.Replace(string(b), "from django.urls import path", "from django.urls import path\nfrom mysite.views import hello", 1)
	u = strings.Replace(u, "urlpatterns = [", "urlpatterns = [\n    path('', hello),", 1)
	os.WriteFile(urls, []byte(u), 0o644)
	cmd := exec.Command(python, "manage.py", "collectstatic", "--noinput", "-v", "0")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return matrixApp{}, fmt.Errorf("collectstatic: %v: %s", err, bytes.TrimSpace(out))
	}
	return matrixApp{name: "django", dir: dir, venv: venv, page: "/", want: "matrixpkg says hello; django ",
		static: "/static/admin/css/base.css", staticType: "text/css"}, nil
}

// TestAppMatrix runs the matrix: Django and Flask in their virtualenv, and
// an application whose virtualenv `control build` makes from a
// requirements.txt installed offline, under every server.
func TestAppMatrix(t *testing.T) {
	t.Parallel()
	django, flask := makeMatrixApps(t)
	for i, server := range matrixServers {
		next := matrixServers[(i+1)%len(matrixServers)]
		for _, app := range []matrixApp{django, flask} {
			t.Run(app.name+"/"+server, func(t *testing.T) {
				t.Parallel()
				b := newBGGear(t, nil)
				// Cells of one application run at once: each gear a name.
				b.app, b.env = app.dir, []string{"GEARCTL_NAME=" + app.name + "-" + server}
				args := append([]string{"--python", app.venv}, app.args...)
				b.start(server, args...)
				matrixCell(t, b, app, server, next)
			})
		}
		t.Run("build/"+server, func(t *testing.T) {
			t.Parallel()
			builtCell(t, server, next)
		})
	}
}

// matrixCell checks a started gear: its page and static file, a swap to
// next under load, the page again, and a stop that leaves nothing.
func matrixCell(t *testing.T, b *bgGear, app matrixApp, server, next string) {
	t.Helper()
	st := b.ready(server)
	checkPages(t, b.port, app)
	if !strings.Contains(st.Interpreter, app.venv) {
		t.Errorf("status names the interpreter %q; want the virtualenv %s", st.Interpreter, app.venv)
	}
	l := startLoad(t, b.port, 2)
	l.advance(t, 20)
	b.restart(next, "--server", next)
	l.advance(t, 20)
	swapLoad(t, l, server, next)
	checkPages(t, b.port, app)
	b.stop()
}

// checkPages asks for the application's page and its static file.
func checkPages(t *testing.T, port int, app matrixApp) {
	t.Helper()
	if body := mustGet(t, port, app.page); !strings.Contains(body, app.want) {
		t.Errorf("GET %s: %q; want it to contain %q", app.page, body, app.want)
	}
	resp, err := http.Get("http://" + addr(port) + app.static)
	if err != nil {
		t.Fatalf("GET %s: %v", app.static, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), app.staticType) {
		t.Errorf("GET %s: %d %q; want 200 %s", app.static, resp.StatusCode, resp.Header.Get("Content-Type"), app.staticType)
	}
}

// builtApp is a cartridge application that declares its dependencies: a
// requirements.txt naming matrixpkg and mod_wsgi, found only in the
// wheelhouse.
const builtWSGI = `import sys
import matrixpkg

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s; built; python %s" % (matrixpkg.GREETING, sys.prefix)).encode()]
`

// builtCell is a simulated OpenShift gear: `control build` makes the
// virtualenv and installs requirements.txt offline (pip's own variables
// point it at the wheelhouse), then the cell runs on control start.
func builtCell(t *testing.T, server, next string) {
	wh := makeWheelhouse(t)
	s := newSimGear(t, server, map[string]string{
		"wsgi.py":              builtWSGI,
		"requirements.txt":     "matrixpkg\nmod_wsgi\n",
		"wsgi/static/site.css": "h1 { color: navy }\n",
	})
	pip := []string{"PIP_NO_INDEX=1", "PIP_FIND_LINKS=" + wh}
	s.ctl(pip, "build").want(t, 0)
	venv := filepath.Join(s.pyDir, "virtenv")
	r := s.ctl(nil, "start")
	r.want(t, 0)
	app := matrixApp{name: "build", page: "/", want: "matrixpkg says hello; built; python " + venv,
		static: "/static/site.css", staticType: "text/css"}
	checkPages(t, s.port, app)
	l := startLoad(t, s.port, 2)
	l.advance(t, 20)
	s.ctl([]string{"OPENSHIFT_PYTHON_SERVER=" + next}, "restart").want(t, 0)
	l.advance(t, 20)
	swapLoad(t, l, server, next)
	checkPages(t, s.port, app)
	s.ctl(nil, "stop").want(t, 0)
	s.assertStopped()
}

// swapLoad ends the load of a swap from server to next and judges it:
// between two servers that take the listening socket nothing may fail,
// except that a swap away from uWSGI may see a connection reset: uWSGI's
// graceful worker stop exits a worker that has accepted a connection but
// not yet marked itself in a request (gracefully_kill in its core), which
// no supervisor can prevent. A refusal or an error answer is still a
// failure there. Other pairs stop the old server first and are only
// counted.
func swapLoad(t *testing.T, l *load, server, next string) {
	t.Helper()
	switch {
	case !takesSocket[server] || !takesSocket[next]:
		l.end()
		t.Logf("swap %s -> %s: %d requests failed (one of them binds its own port: the old one stops first)", server, next, l.failures)
	case server == "uwsgi":
		l.end()
		if l.failures > l.resets {
			t.Errorf("swap %s -> %s: %d requests failed, %d of them resets by uWSGI; first: %s",
				server, next, l.failures, l.resets, strings.Join(l.first, "; "))
		}
		t.Logf("swap %s -> %s: %d answered, %d reset by uWSGI's graceful stop", server, next, l.ok.Load(), l.resets)
	default:
		l.finish(t)
	}
}
