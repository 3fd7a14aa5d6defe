package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// TestListGears: gears started from different directories — in their
// application's, from a subdirectory with --chdir .., from elsewhere under
// a --name — are all listed, from anywhere, with their server, pid,
// address, state, supervisor and directories; status, logs and stop find
// each by its name from another directory, and by its application's
// directory from there. A stopped gear leaves the list.
func TestListGears(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	needServer(t, "gunicorn")
	h := newHost(t)
	appA := appDir(t, nil)
	a := h.start(appA, appA, "wsgiref", nil)
	appB := appDir(t, map[string]string{"static/style.css": "body {}\n"})
	static := filepath.Join(appB, "static")
	b := h.start(static, appB, "gunicorn", nil, "--chdir", "..", "--workers", "1")
	if _, err := os.Lstat(filepath.Join(static, ".gearctl")); err == nil {
		t.Errorf("start --chdir .. in %s made a .gearctl there", static)
	}
	appC := appDir(t, nil)
	// --name, a global flag, given after the verb as people type it.
	c := h.start(tempDir(t), appC, "wsgiref", nil, "--name", "shop", "--chdir", appC)
	nameA, nameB := filepath.Base(appA), filepath.Base(appB)

	gears, names := h.list()
	if want := slices.Sorted(slices.Values([]string{nameA, nameB, "shop"})); !slices.Equal(names, want) {
		t.Fatalf("list shows %v; want %v, by name", names, want)
	}
	h.assertListed(gears, nameA, "ready", a)
	h.assertListed(gears, nameB, "ready", b)
	h.assertListed(gears, "shop", "ready", c)
	for _, g := range gears {
		if g.StartedAt.IsZero() || g.StartedAt.After(time.Now()) || g.Uptime <= 0 || g.LogDir != filepath.Join(g.Dir, "logs") {
			t.Errorf("%s: started_at %s, uptime %v s, log dir %s; want a start in the past, a positive uptime, its state dir's logs",
				g.Name, g.StartedAt, g.Uptime, g.LogDir)
		}
	}
	// For people: a line each, with what --json says.
	r := h.in(tempDir(t), "list").want(t, 0)
	r.has(t, `^NAME\s+STATE\s+SERVER\s+PID\s+LISTEN\s+UPTIME\s+RESTARTS\s+APP DIR$`)
	for name, s := range map[string]started{nameA: a, nameB: b, "shop": c} {
		r.has(t, fmt.Sprintf(`^%s\s+ready\s+%s\s+%d\s+%s\s+\d+s\s+0\s+%s$`,
			regexp.QuoteMeta(name), s.server, s.pid, regexp.QuoteMeta(addr(s.port)), regexp.QuoteMeta(s.appDir)))
	}

	// By name, from a directory that has no gear.
	elsewhere := tempDir(t)
	h.in(elsewhere, "status", "shop").want(t, 0).has(t, fmt.Sprintf(`^ready\s+wsgiref\s+pid %d\b.*\bsupervisor %d$`, c.pid, c.sup))
	h.in(elsewhere, "--name", "shop", "status").want(t, 0).has(t, fmt.Sprintf(`^ready\s+wsgiref\s+pid %d\b`, c.pid))
	h.in(elsewhere, "logs", "-n", "200", nameB).want(t, 0).
		has(t, fmt.Sprintf(`gunicorn pid %d listening on %s$`, b.pid, regexp.QuoteMeta(addr(b.port))))
	before := []proc{mustProc(t, a.pid), mustProc(t, a.sup)}
	h.in(elsewhere, "stop", nameA).want(t, 0).has(t, fmt.Sprintf(`^gearctl: stopped wsgiref pid %d$`, a.pid))
	for _, p := range before {
		if alive(p) {
			t.Errorf("pid %d of %s runs after its stop: %s", p.pid, nameA, cmdline(p.pid))
		}
	}
	if _, _, err := get(a.port, "/"); err == nil {
		t.Errorf("%s answers on %s after its stop", nameA, addr(a.port))
	}
	if _, err := os.Lstat(filepath.Join(h.reg, nameA+".json")); err == nil {
		t.Errorf("the registry still has %s after its supervisor exited", nameA)
	}
	// A stopped gear's name is no gear's.
	left := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == nameA })
	oneLine(t, h.in(elsewhere, "status", nameA), 2, "no gear named "+nameA, "2 gears run on this host: "+strings.Join(left, ", "), "gearctl list")
	assertEmpty(t, elsewhere)

	// From the application's directory, no name needed: the state is
	// there, whatever directory start ran in.
	h.in(appB, "status").want(t, 0).has(t, fmt.Sprintf(`^ready\s+gunicorn\s+pid %d\b`, b.pid))
	h.in(appB, "stop").want(t, 0).has(t, fmt.Sprintf(`^gearctl: stopped gunicorn pid %d$`, b.pid))
	h.in(appC, "stop").want(t, 0).has(t, fmt.Sprintf(`^gearctl: stopped wsgiref pid %d$`, c.pid))
	if gears, _ := h.list(); len(gears) != 0 {
		t.Errorf("list after every stop: %v; want none", gears)
	}
	h.in(tempDir(t), "list").want(t, 0).has(t, `^gearctl: no gear runs on this host \(registry `+regexp.QuoteMeta(h.reg)+`\)$`)
	if pids := tagged(h.tag); len(pids) > 0 {
		t.Errorf("processes left after every stop: %v", describe(pids))
	}
	for _, s := range []started{b, c} {
		if _, _, err := get(s.port, "/"); err == nil {
			t.Errorf("something answers on %s after the stops", addr(s.port))
		}
	}
}

