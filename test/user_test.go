package test

import (
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// --user and --group: root runs the application as another user while
// the supervisor stays root.

// account is what a process of the user runs with, as /proc/PID/status
// shows it.
type account struct {
	uid, gid string
	groups   []string
	// name and home are the passwd entry's, for USER, LOGNAME and HOME.
	name, home string
}

// nobodyAccount is the user nobody's account, with its groups as
// initgroups(3) gives them; the test needs root to run anything as it.
func nobodyAccount(t *testing.T) account {
	t.Helper()
	nobodyCred(t) // root, and the user nobody
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	groups, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(groups)
	return account{uid: u.Uid, gid: u.Gid, groups: groups, name: u.Username, home: u.HomeDir}
}

// credentials are the Uid, Gid and Groups lines of /proc/PID/status:
// real, effective, saved and filesystem ids, then the supplementary
// groups, sorted.
func credentials(pid int) (uids, gids, groups []string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, nil, nil, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, _ := strings.Cut(line, ":")
		switch key {
		case "Uid":
			uids = strings.Fields(value)
		case "Gid":
			gids = strings.Fields(value)
		case "Groups":
			groups = strings.Fields(value)
			slices.Sort(groups)
		}
	}
	return uids, gids, groups, len(uids) == 4 && len(gids) == 4
}

// runsAs reports whether pid runs as a: every uid a's, every gid a's,
// a's groups and no other. A process that is gone is not a's.
func runsAs(pid int, a account) bool {
	uids, gids, groups, ok := credentials(pid)
	return ok && slices.Equal(uids, []string{a.uid, a.uid, a.uid, a.uid}) &&
		slices.Equal(gids, []string{a.gid, a.gid, a.gid, a.gid}) && slices.Equal(groups, a.groups)
}

// describeCredentials is pid's command line and credentials, for failure
// messages.
func describeCredentials(pid int) string {
	uids, gids, groups, _ := credentials(pid)
	return cmdline(pid) + " uid " + strings.Join(uids, ",") + " gid " + strings.Join(gids, ",") + " groups " + strings.Join(groups, ",")
}

// assertRunsAs checks the server whose master is pid: its processes (the
// gear's, but for the supervisor) run as a — all of them for the servers
// gearctl execs as the user; for Apache and mod_wsgi-express, which switch
// themselves, all but the Apache parent, which stays root by design to
// bind its port and manage its children. The process that answers GET /
// runs as a, with a's HOME, USER and LOGNAME, and /static is served.
func (b *bgGear) assertRunsAs(s server, pid int, a account) {
	b.t.Helper()
	switches := s.name == "apache" || s.name == "mod_wsgi-express"
	if uids, _, _, _ := credentials(pid); switches && (len(uids) == 0 || uids[0] != "0") {
		b.t.Errorf("%s's parent pid %d runs as uid %v; want root (Apache switches its children itself)", s.name, pid, uids)
	} else if !switches && !runsAs(pid, a) {
		b.t.Errorf("%s master pid %d: %s; want uid %s gid %s groups %v", s.name, pid, describeCredentials(pid), a.uid, a.gid, a.groups)
	}
	// The processes of the gear below the master. A child an Apache parent
	// forks runs as root until it drops to the user, a moment later: the
	// check waits, within bounds, for every child to have dropped.
	var below, notYet []int
	eventually(waitLine, func() bool {
		below, notYet = nil, nil
		for _, p := range descendants(pid) {
			if p.state != 'Z' {
				below = append(below, p.pid)
				if !runsAs(p.pid, a) {
					notYet = append(notYet, p.pid)
				}
			}
		}
		return len(notYet) == 0
	})
	for _, p := range notYet {
		b.t.Errorf("%s: pid %d below the master: %s; want uid %s gid %s groups %v", s.name, p, describeCredentials(p), a.uid, a.gid, a.groups)
	}
	if s.workers && len(below) == 0 {
		b.t.Errorf("%s: no worker below master pid %d to check", s.name, pid)
	}

	if body := mustGet(b.t, b.port, "/static/hello.txt"); body != "static hello\n" {
		b.t.Errorf("%s: GET /static/hello.txt answered %q", s.name, body)
	}
	answered := helloPID(b.t, mustGet(b.t, b.port, "/"))
	if !runsAs(answered, a) || (s.workers && answered == pid) || (!s.workers && answered != pid) {
		b.t.Errorf("%s: GET / answered by pid %d: %s; want a %s process running as uid %s", s.name, answered, describeCredentials(answered), s.name, a.uid)
	}
	env, err := os.ReadFile("/proc/" + strconv.Itoa(answered) + "/environ")
	if err != nil {
		b.t.Fatal(err)
	}
	vars := strings.Split(string(env), "\x00")
	for _, want := range []string{"HOME=" + a.home, "USER=" + a.name, "LOGNAME=" + a.name} {
		if !slices.Contains(vars, want) {
			b.t.Errorf("%s: pid %d that answered lacks %s in its environment", s.name, answered, want)
		}
	}
}

