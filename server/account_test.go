package server

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gearctl/gearctl/internal/environ"
	"github.com/gearctl/gearctl/internal/testenv"
)

// nobody is the account of the user nobody, as --user nobody resolves it.
func nobody(t *testing.T) *Account {
	t.Helper()
	a, err := resolveAccount(0, "nobody", "")
	testenv.Need(t, "the user nobody", err)
	return a
}

// lookedUp is name's passwd entry with its ids as numbers.
func lookedUp(t *testing.T, name string) (u *user.User, uid, gid int) {
	t.Helper()
	u, err := user.Lookup(name)
	testenv.Need(t, "the user "+name, err)
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return u, uid, gid
}

// TestResolveAccount: --user and --group are looked up by name or id, a
// group replaces the user's primary one, and each refusal is an
// InputError naming its flag: not root, no such user or group, a group
// without a user.
func TestResolveAccount(t *testing.T) {
	u, uid, gid := lookedUp(t, "nobody")
	for _, name := range []string{"nobody", u.Uid} {
		a, err := resolveAccount(0, name, "")
		if err != nil {
			t.Fatalf("--user %s: %v", name, err)
		}
		if a.User != "nobody" || a.UID != uid || a.GIDs[0] != gid || a.Home != u.HomeDir {
			t.Errorf("--user %s: %+v; want nobody, uid %d, gid %d first, home %s", name, a, uid, gid, u.HomeDir)
		}
	}
	for _, group := range []string{"root", "0"} {
		a, err := resolveAccount(0, "nobody", group)
		if err != nil {
			t.Fatalf("--group %s: %v", group, err)
		}
		// initgroups(nobody, 0): the group, and the groups naming nobody as
		// a member; not nobody's primary group.
		if a.Group != "root" || a.GIDs[0] != 0 || (gid != 0 && slices.Contains(a.GIDs, gid)) {
			t.Errorf("--user nobody --group %s: group %s, gids %v; want root, 0 first, not %d", group, a.Group, a.GIDs, gid)
		}
	}

	for _, tc := range []struct {
		euid        int
		name, group string
		flag, says  string
	}{
		{1000, "nobody", "", "--user", "only root can run the server as another user, and gearctl runs as uid 1000"},
		{0, "no-such-user-gearctl", "", "--user", "no such user"},
		{0, "4294967", "", "--user", "no such user"},
		{0, "nobody", "no-such-group-gearctl", "--group", "no such group"},
		{0, "", "nogroup", "--group", "needs --user"},
		{1000, "", "nogroup", "--group", "needs --user"},
	} {
		a, err := resolveAccount(tc.euid, tc.name, tc.group)
		if !isInputError(err, tc.flag) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "\n") {
			t.Errorf("euid %d --user %q --group %q: %+v, %v; want one line naming %s: %s", tc.euid, tc.name, tc.group, a, err, tc.flag, tc.says)
		}
	}
	if a, err := resolveAccount(1000, "", ""); a != nil || err != nil {
		t.Errorf("no --user: %+v, %v; want nil, nil", a, err)
	}
}

// TestResolveUser: Resolve takes --user into the Config as root, and
// refuses it otherwise.
func TestResolveUser(t *testing.T) {
	dir := tree(t, map[string]string{"wsgi.py": "def application(e, s): pass\n"})
	c, err := resolveIn(t, dir, func(in *Settings) { in.User = "nobody" })
	if os.Geteuid() != 0 {
		if !isInputError(err, "--user") {
			t.Errorf("--user nobody, not root: %v; want an InputError naming --user", err)
		}
		return
	}
	if err != nil || c.User == nil || c.User.User != "nobody" {
		t.Fatalf("--user nobody as root: %+v, %v", c.User, err)
	}
	if c, err := resolveIn(t, dir, nil); err != nil || c.User != nil {
		t.Errorf("without --user: %+v, %v; want no account", c.User, err)
	}
}

// userConfig is testConfig for server with --user nobody.
func userConfig(t *testing.T, server string) Config {
	t.Helper()
	c := testConfig(t, server)
	c.User = nobody(t)
	return c
}

