package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestControlLifecycle drives a simulated gear through the symlink named
// control, as OpenShift's node would: start → status 0 → restart → status
// 0 → reload → tidy → stop → status 3, each action's hooks in order, no-ops
// that run no hook, and the gear's directories where the variables say.
func TestControlLifecycle(t *testing.T) {
	t.Parallel()
	server := serverFor()
	s := newSimGear(t, server, nil)
	// deploy must not run: start's background supervisor is a `run`, which
	// runs the deploy hook only when it is not start's.
	s.recordingHooks("pre_start", "post_start", "pre_stop", "post_stop", "pre_restart", "post_restart",
		"pre_reload", "post_reload", "pre_tidy", "post_tidy", "deploy")
	// One hook also says what environment hooks get.
	s.hook("pre_start", `echo "hook pre_start says hello"
echo pre_start >> "${OPENSHIFT_DATA_DIR}hooks.log"
echo "cwd=$PWD port=$OPENSHIFT_PYTHON_PORT" > "${OPENSHIFT_DATA_DIR}env"
`)
	hookOut := `^hook \w+ says hello$`

	r := s.ctl(nil, "status").want(t, 3)
	r.has(t, `^CLIENT_RESULT: Application is either stopped or inaccessible$`)
	s.ctl([]string{"OPENSHIFT_PYTHON_SERVER=nosuch"}, "update-configuration").want(t, 2).
		has(t, `^CLIENT_ERROR: .*nosuch.*accepted`)
	s.ctl(nil, "update-configuration").want(t, 0).has(t, `^CLIENT_RESULT: configuration checked: `+server)
	s.ctl([]string{"OPENSHIFT_PYTHON_PORT=0"}, "start").want(t, 2).has(t, `^CLIENT_ERROR: .*port`)
	s.wantHooks() // bad settings are refused before any hook runs

	r = s.ctl(nil, "start").want(t, 0)
	r.has(t, `^CLIENT_RESULT: `+server+` pid \d+ ready on 127\.0\.0\.1:`+strconv.Itoa(s.port))
	assertClientLines(t, r, hookOut)
	s.wantHooks("pre_start", "post_start")
	if b, _ := os.ReadFile(filepath.Join(s.data, "env")); string(b) != "cwd="+s.repo+" port="+strconv.Itoa(s.port)+"\n" {
		t.Errorf("pre_start hook saw %q; want it run in the application with the gear's variables", b)
	}
	first := s.statusPID(server)
	helloPID(t, mustGet(t, s.port, "/"))
	// The state and the log are where OpenShift's variables put them.
	for _, p := range []string{filepath.Join(s.pyDir, "run", "control.sock"), filepath.Join(s.logs, "server.log")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%v; want --dir from OPENSHIFT_PYTHON_DIR and the log in OPENSHIFT_PYTHON_LOG_DIR", err)
		}
	}

	// Starting a started gear does nothing, hooks included.
	s.ctl(nil, "start").want(t, 0).has(t, `^CLIENT_RESULT: already running: `+server+` pid `+strconv.Itoa(first))
	s.wantHooks()

	r = s.ctl(nil, "restart").want(t, 0)
	r.has(t, `^CLIENT_RESULT: restarted: `)
	assertClientLines(t, r, hookOut)
	s.wantHooks("pre_restart", "post_restart")
	second := s.statusPID(server)
	if second == first {
		t.Errorf("restart kept the master pid %d", first)
	}
	helloPID(t, mustGet(t, s.port, "/"))

	s.ctl(nil, "reload").want(t, 0).has(t, `^CLIENT_RESULT: reloaded `+server+` pid `+strconv.Itoa(second)+`, GET / answered 200 OK$`)
	s.wantHooks("pre_reload", "post_reload")

	s.ctl(nil, "tidy").want(t, 0)
	s.wantHooks("pre_tidy", "post_tidy")

	if _, err := exec.LookPath("py-spy"); err != nil {
		s.ctl(nil, "threaddump").want(t, 1).has(t, `^CLIENT_ERROR: threaddump needs py-spy`)
	}

	r = s.ctl(nil, "stop").want(t, 0)
	r.has(t, `^CLIENT_RESULT: stopped `+server+` pid `+strconv.Itoa(second)+`$`)
	assertClientLines(t, r, hookOut)
	s.wantHooks("pre_stop", "post_stop")
	s.assertStopped()

	// Stopping a stopped gear, reloading it (force-reload's meaning) and
	// asking for its threads do nothing harmful.
	s.ctl(nil, "stop").want(t, 0).has(t, `^CLIENT_RESULT: not running`)
	s.ctl(nil, "reload").want(t, 0).has(t, `^CLIENT_RESULT: not running`)
	s.ctl(nil, "force-reload").want(t, 0)
	s.ctl(nil, "threaddump").want(t, 3).has(t, `^CLIENT_ERROR: not running`)
	s.wantHooks()
	s.assertStopped()
}