// statusUser is what status --json says in user.
func (b *bgGear) statusUser() string {
	b.t.Helper()
	var st struct {
		User string `json:"user"`
	}
	r := b.do("status", "--json").want(b.t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		b.t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return st.User
}

// TestUser starts each server as root with --user nobody: the application
// runs as nobody (see assertRunsAs), on the listening socket and probe
// socket gearctl hands over (gunicorn, uWSGI, wsgiref) or on its own
// (Apache); status says so; a restart and a reload run as nobody again;
// stop leaves no process.
func TestUser(t *testing.T) {
	t.Parallel()
	a := nobodyAccount(t)
	group, err := user.LookupGroupId(a.gid)
	if err != nil {
		t.Fatal(err)
	}
	d, err := user.Lookup("daemon")
	need(t, "the user daemon", err)
	daemon, _ := strconv.Atoi(d.Uid)
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s := s.need(t)
			// wsgi/static is served at /static: gunicorn and uWSGI then
			// import gearctl's shim, which nobody must be able to list.
			b := newBGGear(t, map[string]string{"wsgi/static/hello.txt": "static hello\n"})
			// nobody must read the application: gearctl refuses an
			// application its user cannot read rather than change it. It
			// is daemon's: without --user, Apache run by root would serve
			// as its owner, so nobody is --user's doing.
			for path, mode := range map[string]os.FileMode{
				b.app: 0o755, filepath.Join(b.app, "wsgi.py"): 0o644, filepath.Join(b.app, "wsgi"): 0o755,
				filepath.Join(b.app, "wsgi", "static"): 0o755, filepath.Join(b.app, "wsgi", "static", "hello.txt"): 0o644,
			} {
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chown(b.app, daemon, daemon); err != nil {
				t.Fatal(err)
			}
			pid, _ := b.start(s.name, append([]string{"--user", "nobody"}, s.args...)...)
			b.assertRunsAs(s, pid, a)
			want := "nobody:" + group.Name
			if got := b.statusUser(); got != want {
				t.Errorf("status --json user %q; want %q", got, want)
			}
			b.do("status").want(t, 0).has(t, `^  user: `+want+`$`)

			// The restart keeps --user.
			pid, _ = b.restart(s.name)
			b.assertRunsAs(s, pid, a)
			b.do("reload").want(t, 0)
			b.assertRunsAs(s, pid, a)
			b.stop()
		})
	}
}

// TestUserRefused gives --user and --group that cannot be used: one line,
// exit status 2, nothing started — as root (a user or group that does not
// exist, a group without a user, an application the user cannot read), and
// as a user other than root.
func TestUserRefused(t *testing.T) {
	t.Parallel()
	nobody := nobodyCred(t)
	cases := []struct {
		name string
		env  []string
		args []string
		// private: the application directory is 0700, root's.
		private bool
		want    []string
	}{
		{name: "no such user", args: []string{"start", "--user", "no-such-user-gearctl"},
			want: []string{`--user "no-such-user-gearctl"`, "no such user", "accepted"}},
		{name: "GEARCTL_USER no such user", env: []string{"GEARCTL_USER=no-such-user-gearctl"}, args: []string{"run"},
			want: []string{"no-such-user-gearctl", "no such user"}},
		{name: "no such group", args: []string{"start", "--user", "nobody", "--group", "no-such-group-gearctl"},
			want: []string{`--group "no-such-group-gearctl"`, "no such group"}},
		{name: "group without user", args: []string{"run", "--group", "nogroup"},
			want: []string{"--group", "needs --user"}},
		{name: "unreadable app", args: []string{"start", "--user", "nobody"}, private: true,
			want: []string{`--user "nobody"`, "nobody cannot read "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			app := appDir(t, nil)
			want := c.want
			if c.private {
				if err := os.Chmod(app, 0o700); err != nil {
					t.Fatal(err)
				}
				want = append(want, app)
			}
			args := append([]string{gearctlBin, "--dir", filepath.Join(tempDir(t), "gear")}, c.args...)
			args = append(args, "--port", strconv.Itoa(port), "--server", "wsgiref")
			assertBadInput(t, startGear(t, app, port, c.env, args...), want, nil)
		})
	}

	// Not root: nobody asks for itself, in a state directory it owns.
	t.Run("not root", func(t *testing.T) {
		t.Parallel()
		setpriv, err := lookExe("setpriv")
		need(t, "setpriv (Debian: util-linux)", err)
		port := freePort(t)
		home := tempDir(t)
		chownNobody(t, home)
		g := startGear(t, appDir(t, nil), port, nil, setpriv,
			"--reuid="+strconv.Itoa(int(nobody.Uid)), "--regid="+strconv.Itoa(int(nobody.Gid)), "--clear-groups", "--",
			gearctlBin, "--dir", filepath.Join(home, "gear"), "start", "--port", strconv.Itoa(port), "--server", "wsgiref", "--user", "nobody")
		assertBadInput(t, g, []string{`--user "nobody"`, "only root can run the server as another user", "uid " + strconv.Itoa(int(nobody.Uid))}, nil)
		if _, err := os.Stat(filepath.Join(home, "gear", "server.pid")); !os.IsNotExist(err) {
			t.Errorf("server.pid after the refusal: %v; want none", err)
		}
	})
}