// TestSpecAsUser: the servers without a user switch of their own are
// exec'ed as the user (Credential) with no option of theirs; Apache and
// mod_wsgi-express switch themselves; all get the user's HOME, USER and
// LOGNAME and say who runs the application.
func TestSpecAsUser(t *testing.T) {
	u, uid, gid := lookedUp(t, "nobody")
	for _, tc := range []struct {
		server string
		// with adapts the config; nil for none.
		with func(t *testing.T, c *Config)
		// exec'ed: by Credential, else by the server's own switch.
		exec bool
	}{
		{"gunicorn", func(t *testing.T, c *Config) { c.Venv = fakeVenv(t, "gunicorn") }, true},
		{"uwsgi", func(t *testing.T, c *Config) { c.Venv = fakeVenv(t, "uwsgi") }, true},
		{"wsgiref", nil, true},
		{"command", func(t *testing.T, c *Config) { c.Command = "/bin/true {fd}" }, true},
		{"program", func(t *testing.T, c *Config) { c.App = App{File: filepath.Join(c.Chdir, "hello.py"), Program: true} }, true},
		{"mod_wsgi-express", func(t *testing.T, c *Config) { c.Venv = fakeVenv(t, "mod_wsgi-express") }, false},
		{"apache", func(t *testing.T, c *Config) {
			if !Installed("apache", *c) {
				testenv.Need(t, "apache2 with mod_wsgi", errNoApache)
			}
		}, false},
	} {
		t.Run(tc.server, func(t *testing.T) {
			c := userConfig(t, tc.server)
			if tc.with != nil {
				tc.with(t, &c)
			}
			s, err := c.Spec()
			if err != nil {
				t.Fatal(err)
			}
			if s.User != "nobody:"+c.User.Group {
				t.Errorf("User %q; want nobody:%s", s.User, c.User.Group)
			}
			for k, v := range map[string]string{"HOME": u.HomeDir, "USER": "nobody", "LOGNAME": "nobody"} {
				if got := environ.Get(s.Env, k); got != v {
					t.Errorf("%s=%q; want %q", k, got, v)
				}
			}
			argv := strings.Join(s.Args, " ")
			if !tc.exec {
				if s.Credential != nil {
					t.Errorf("Credential %+v for a server that switches itself", s.Credential)
				}
				return
			}
			if s.Credential == nil || s.Credential.Uid != uint32(uid) || s.Credential.Gid != uint32(gid) || !slices.Contains(s.Credential.Groups, uint32(gid)) {
				t.Errorf("Credential %+v; want uid %d, gid %d, with it among the groups", s.Credential, uid, gid)
			}
			for _, opt := range []string{"--user", "--group", "--uid", "--gid"} {
				if slices.Contains(s.Args, opt) {
					t.Errorf("argv %q has %s: the server is exec'ed as the user already", argv, opt)
				}
			}
		})
	}
}

