package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/internal/testenv"
)

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseStatic(t *testing.T) {
	chdir := t.TempDir()
	mkdirs(t, chdir, "assets", "wsgi/static", "deep/er")
	if err := os.Symlink(filepath.Join(chdir, "deep", "er"), filepath.Join(chdir, "linked")); err != nil {
		t.Fatal(err)
	}
	putFile(t, filepath.Join(chdir, "file.txt"), "x")
	real, err := filepath.EvalSymlinks(chdir) // t.TempDir may itself sit below a symlink
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   []string
		want []Static
	}{
		{nil, []Static{{"/static", filepath.Join(real, "wsgi", "static")}}},
		{[]string{"/s=assets"}, []Static{{"/s", filepath.Join(real, "assets")}}},
		{[]string{"/s/=assets"}, []Static{{"/s", filepath.Join(real, "assets")}}},
		{[]string{"/media/v1.2_x~y-z=" + filepath.Join(chdir, "assets")}, []Static{{"/media/v1.2_x~y-z", filepath.Join(real, "assets")}}},
		{[]string{"/l=linked", "/a=./assets/"}, []Static{{"/l", filepath.Join(real, "deep", "er")}, {"/a", filepath.Join(real, "assets")}}},
		// The default is for when nothing is given.
		{[]string{"/assets=assets"}, []Static{{"/assets", filepath.Join(real, "assets")}}},
	} {
		got, err := parseStatic(chdir, tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseStatic(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if got, err := parseStatic(t.TempDir(), nil); got != nil || err != nil {
		t.Errorf("parseStatic without wsgi/static = %v, %v; want nothing", got, err)
	}

	for _, tc := range []struct{ in, msg string }{
		{"/s=nodir", "no such directory " + filepath.Join(chdir, "nodir")},
		{"/s=file.txt", "is not a directory"},
		{"/s", "not URL=DIR"},
		{"/s=", "not URL=DIR"},
		{"s=assets", "does not start with /"},
		{"=assets", "does not start with /"},
		{"/=assets", "would hide the whole application"},
		{"/s/../x=assets", ".. segment"},
		{"/s//x=assets", "empty"},
		{"/s/./x=assets", "segment"},
		{"/st atic=assets", "character ' '"},
		{`/s"x=assets`, "character"},
		{"/s%2e=assets", "character '%'"},
		{"/s$x=assets", "character '$'"},
		{"/s\\x=assets", "character"},
		{"/stätic=assets", "character"},
	} {
		_, err := parseStatic(chdir, []string{tc.in})
		var ie *InputError
		if !errors.As(err, &ie) || ie.Flag != "--static" || !strings.Contains(ie.Msg, tc.msg) ||
			!strings.HasPrefix(ie.Accepted, "URL=DIR, DIR an existing directory") {
			t.Errorf("parseStatic(%q) error %v; want an --static InputError saying %q", tc.in, err, tc.msg)
		}
	}
	_, err = parseStatic(chdir, []string{"/s=assets", "/s/=wsgi/static"})
	if err == nil || !strings.Contains(err.Error(), "/s is given twice") {
		t.Errorf("a URL given twice: %v", err)
	}
	want := `--static "/s=nodir": no such directory ` + filepath.Join(chdir, "nodir") + "; accepted: URL=DIR, DIR an existing directory"
	if _, err := parseStatic(chdir, []string{"/s=nodir"}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q; want it to start %q", err, want)
	}
}

func putFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// staticConfig is a test config for server serving chdir/assets at /static
// (and /static/admin from chdir/admin).
func staticConfig(t *testing.T, server string) Config {
	t.Helper()
	c := testConfig(t, server)
	mkdirs(t, c.Chdir, "assets", "admin")
	var err error
	if c.Static, err = parseStatic(c.Chdir, []string{"/static=assets", "/static/admin=admin"}); err != nil {
		t.Fatal(err)
	}
	return c
}

func specOf(t *testing.T, c Config) control.Spec {
	t.Helper()
	s, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Servers that cannot serve files get the shim, whose application is the
// static wrapper around the user's.
func TestStaticShim(t *testing.T) {
	c := staticConfig(t, "gunicorn")
	c.Venv = fakeVenv(t, "gunicorn")
	s := specOf(t, c)
	if last := s.Args[len(s.Args)-1]; last != "gearctl_wsgi:application" {
		t.Errorf("gunicorn's app argument %s; want the shim's, for a wsgi.py it could import by name", last)
	}
	shim := s.Files[shimPath(c.Dir)]
	want := `application = static(load_file("` + c.App.File + `", "application"), [("/static", "` + c.Static[0].Dir + `"), ("/static/admin", "` + c.Static[1].Dir + `")])`
	if !strings.Contains(shim, want) || !strings.Contains(shim, "def static(app, mounts):") {
		t.Errorf("shim lacks %s and the wrapper:\n%s", want, shim)
	}
	c.App = App{Module: "pkg.web", Callable: "app"}
	if shim := specOf(t, c).Files[shimPath(c.Dir)]; !strings.Contains(shim, `static(load_module("pkg.web", "app"), [`) {
		t.Errorf("shim for a module:\n%s", shim)
	}

	c = staticConfig(t, "wsgiref")
	argv := strings.Join(specOf(t, c).Args, " ")
	if want := " --static /static=" + c.Static[0].Dir + " --static /static/admin=" + c.Static[1].Dir; !strings.Contains(argv, want) {
		t.Errorf("wsgiref argv %q lacks %q", argv, want)
	}
}

func TestStaticUWSGI(t *testing.T) {
	c := staticConfig(t, "uwsgi")
	c.Venv = fakeVenv(t, "uwsgi")
	s := specOf(t, c)
	argv := strings.Join(s.Args, " ")
	for _, want := range []string{
		"--static-map /static=" + c.Static[0].Dir + " --static-map /static/admin=" + c.Static[1].Dir,
		`--route \x00 break:404 Not Found`,
		"--wsgi-file " + shimPath(c.Dir) + " --callable application",
	} {
		if !strings.Contains(argv, want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	if !strings.Contains(s.Files[shimPath(c.Dir)], "application = static(") {
		t.Errorf("no wrapping shim behind uWSGI's own static files")
	}

	// A sibling named like the directory: uWSGI's own check would let a
	// symlink reach it, so the wrapper alone serves that directory.
	mkdirs(t, c.Chdir, "assets-private")
	argv = strings.Join(specOf(t, c).Args, " ")
	if strings.Contains(argv, "/static="+c.Static[0].Dir) || !strings.Contains(argv, "--static-map /static/admin=") {
		t.Errorf("with assets-private beside assets, argv %q; want only /static/admin mapped", argv)
	}
}

func TestStaticModWSGIExpress(t *testing.T) {
	c := staticConfig(t, "mod_wsgi-express")
	c.Port = 8085
	s := control.Spec{Files: map[string]string{}}
	args, err := modWSGIExpressStaticArgs(c, &s)
	if err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(c.Dir, "mod_wsgi-express-static-8085.conf")
	want := []string{"--url-alias", "/static", c.Static[0].Dir, "--url-alias", "/static/admin", c.Static[1].Dir, "--include-file", inc}
	if !slices.Equal(args, want) {
		t.Errorf("args %q; want %q", args, want)
	}
	conf := s.Files[inc]
	for _, want := range []string{`<Directory "` + c.Static[0].Dir + `">`, "Options None", "Redirect 404", "DirectoryIndex disabled"} {
		if !strings.Contains(conf, want) {
			t.Errorf("included file lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "Alias ") || strings.Contains(conf, "LoadModule") {
		t.Errorf("included file repeats what mod_wsgi-express writes itself:\n%s", conf)
	}
	c.Static = nil
	if args, err := modWSGIExpressStaticArgs(c, &s); args != nil || err != nil {
		t.Errorf("without --static: %q, %v", args, err)
	}
}

// gearctl's Apache configuration with --static passes Apache's own check.
func TestStaticApacheConfig(t *testing.T) {
	t.Parallel()
	c := staticConfig(t, "apache")
	if !Installed("apache", c) {
		testenv.Need(t, "apache2 with mod_wsgi (Debian: apache2 libapache2-mod-wsgi-py3)", ErrNotInstalled)
	}
	c.Port = 8086
	s := specOf(t, c)
	path := filepath.Join(c.Dir, "apache-8086", "httpd.conf")
	conf := s.Files[path]
	for _, want := range []string{`Alias "/static" "` + c.Static[0].Dir + `"`, `Alias "/static/admin"`, "LoadModule alias_module", "TypesConfig", "Options None", "Redirect 405"} {
		if !strings.Contains(conf, want) {
			t.Errorf("httpd.conf lacks %q", want)
		}
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(s.Path, "-t", "-f", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Errorf("apache2 -t: %v\n%s\n%s", err, out, conf)
	}
}

// wrapperCase is one request to the static wrapper and what it must answer.
type wrapperCase struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"` // PATH_INFO, decoded as servers give it
	Raw     string            `json:"raw"`  // REQUEST_URI, "" for none
	Headers map[string]string `json:"headers"`

	status string
	body   string // "" for an empty body
}

type wrapperAnswer struct {
	Status  string            `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Wrapped bool              `json:"wrapped"` // through wsgi.file_wrapper
}

// wrapperHarness runs the static wrapper of the loader section on requests
// read as JSON from stdin, in front of an application that answers "app".
const wrapperHarness = `
import json

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]

class FileWrapper:
    def __init__(self, f, size):
        self.f = f
    def __iter__(self):
        with self.f:
            yield self.f.read()

serve = static(app, [(sys.argv[1], sys.argv[2])])
out = []
for case in json.load(sys.stdin):
    environ = {"REQUEST_METHOD": case["method"], "PATH_INFO": case["path"],
               "wsgi.file_wrapper": FileWrapper}
    if case["raw"]:
        environ["REQUEST_URI"] = case["raw"]
    for k, v in (case["headers"] or {}).items():
        environ["HTTP_" + k.upper().replace("-", "_")] = v
    got = {}
    def start_response(status, headers):
        got["status"], got["headers"] = status, dict(headers)
    body = serve(environ, start_response)
    got["wrapped"] = isinstance(body, FileWrapper)
    got["body"] = b"".join(body).decode("latin-1")
    out.append(got)
print(json.dumps(out))
`

func TestStaticWrapper(t *testing.T) {
	py, err := exec.LookPath("python3")
	testenv.Need(t, "python3", err)
	root := t.TempDir()
	mkdirs(t, root, "app/static/sub", "app/static-private")
	putFile(t, filepath.Join(root, "app", "wsgi.py"), "SECRET wsgi")
	putFile(t, filepath.Join(root, "app", "static-private", "key"), "SECRET key")
	putFile(t, filepath.Join(root, "app", "static", "site.css"), "body{}")
	putFile(t, filepath.Join(root, "app", "static", "x.unknownext"), "raw")
	for link, target := range map[string]string{"out.css": "../wsgi.py", "peek": "../static-private/key", "up": "..", "in.css": "site.css"} {
		if err := os.Symlink(target, filepath.Join(root, "app", "static", link)); err != nil {
			t.Fatal(err)
		}
	}
	mtime := "Thu, 01 Jan 2026 00:00:00 GMT"
	st, err := os.Stat(filepath.Join(root, "app", "static", "site.css"))
	if err != nil {
		t.Fatal(err)
	}
	etag := fmt.Sprintf(`"6-%x"`, st.ModTime().UnixNano()/1000)
	newer := st.ModTime().UTC().Add(1e9).Format("Mon, 02 Jan 2006 15:04:05 GMT")

	get := func(path string) wrapperCase { return wrapperCase{Method: "GET", Path: path, Raw: path} }
	with := func(c wrapperCase, f func(*wrapperCase)) wrapperCase { f(&c); return c }
	cases := []wrapperCase{
		with(get("/static/site.css"), func(c *wrapperCase) { c.status, c.body = "200 OK", "body{}" }),
		with(get("/static/in.css"), func(c *wrapperCase) { c.status, c.body = "200 OK", "body{}" }),
		get("/static//sub/../site.css"),
		with(get("/static/site.css"), func(c *wrapperCase) { c.Method, c.status = "HEAD", "200 OK" }),
		with(get("/static/site.css"), func(c *wrapperCase) {
			c.Method, c.status, c.body = "POST", "405 Method Not Allowed", "Method Not Allowed\n"
		}),
		with(get("/static/site.css"), func(c *wrapperCase) {
			c.Headers, c.status = map[string]string{"If-None-Match": `"zz", W/` + etag}, "304 Not Modified"
		}),
		with(get("/static/site.css"), func(c *wrapperCase) {
			c.Headers, c.status, c.body = map[string]string{"If-None-Match": `"zz"`, "If-Modified-Since": newer}, "200 OK", "body{}"
		}),
		with(get("/static/site.css"), func(c *wrapperCase) {
			c.Headers, c.status = map[string]string{"If-Modified-Since": newer}, "304 Not Modified"
		}),
		with(get("/static/site.css"), func(c *wrapperCase) {
			c.Headers, c.status, c.body = map[string]string{"If-Modified-Since": mtime}, "200 OK", "body{}"
		}),
		with(get("/static/x.unknownext"), func(c *wrapperCase) { c.status, c.body = "200 OK", "raw" }),
		// Ways out, each 404.
		get("/static/../wsgi.py"),
		with(get("/static/../wsgi.py"), func(c *wrapperCase) { c.Raw = "/static/%2e%2e/wsgi.py" }),
		with(get("/wsgi.py"), func(c *wrapperCase) { c.Raw = "/static/../wsgi.py" }), // PATH_INFO without dot segments (uWSGI)
		with(get("/static/../wsgi.py"), func(c *wrapperCase) { c.Raw = "/static/%2e%2e%2fwsgi.py" }),
		with(get("/static/a/b.css"), func(c *wrapperCase) { c.Raw = "/static/a%2Fb.css" }),
		get(`/static/..\wsgi.py`),
		get("/static/site.css\x00"),
		get("/static/out.css"),
		get("/static/peek"),
		get("/static/up/wsgi.py"),
		get("/static/sub"),
		get("/static/sub/"),
		get("/static"),
		get("/static/nope.css"),
		with(get("/static/nope.css"), func(c *wrapperCase) { c.Raw = "" }), // no REQUEST_URI
		// Not under the prefix: the application's.
		with(get("/staticx"), func(c *wrapperCase) { c.status, c.body = "200 OK", "app" }),
		with(get("/"), func(c *wrapperCase) { c.status, c.body = "200 OK", "app" }),
	}
	for i := range cases {
		if cases[i].status == "" {
			cases[i].status = "404 Not Found"
			if cases[i].Method != "HEAD" {
				cases[i].body = "Not Found\n"
			}
		}
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command(py, "-c", loaderSource+wrapperHarness, "/static", filepath.Join(root, "app", "static"))
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	var answers []wrapperAnswer
	if err := json.Unmarshal(out, &answers); err != nil {
		t.Fatalf("harness output %q: %v", out, err)
	}
	for i, c := range cases {
		a := answers[i]
		if a.Status != c.status || a.Body != c.body || strings.Contains(a.Body, "SECRET") {
			t.Errorf("%s %q (sent as %q) %v: %s %q; want %s %q", c.Method, c.Path, c.Raw, c.Headers, a.Status, a.Body, c.status, c.body)
		}
		if a.Status != "200 OK" || c.Path == "/" || c.Path == "/staticx" {
			continue
		}
		if c.Method == "GET" && !a.Wrapped {
			t.Errorf("%s: body not sent through wsgi.file_wrapper", c.Path)
		}
		want := map[string]string{"Content-Length": "6", "ETag": etag, "Content-Type": "text/css"}
		if c.Path == "/static/x.unknownext" {
			want = map[string]string{"Content-Length": "3", "Content-Type": "application/octet-stream"}
		}
		for k, v := range want {
			if a.Headers[k] != v {
				t.Errorf("%s %s: %s %q; want %q", c.Method, c.Path, k, a.Headers[k], v)
			}
		}
		if a.Headers["Last-Modified"] != st.ModTime().UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") {
			t.Errorf("%s: Last-Modified %q; want the file's mtime", c.Path, a.Headers["Last-Modified"])
		}
	}
}
