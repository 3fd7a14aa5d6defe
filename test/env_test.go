package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// envApp answers / with the variables its query names, one NAME=VALUE a
// line, and /status/CODE with that status.
const envApp = `import os

def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/status/"):
        code = path.rsplit("/", 1)[1]
        start_response(code + " Status", [("Content-Type", "text/plain")])
        return [code.encode()]
    names = environ.get("QUERY_STRING", "").split(",")
    body = "".join("%s=%s\n" % (n, os.environ.get(n, "")) for n in names if n)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
`

// TestEnvSticksAcrossRestarts: --env and --env-file are settings of the
// gear: a plain restart keeps them, a restart that names them changes
// them, an edited env file takes effect at the next restart, and status
// --json shows the names, never the values.
func TestEnvSticksAcrossRestarts(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, map[string]string{"wsgi.py": envApp})
	envFile := filepath.Join(b.app, "gear.env")
	writeFile(t, envFile, "# comment\n\nexport FROM_FILE='one'\nSECRET_KEY=s3cr3t-value\n")
	b.start("wsgiref", "--env", "GREETING=hello,world", "--env-file", "gear.env")
	query := "/?GREETING,FROM_FILE,SECRET_KEY"
	want := func(what, body string) {
		t.Helper()
		if got := mustGet(t, b.port, query); got != body {
			t.Errorf("%s: the application sees %q; want %q", what, got, body)
		}
	}
	want("after start", "GREETING=hello,world\nFROM_FILE=one\nSECRET_KEY=s3cr3t-value\n")

	b.restart("wsgiref")
	want("after a plain restart", "GREETING=hello,world\nFROM_FILE=one\nSECRET_KEY=s3cr3t-value\n")

	writeFile(t, envFile, "FROM_FILE=two\n")
	b.restart("wsgiref", "--env", "GREETING=bye")
	want("after restart --env GREETING=bye and an edited file", "GREETING=bye\nFROM_FILE=two\nSECRET_KEY=\n")

	r := b.do("status", "--json").want(t, 0)
	if strings.Contains(r.stdout, "bye") {
		t.Errorf("status --json shows an --env value:\n%s", r.stdout)
	}
	st, _ := b.status()
	if got, _ := st.Settings["env"].([]any); len(got) != 1 || got[0] != "GREETING" {
		t.Errorf("status --json settings env = %v; want the names only: [GREETING]", st.Settings["env"])
	}
	for _, pid := range append([]int{st.SupervisorPID}, st.PID) {
		if cmd := cmdline(pid); strings.Contains(cmd, "bye") {
			t.Errorf("pid %d shows an --env value in its command line, which every user can read: %s", pid, cmd)
		}
	}
	b.stop()
}

// TestEnvBadInput: a bad --env, --env-file or --ready-status is refused
// with one line and exit 2, and the running gear is untouched.
func TestEnvBadInput(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, map[string]string{"wsgi.py": envApp, "bad.env": "GOOD=1\nthis line is no assignment\n"})
	pid, _ := b.start("wsgiref")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--env", "NOEQUALS"}, `--env "NOEQUALS": no '=' in "NOEQUALS"; accepted: KEY=VALUE`},
		{[]string{"--env", "1BAD=x"}, `--env "1BAD=x": "1BAD" is not a variable name`},
		{[]string{"--env-file", "bad.env"}, `bad.env": line 2: no '='`},
		{[]string{"--env-file", "missing.env"}, `--env-file ".*missing.env": open .*: no such file or directory; accepted: a file of KEY=VALUE lines`},
		{[]string{"--ready-status", "99-600"}, `--ready-status "99-600": not a range of HTTP statuses; accepted: LO-HI within 100-599`},
		{[]string{"--ready-status", "400-200"}, `--ready-status "400-200": not a range`},
		{[]string{"--ready-status", "ok"}, `--ready-status "ok": not a range`},
	} {
		for _, verb := range []string{"restart", "start"} {
			r := b.do(append([]string{verb}, c.args...)...)
			if verb == "start" && r.code == 0 {
				continue // a running gear's start checks nothing it does not start
			}
			r.want(t, 2)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 {
				t.Errorf("%s %v: %d lines on stderr; want one:\n%s", verb, c.args, len(lines), r.stderr)
			}
			r.hasStderr(t, c.want)
		}
	}
	if st := b.ready("wsgiref"); st.PID != pid {
		t.Errorf("bad input changed the running server: pid %d, was %d", st.PID, pid)
	}
	b.stop()
}