// TestListReadOnlyVerbs: in a directory without a gear, status, stop,
// logs, reload and tidy say so in one line, pointing at the gears that
// run and at list, with the exit status they have for not running, and
// make nothing there; status --json still gives machines a status.
func TestListReadOnlyVerbs(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	h := newHost(t)
	app := appDir(t, nil)
	a := h.start(app, app, "wsgiref", nil)
	fresh := tempDir(t)
	for _, v := range []struct {
		verb string
		code int
	}{{"status", 3}, {"stop", 0}, {"logs", 1}, {"reload", 3}, {"tidy", 0}} {
		r := h.in(fresh, v.verb)
		oneLine(t, r, v.code, "no gear in "+fresh+" (no "+filepath.Join(fresh, ".gearctl")+")",
			"1 gear runs on this host: "+filepath.Base(app), "gearctl list")
		if r.stdout != "" {
			t.Errorf("%s: stdout %q; want nothing", v.verb, r.stdout)
		}
	}
	r := h.in(fresh, "status", "--json").want(t, 3)
	var st gearStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.State != "stopped" || st.PID != 0 {
		t.Errorf("status --json without a gear: %q (%v); want the status of a stopped gear", r.stdout, err)
	}
	h.in(fresh, "list").want(t, 0)
	assertEmpty(t, fresh)

	// None of it touched the gear.
	gears, _ := h.list()
	h.assertListed(gears, filepath.Base(app), "ready", a)
	if got := helloPID(t, mustGet(t, a.port, "/")); got != a.pid {
		t.Errorf("answered by pid %d; want the gear's wsgiref, pid %d", got, a.pid)
	}
	// --name also names the gear a start makes: one that does not run is
	// not running, not bad input, even where another gear runs.
	oneLine(t, h.in(app, "--name", "other", "status"), 3, "no gear named other runs", "is "+filepath.Base(app))
	h.in(app, "stop").want(t, 0)
	// Stopped, the gear's directory is still there: status says stopped,
	// and its log is found under its name too.
	h.in(app, "status").want(t, 3).has(t, `^stopped\b`)
	h.in(app, "--name", filepath.Base(app), "logs", "-n", "200").want(t, 0).
		has(t, fmt.Sprintf(`wsgiref pid %d listening on %s$`, a.pid, regexp.QuoteMeta(addr(a.port))))
}