// TestSpecAsUserFiles: the files gearctl generates for a server exec'ed
// as the user go in a directory of their own that its group may list, the
// gear directory made enterable; a server without such files leaves the
// gear directory alone. Apache's configuration, which root reads, stays
// root's, and its shim and sockets are the account's to reach.
func TestSpecAsUserFiles(t *testing.T) {
	c := userConfig(t, "gunicorn")
	c.Venv = fakeVenv(t, "gunicorn")
	c.App = App{File: filepath.Join(c.Chdir, "wsgi", "application")} // through the shim
	shared := filepath.Join(c.Dir, "shared")
	s := specOf(t, c)
	shim := filepath.Join(shared, "gearctl_wsgi.py")
	if _, ok := s.SharedFiles[shim]; !ok || len(s.Files) != 0 || s.SharedGroup != c.User.GIDs[0] {
		t.Errorf("gunicorn: Files %v, SharedFiles %v group %d; want only %s shared with group %d", keys(s.Files), keys(s.SharedFiles), s.SharedGroup, shim, c.User.GIDs[0])
	}
	if !slices.Equal(s.SharedDirs, []string{shared}) || !slices.Equal(s.Searchable, []string{c.Dir}) {
		t.Errorf("gunicorn: SharedDirs %v Searchable %v; want %s and %s", s.SharedDirs, s.Searchable, shared, c.Dir)
	}
	if argv := strings.Join(s.Args, " "); !strings.Contains(argv, "--pythonpath "+shared+" gearctl_wsgi:application") {
		t.Errorf("gunicorn argv %q does not import the shim from %s", argv, shared)
	}

	c = userConfig(t, "wsgiref")
	s = specOf(t, c)
	runner := filepath.Join(c.Dir, "shared", "wsgiref_runner.py")
	if s.SharedFiles[runner] != wsgirefRunner || len(s.Files) != 0 || s.Args[1] != runner {
		t.Errorf("wsgiref: Files %v SharedFiles %v argv %q; want the runner shared at %s", keys(s.Files), keys(s.SharedFiles), s.Args, runner)
	}

	c = userConfig(t, "uwsgi")
	c.Venv = fakeVenv(t, "uwsgi")
	if s = specOf(t, c); len(s.SharedFiles)+len(s.Files)+len(s.SharedDirs)+len(s.Searchable) != 0 {
		t.Errorf("uwsgi without files: Files %v SharedFiles %v SharedDirs %v Searchable %v; want none", keys(s.Files), keys(s.SharedFiles), s.SharedDirs, s.Searchable)
	}

	c = userConfig(t, "apache")
	if !Installed("apache", c) {
		testenv.Need(t, "apache2 with mod_wsgi", errNoApache)
	}
	c.App = App{Module: "pkg.web", Callable: "app"} // through the shim
	root := filepath.Join(c.Dir, "apache-0")
	s = specOf(t, c)
	conf := s.Files[filepath.Join(root, "httpd.conf")]
	if !strings.Contains(conf, "\nUser nobody\nGroup "+c.User.Group+"\n") {
		t.Errorf("apache: no User nobody, Group %s in\n%s", c.User.Group, conf)
	}
	if _, ok := s.SharedFiles[shimPath(root)]; !ok || s.Dirs[root] != 0o711 || !slices.Equal(s.Searchable, []string{c.Dir}) {
		t.Errorf("apache: SharedFiles %v Dirs %v Searchable %v; want the shim shared, %s 0711, %s searchable", keys(s.SharedFiles), s.Dirs, s.Searchable, root, c.Dir)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestPrepareAsUser: at spawn, the shared directory is root:group 0750,
// its files root:group 0640, and the gear directory gets o+x and nothing
// else.
func TestPrepareAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Need(t, "root", errors.New("only root gives files to another group"))
	}
	c := userConfig(t, "wsgiref")
	s := specOf(t, c)
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	gid := uint32(c.User.GIDs[0])
	for path, want := range map[string]os.FileMode{
		c.Dir:                          0o701 | os.ModeDir,
		filepath.Join(c.Dir, "shared"): 0o750 | os.ModeDir,
		filepath.Join(c.Dir, "shared", "wsgiref_runner.py"): 0o640,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		wantGID := gid
		if path == c.Dir {
			wantGID = 0
		}
		if fi.Mode() != want || st.Uid != 0 || st.Gid != wantGID {
			t.Errorf("%s: %s %d:%d; want %s 0:%d", path, fi.Mode(), st.Uid, st.Gid, want, wantGID)
		}
	}
}

// TestSpecAsUserRefused: an application the user cannot read is refused
// in one line naming the path, as a --user error, and its permissions are
// left as they are; Apache refuses to serve as root.
func TestSpecAsUserRefused(t *testing.T) {
	for _, server := range []string{"wsgiref", "apache"} {
		c := userConfig(t, server)
		if err := os.Chmod(c.Chdir, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := c.Spec()
		if !isInputError(err, "--user") || !strings.Contains(err.Error(), "nobody cannot read "+c.Chdir) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s, %s 0700: %v; want one line: nobody cannot read it", server, c.Chdir, err)
		}
		if fi, err := os.Stat(c.Chdir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: the application directory became %v (%v); want it left 0700", server, fi.Mode(), err)
		}
	}
	c := testConfig(t, "apache")
	var err error
	if c.User, err = resolveAccount(0, "root", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Spec(); !isInputError(err, "--user") || !strings.Contains(err.Error(), "refuses to serve as root") {
		t.Errorf("apache --user root: %v; want an InputError naming --user", err)
	}
}