// TestControlPreStartFails: a failing pre_start hook stops the start, its
// exit status is the action's, its output reaches the user.
func TestControlPreStartFails(t *testing.T) {
	t.Parallel()
	s := newSimGear(t, serverFor(), nil)
	s.recordingHooks("post_start")
	s.hook("pre_start", "echo 'the database is not there yet'\nexit 7\n")

	r := s.ctl(nil, "start").want(t, 7)
	r.has(t, `^CLIENT_ERROR: pre_start hook: exit status 7$`)
	r.has(t, `^CLIENT_ERROR: the database is not there yet$`)
	r.has(t, `^the database is not there yet$`)
	s.wantHooks()
	s.assertStopped()
}

// TestControlDeploy: deploy runs the deploy hook, then replaces the server
// (a new master) — or, with the hot_deploy marker, reloads it in place
// (the same master) — and the new code answers either way.
func TestControlDeploy(t *testing.T) {
	t.Parallel()
	server := serverFor()
	s := newSimGear(t, server, nil)
	s.recordingHooks("deploy", "post_deploy", "pre_start", "post_start", "pre_restart", "post_restart",
		"pre_reload", "post_reload")

	// A stopped gear is started.
	s.ctl(nil, "deploy").want(t, 0)
	s.wantHooks("deploy", "pre_start", "post_start")
	pid := s.statusPID(server)

	version := func(v string) {
		code := strings.Replace(helloSource, `os.environ.get("VERSION", "")`, strconv.Quote(v), 1)
		if code == helloSource {
			t.Fatal(`examples/hello/wsgi.py no longer says os.environ.get("VERSION", "")`)
		}
		writeFile(t, filepath.Join(s.repo, "wsgi.py"), code)
	}
	answers := func(v string) {
		t.Helper()
		if body := mustGet(t, s.port, "/"); !strings.HasSuffix(strings.TrimSpace(body), v) {
			t.Errorf("GET / says %q; want the deployed code's %q", body, v)
		}
	}

	s.marker("hot_deploy", true)
	version("v2")
	s.ctl(nil, "deploy").want(t, 0).has(t, `^CLIENT_MESSAGE: hot_deploy marker: reloading in place$`)
	s.wantHooks("deploy", "pre_reload", "post_reload")
	if now := s.statusPID(server); now != pid {
		t.Errorf("hot deploy: master pid %d; want %d, reloaded in place", now, pid)
	}
	answers("v2")

	s.marker("hot_deploy", false)
	version("v3")
	s.ctl(nil, "deploy").want(t, 0)
	s.wantHooks("deploy", "pre_restart", "post_restart")
	if now := s.statusPID(server); now == pid {
		t.Errorf("deploy without hot_deploy kept the master pid %d", pid)
	}
	answers("v3")

	s.ctl(nil, "post-deploy").want(t, 0)
	s.wantHooks("post_deploy")

	// A failing deploy hook leaves the running code in service.
	s.hook("deploy", "echo 'migration failed' >&2\nexit 3\n")
	version("v4")
	s.ctl(nil, "deploy").want(t, 3).has(t, `^CLIENT_ERROR: migration failed$`)
	answers("v3")

	s.ctl(nil, "stop").want(t, 0)
	s.assertStopped()
}