// TestReadyStatus: a 4xx counts as ready by default, and start and restart
// say what the probe got, with a warning naming the likely cause;
// --ready-status 200-399 does not count it.
func TestReadyStatus(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, map[string]string{"wsgi.py": envApp})
	r := b.do("start", "--server", "wsgiref", "--port", strconv.Itoa(b.port), "--ready-path", "/status/400").want(t, 0)
	r.has(t, `ready on .*, GET /status/400 answered 400 Bad Request \(supervisor pid \d+\)$`)
	r.hasStderr(t, `^gearctl: warning: .*400 Bad Request: with Django this is usually ALLOWED_HOSTS`)

	r = b.do("restart", "--ready-path", "/status/404").want(t, 0)
	r.has(t, `GET /status/404 answered 404 Not Found; `)
	r.hasStderr(t, `^gearctl: warning: .*404 Not Found: set --ready-path to a page it serves`)

	st, _ := b.status()
	r = b.do("restart", "--ready-status", "200-399", "--start-timeout", "2s").want(t, 1)
	r.hasStderr(t, `GET /status/404: 404 Not Found \(ready means 200-399\)`)
	if now := b.ready("wsgiref"); now.PID != st.PID {
		t.Errorf("a restart that did not get ready replaced pid %d with %d", st.PID, now.PID)
	}
	b.do("restart", "--ready-path", "/", "--ready-status", "200-399").want(t, 0).has(t, `GET / answered 200 OK; `)
	b.stop()
}

// TestControlEnvDirs: `control` run by hand loads the gear's OpenShift env
// directories — .env/, the cartridge's env/, .env/user_vars/, later ones
// winning — and a variable set by the caller wins over all of them.
func TestControlEnvDirs(t *testing.T) {
	t.Parallel()
	s := newSimGear(t, "wsgiref", map[string]string{"wsgi.py": envApp})
	home := filepath.Join(s.base, "home")
	files := map[string]string{
		".env/GREETING":             "from .env\n",
		".env/FROM_GEAR":            "export FROM_GEAR='gear'\n",
		".env/user_vars/GREETING":   "from user_vars\n",
		".env/OPENSHIFT_APP.erb":    "<%= not rendered %>",
		".env/user_vars/CALLER_SET": "from user_vars\n",
	}
	files[filepath.Join(s.pyDir, "env", "FROM_CARTRIDGE")] = "cartridge\n"
	for name, content := range files {
		path := filepath.Join(home, name)
		if filepath.IsAbs(name) {
			path = name
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, content)
	}
	env := []string{"OPENSHIFT_HOMEDIR=" + home + "/", "CALLER_SET=caller"}
	s.ctl(env, "start").want(t, 0)
	got := mustGet(t, s.port, "/?GREETING,FROM_GEAR,FROM_CARTRIDGE,CALLER_SET,OPENSHIFT_APP")
	want := "GREETING=from user_vars\nFROM_GEAR=gear\nFROM_CARTRIDGE=cartridge\nCALLER_SET=caller\nOPENSHIFT_APP=\n"
	if got != want {
		t.Errorf("the application sees\n%s\nwant\n%s", got, want)
	}
	s.ctl(env, "stop").want(t, 0)
	s.assertStopped()
}

// TestShellInterpreter: without a virtualenv, `python3` in gearctl shell is
// the interpreter the application runs on (Debian's), not the first
// python3 on the caller's PATH (pyenv's on these machines).
func TestShellInterpreter(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(debianPython); err != nil {
		need(t, debianPython+" (Debian: python3)", err)
	}
	dir := appDir(t, nil)
	g := startGear(t, dir, 0, nil, gearctlBin, "--dir", filepath.Join(tempDir(t), "gear"), "shell", "--",
		"python3", "-c", "import os, sys; print(os.path.realpath(sys.executable))")
	if code := g.wait(); code != 0 {
		t.Fatalf("shell exited %d", code)
	}
	want, _ := filepath.EvalSymlinks(debianPython)
	if got := strings.TrimSpace(g.stdout.text()); got != want {
		t.Errorf("python3 in gearctl shell is %s; want %s, the application's interpreter", got, want)
	}
}