// TestListGone: a SIGKILLed supervisor's gear is listed as gone, with the
// server it left; status by name says the server is unsupervised; tidy
// removes the entry and says the server runs on, which status and stop
// then handle from its directory as before.
func TestListGone(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	h := newHost(t)
	app, other := appDir(t, nil), appDir(t, nil)
	a := h.start(app, app, "wsgiref", nil)
	o := h.start(other, other, "wsgiref", nil)
	name := filepath.Base(app)
	killSupervisor(t, a.sup)

	gears, _ := h.list()
	h.assertListed(gears, name, "gone", a)
	h.assertListed(gears, filepath.Base(other), "ready", o)
	if d := gears[name].Detail; !strings.Contains(d, "supervisor is gone") {
		t.Errorf("detail of the gone gear: %q; want it to say its supervisor is gone", d)
	}
	h.in(tempDir(t), "list").want(t, 0).has(t, fmt.Sprintf(`^%s\s+gone\s+wsgiref\s+%d\s+%s\s+\S+\s+-\s+%s$`,
		regexp.QuoteMeta(name), a.pid, regexp.QuoteMeta(addr(a.port)), regexp.QuoteMeta(app)))
	h.in(tempDir(t), "status", name).want(t, 1).has(t, fmt.Sprintf(`^unsupervised\s+wsgiref\s+pid %d\b`, a.pid))

	h.in(tempDir(t), "tidy").want(t, 0).has(t, fmt.Sprintf(
		`^gearctl: removed the registry entry of %s: its supervisor pid %d is gone; the server pid %d it left runs on \(gearctl --dir %s status\)$`,
		regexp.QuoteMeta(name), a.sup, a.pid, regexp.QuoteMeta(a.state)))
	gears, names := h.list()
	if !slices.Equal(names, []string{filepath.Base(other)}) {
		t.Errorf("list after tidy: %v; want only %s", names, filepath.Base(other))
	}
	h.assertListed(gears, filepath.Base(other), "ready", o)

	// The server it left, as before the registry: unsupervised, stopped.
	mustGet(t, a.port, "/")
	h.in(app, "status").want(t, 1).has(t, fmt.Sprintf(`^unsupervised\s+wsgiref\s+pid %d\b`, a.pid))
	h.in(app, "stop").want(t, 0).has(t, fmt.Sprintf(`^gearctl: stopped server pid %d, which ran without its supervisor$`, a.pid))
	if _, _, err := get(a.port, "/"); err == nil {
		t.Errorf("the server left by the killed supervisor still answers after stop")
	}
	h.in(other, "stop").want(t, 0)
	if pids := tagged(h.tag); len(pids) > 0 {
		t.Errorf("processes left: %v", describe(pids))
	}
}