// TestControlSwapServer: OPENSHIFT_PYTHON_SERVER changed, then restart:
// the other server serves, and the one before is gone.
func TestControlSwapServer(t *testing.T) {
	t.Parallel()
	for _, exe := range []string{"gunicorn", "uwsgi"} {
		_, err := lookExe(exe)
		need(t, exe, err)
	}
	s := newSimGear(t, "gunicorn", nil)
	s.ctl(nil, "start").want(t, 0)
	gunicorn := s.statusPID("gunicorn")
	old := append(descendants(gunicorn), mustProc(t, gunicorn))

	swap := []string{"OPENSHIFT_PYTHON_SERVER=uwsgi"}
	s.ctl(swap, "restart").want(t, 0).has(t, `^CLIENT_RESULT: restarted: uwsgi pid \d+`)
	uwsgi := s.statusPID("uwsgi")
	if cl := cmdline(uwsgi); !strings.Contains(cl, "uwsgi") {
		t.Errorf("master pid %d runs %q; want uwsgi", uwsgi, cl)
	}
	if answer := helloPID(t, mustGet(t, s.port, "/")); !descendsFrom(answer, uwsgi) {
		t.Errorf("pid %d answered, which is not below the uwsgi master %d", answer, uwsgi)
	}
	if !eventually(waitLine, func() bool { return len(stillThere(old)) == 0 }) {
		for _, p := range stillThere(old) {
			t.Errorf("gunicorn process left after the swap: pid %d state %c: %s", p.pid, p.state, cmdline(p.pid))
		}
	}

	s.ctl(swap, "stop").want(t, 0)
	s.assertStopped()
}

// TestControlBuild builds the gear's virtualenv with real pip, offline:
// an empty requirements file, a local package in it, a requirement that
// does not exist (pip's own lines reach the user), the application as a
// package installed editable (force_clean_build recreating the
// virtualenv), and a start that runs the application from it.
func TestControlBuild(t *testing.T) {
	t.Parallel()
	needVenv(t)
	s := newSimGear(t, "wsgiref", map[string]string{"requirements.txt": ""})
	s.recordingHooks("pre_build", "build")
	venv := filepath.Join(s.pyDir, "virtenv")
	python := filepath.Join(venv, "bin", "python")
	imports := func(want string) {
		t.Helper()
		cmd := exec.Command(python, "-c", "import hellopkg; print(hellopkg.GREETING)")
		cmd.Dir = s.base // not the application: the package must come from the virtualenv
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Fatalf("import hellopkg from the virtualenv: %v: %s; want %q", err, out, want)
		}
	}

	s.ctl(nil, "pre-build").want(t, 0)
	s.wantHooks("pre_build")
	r := s.ctl(nil, "build").want(t, 0)
	r.has(t, `^CLIENT_MESSAGE: creating the virtualenv `+venv+` `)
	r.has(t, `^CLIENT_MESSAGE: installing -r requirements.txt with pip$`)
	s.wantHooks("build")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%v: build made no virtualenv in $OPENSHIFT_PYTHON_DIR/virtenv", err)
	}

	localPackage(t, filepath.Join(s.repo, "lib"), "from a requirement")
	writeFile(t, filepath.Join(s.repo, "requirements.txt"), "./lib\n")
	s.ctl(nil, "build").want(t, 0).has(t, `^CLIENT_MESSAGE: using the virtualenv `)
	imports("from a requirement")
	s.wantHooks("build")

	writeFile(t, filepath.Join(s.repo, "requirements.txt"), "./no-such-package\n")
	r = s.ctl(nil, "build")
	if r.code == 0 {
		t.Fatalf("build with a missing requirement exited 0\n%s", r.stdout)
	}
	r.has(t, `^CLIENT_ERROR: pip install -r requirements.txt: exit status \d+$`)
	r.has(t, `^CLIENT_ERROR: .*no-such-package.*`)
	s.wantHooks()

	// The application is a package itself: no requirements file, a
	// pyproject.toml, and a clean build that starts from nothing.
	os.Remove(filepath.Join(s.repo, "requirements.txt"))
	localPackage(t, s.repo, "from the application")
	s.marker("force_clean_build", true)
	writeFile(t, filepath.Join(venv, "left-from-before"), "")
	r = s.ctl(nil, "build").want(t, 0)
	r.has(t, `^CLIENT_MESSAGE: force_clean_build: emptying the virtualenv `)
	r.has(t, `^CLIENT_MESSAGE: installing -e \. with pip$`)
	if _, err := os.Stat(filepath.Join(venv, "left-from-before")); err == nil {
		t.Error("force_clean_build left the old virtualenv's files")
	}
	imports("from the application")
	s.marker("force_clean_build", false)

	// start runs the application from the gear's virtualenv, which no
	// variable named.
	writeFile(t, filepath.Join(s.repo, "wsgi.py"), strings.Replace(helloSource,
		`keys = ("VERSION",`, `import hellopkg
        keys = ("VERSION",`, 1))
	s.ctl(nil, "start").want(t, 0)
	if body := mustGet(t, s.port, "/env"); !strings.Contains(body, "VIRTUAL_ENV="+venv+"\n") {
		t.Errorf("GET /env says %q; want VIRTUAL_ENV=%s", body, venv)
	}
	s.ctl(nil, "stop").want(t, 0)
	s.assertStopped()
}

// TestControlCartridgeExample runs examples/openshift-cartridge as the
// node would: bin/setup, then bin/control, with the cartridge directory
// as OPENSHIFT_PYTHON_DIR. The shim leaves the hooks to the node.
func TestControlCartridgeExample(t *testing.T) {
	t.Parallel()
	needVenv(t)
	s := newSimGear(t, serverFor(), nil)
	s.recordingHooks("pre_start", "post_start")
	src := filepath.Join("..", "examples", "openshift-cartridge")
	if out, err := exec.Command("cp", "-R", src+"/.", s.pyDir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	if err := os.Symlink(gearctlBin, filepath.Join(s.pyDir, "bin", "gearctl")); err != nil {
		t.Fatal(err)
	}
	s.exec(nil, filepath.Join(s.pyDir, "bin", "setup")).want(t, 0).has(t, `^CLIENT_RESULT: `)
	control := filepath.Join(s.pyDir, "bin", "control")
	venv := []string{"VIRTUAL_ENV=" + filepath.Join(s.pyDir, "virtenv")} // what env/VIRTUAL_ENV.erb renders to
	s.exec(venv, control, "start").want(t, 0)
	s.wantHooks()
	s.statusPID(serverFor())
	if body := mustGet(t, s.port, "/env"); !strings.Contains(body, "VIRTUAL_ENV="+filepath.Join(s.pyDir, "virtenv")+"\n") {
		t.Errorf("GET /env says %q; want the cartridge's virtualenv", body)
	}
	s.exec(venv, control, "stop").want(t, 0)
	s.assertStopped()
	// The node starts the gear after its own deploy hook: deploy leaves a
	// stopped gear stopped.
	s.exec(venv, control, "deploy").want(t, 0)
	s.wantHooks()
	s.assertStopped()
}

// TestRunDeployHookPID1 runs `gearctl run` as PID 1 of a PID namespace, as
// a container's ENTRYPOINT: the application's deploy hook runs before the
// server starts (its output on the terminal, its orphan reaped), extra
// arguments reach the server, SIGTERM stops everything.
func TestRunDeployHookPID1(t *testing.T) {
	t.Parallel()
	_, err := lookExe("gunicorn")
	need(t, "gunicorn", err)
	unshare := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(unshare[0], append(unshare[1:], "true")...).CombinedOutput(); err != nil {
		need(t, "a PID namespace (unshare --pid needs root)", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out))))
	}
	app := appDir(t, nil)
	// The hook leaves an orphan, which becomes gearctl's to reap.
	writeHook(t, filepath.Join(app, ".docker", "action_hooks"), "deploy", `echo "deploying in $PWD"
(sleep 0.1 &)
touch deployed
`)
	port := freePort(t)
	argv := append(unshare, gearctlBin, "--dir", tempDir(t), "run", "--port", strconv.Itoa(port),
		"--server", "gunicorn", "--", "--env", "VERSION=from-extra-args")
	g := startGear(t, app, port, nil, argv...)
	g.stdout.expect(t, `^deploying in `+app+`$`)
	g.stderr.expect(t, `^gearctl: running deploy hook$`)
	g.ready("gunicorn")
	if _, err := os.Stat(filepath.Join(app, "deployed")); err != nil {
		t.Errorf("%v: the deploy hook had not finished when the server started", err)
	}
	if body := mustGet(t, port, "/"); !strings.HasSuffix(strings.TrimSpace(body), "from-extra-args") {
		t.Errorf("GET / says %q; want the VERSION that -- --env gave gunicorn", body)
	}

	pid1 := namespacePID1(t, g)
	noZombie := func() bool {
		for _, p := range descendants(pid1) {
			if p.state == 'Z' {
				return false
			}
		}
		return true
	}
	if !eventually(waitLine, noZombie) {
		t.Error("a zombie stays in the namespace: the deploy hook's orphan was not reaped")
	}

	g.snapshot()
	if err := syscall.Kill(pid1, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := g.wait(); code != 0 {
		t.Errorf("exit status %d after SIGTERM; want 0", code)
	}
	g.assertNothingLeft()
}