// TestListHungSupervisor: a SIGSTOPped supervisor's gear is listed as it
// last published it, beside the others: one hung supervisor does not hold
// up the list.
func TestListHungSupervisor(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	h := newHost(t)
	app, hung := appDir(t, nil), appDir(t, nil)
	a := h.start(app, app, "wsgiref", nil)
	s := h.start(hung, hung, "wsgiref", nil)
	if err := syscall.Kill(s.sup, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(s.sup, syscall.SIGCONT)
	// Every thread of it stopped, not only told to.
	if !eventually(waitLine, func() bool { p, ok := readProc(s.sup); return ok && p.state == 'T' }) {
		t.Fatalf("supervisor pid %d not stopped after SIGSTOP", s.sup)
	}
	// list reads the state each supervisor published into the registry:
	// it asks none, so a hung one neither delays it nor is missing from it.
	gears, _ := h.list()
	h.assertListed(gears, filepath.Base(app), "ready", a)
	h.assertListed(gears, filepath.Base(hung), "ready", s)
	if err := syscall.Kill(s.sup, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	gears, _ = h.list()
	h.assertListed(gears, filepath.Base(hung), "ready", s)
	h.in(app, "stop").want(t, 0)
	h.in(hung, "stop").want(t, 0)
}

// TestListBadInput: an unknown name, a --name that is no name, a name
// another running gear has, and a registry or entry another user could
// have written each get one line and exit 2, and the gear that runs is
// untouched.
func TestListBadInput(t *testing.T) {
	t.Parallel()
	needServer(t, "wsgiref")
	h := newHost(t)
	app := appDir(t, nil)
	d := h.start(app, app, "wsgiref", []string{"--name", "dup"})
	elsewhere := tempDir(t)

	t.Run("unknown-name", func(t *testing.T) {
		for _, verb := range []string{"status", "stop", "logs"} {
			r := h.in(elsewhere, verb, "nosuch")
			oneLine(t, r, 2, `no gear named nosuch`, "1 gear runs on this host: dup", "gearctl list")
		}
		oneLine(t, h.in(elsewhere, "status", "dup", "extra"), 2, `"extra"`, "NAME")
		oneLine(t, h.in(elsewhere, "--dir", app, "status", "dup"), 2, "dup", "--dir")
	})
	t.Run("not-a-name", func(t *testing.T) {
		for _, verb := range [][]string{{"status"}, {"start", "--server", "wsgiref", "--port", strconv.Itoa(freePort(t))}} {
			oneLine(t, h.in(app, append([]string{"--name", "../etc"}, verb...)...), 2, `--name "../etc"`, "letters, digits")
		}
	})
	t.Run("duplicate-name", func(t *testing.T) {
		other := appDir(t, nil)
		for _, verb := range []string{"start", "run"} {
			port := freePort(t)
			r := h.in(other, "--name", "dup", verb, "--server", "wsgiref", "--port", strconv.Itoa(port))
			oneLine(t, r, 2, `the name "dup" is taken by the gear of `+app, "--name")
			if _, _, err := get(port, "/"); err == nil {
				t.Errorf("%s of a taken name: something answers on %s", verb, addr(port))
			}
		}
		h.in(other, "status").want(t, 3)
		// The default name, the application directory's base name, too.
		first, second := filepath.Join(tempDir(t), "web"), filepath.Join(tempDir(t), "web")
		for _, dir := range []string{first, second} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "wsgi.py"), helloSource)
		}
		w := h.start(first, first, "wsgiref", nil)
		oneLine(t, h.in(second, "start", "--server", "wsgiref", "--port", strconv.Itoa(freePort(t))), 2,
			`the name "web" is taken by the gear of `+first)
		h.in(first, "stop").want(t, 0).has(t, fmt.Sprintf(`^gearctl: stopped wsgiref pid %d$`, w.pid))
	})
	t.Run("foreign-registry", func(t *testing.T) {
		theirs := filepath.Join(tempDir(t), "theirs")
		if err := os.Mkdir(theirs, 0o700); err != nil {
			t.Fatal(err)
		}
		chownNobody(t, theirs)
		open := filepath.Join(tempDir(t), "open")
		if err := os.Mkdir(open, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		for reg, why := range map[string]string{theirs: "owned by nobody", open: "mode 0777"} {
			env := []string{"GEARCTL_REGISTRY=" + reg}
			oneLine(t, h.inEnv(elsewhere, env, "list"), 2, reg, why)
			oneLine(t, h.inEnv(elsewhere, env, "status", "dup"), 2, reg, why)
			other := appDir(t, nil)
			port := freePort(t)
			oneLine(t, h.inEnv(other, env, "start", "--server", "wsgiref", "--port", strconv.Itoa(port)), 2, reg, why)
			if _, _, err := get(port, "/"); err == nil {
				t.Errorf("a start with the registry %s: something answers on %s", reg, addr(port))
			}
			if files, _ := os.ReadDir(reg); len(files) != 0 {
				t.Errorf("the registry %s was written: %v", reg, files)
			}
		}
	})
	t.Run("foreign-entry", func(t *testing.T) {
		pid := victim(t)
		rec, err := pidfile.Lookup(pid)
		if err != nil {
			t.Fatal(err)
		}
		planted := filepath.Join(h.reg, "planted.json")
		forged := filepath.Join(tempDir(t), "gear")
		b, _ := json.Marshal(map[string]any{"name": "planted", "dir": forged, "app_dir": forged, "log_dir": forged, "supervisor": rec})
		writeFile(t, planted, string(b))
		chownNobody(t, planted)
		defer os.Remove(planted)
		r := h.in(elsewhere, "list", "--json")
		oneLine(t, r, 2, planted, "owned by nobody")
		if !strings.Contains(r.stdout, `"name": "dup"`) || strings.Contains(r.stdout, "planted") {
			t.Errorf("list --json with a planted entry: %s; want dup listed, the planted entry not", r.stdout)
		}
		for _, verb := range []string{"status", "stop"} {
			oneLine(t, h.in(elsewhere, verb, "planted"), 2, planted, "owned by nobody")
		}
		oneLine(t, h.in(elsewhere, "tidy"), 2, planted, "owned by nobody")
		if _, err := os.Lstat(planted); err != nil {
			t.Errorf("tidy removed an entry it does not trust: %v", err)
		}
		if err := syscall.Kill(pid, 0); err != nil {
			t.Errorf("the process the planted entry names, pid %d, is gone: %v", pid, err)
		}
	})

	// Through all of it the gear went on, untouched.
	gears, _ := h.list()
	h.assertListed(gears, "dup", "ready", d)
	mustGet(t, d.port, "/")
	h.in(app, "stop").want(t, 0)
}