// TestRunDeployHookFails: a failing deploy hook ends run with its exit
// status, and no server is started.
func TestRunDeployHookFails(t *testing.T) {
	t.Parallel()
	app := appDir(t, nil)
	writeHook(t, filepath.Join(app, ".openshift", "action_hooks"), "deploy", "echo 'cannot deploy'\nexit 5\n")
	port := freePort(t)
	g := runGearctl(t, app, port, nil, "--server", "wsgiref")
	if code := g.wait(); code != 5 {
		t.Errorf("run exited %d; want 5, the deploy hook's", code)
	}
	g.stdout.expect(t, `^cannot deploy$`)
	g.stderr.expect(t, `^gearctl: deploy hook: exit status 5: the server was not started$`)
	if n := g.stderr.count(listeningRE); n > 0 {
		t.Error("a server was started after the deploy hook failed")
	}
	g.assertNothingLeft()
}

// TestShell: gearctl shell execs a command (or a shell) in the
// application's directory with its environment, the virtualenv first.
func TestShell(t *testing.T) {
	t.Parallel()
	app := appDir(t, nil)
	venv := filepath.Join(tempDir(t), "venv")
	if err := os.MkdirAll(filepath.Join(venv, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(venv, "pyvenv.cfg"), "")
	writeFile(t, filepath.Join(venv, "bin", "python"), "#!/bin/sh\necho venv python\n")
	os.Chmod(filepath.Join(venv, "bin", "python"), 0o755)
	env := []string{"OPENSHIFT_REPO_DIR=" + app, "VIRTUAL_ENV=" + venv}

	g := startGear(t, tempDir(t), 0, env, gearctlBin, "shell", "--", "sh", "-c", `echo "$PWD|$VIRTUAL_ENV|$(python)"; exit 4`)
	if code := g.wait(); code != 4 {
		t.Errorf("shell exited %d; want the command's 4", code)
	}
	g.stdout.expect(t, "^"+app+`\|`+venv+`\|venv python$`)

	// No command: an interactive shell, here reading its commands from
	// stdin.
	cmd := exec.Command(gearctlBin, "shell")
	cmd.Dir, cmd.Env = tempDir(t), append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader("echo \"$PWD\"\n")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != app {
		t.Errorf("shell with commands on stdin: %v: %q; want %q", err, out, app)
	}
}
