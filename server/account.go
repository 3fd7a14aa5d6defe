package server

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/internal/environ"
)

// Account is who the application runs as: --user (with --group), or, for
// Apache and mod_wsgi-express run as root without --user, the account they
// must switch to (defaultAccount). The supervisor stays root: it holds the
// listening socket, writes the logs and reaps.
type Account struct {
	// User and Group are names, or Apache's "#id" where there is none.
	User, Group string
	UID         int
	// GIDs are the group the processes run with first, then the
	// supplementary groups, as initgroups(3) sets them.
	GIDs []int
	// Home is the user's home directory, "" when it has no passwd entry.
	Home string
}

// acceptedUser is what --user takes.
const acceptedUser = "a user of this system, by name or uid (getent passwd), with gearctl run as root"

// resolveAccount checks --user and --group for a gearctl running as euid
// and looks them up: nil without --user. A group alone is refused: the
// server would run as root with another group, which drops nothing.
func resolveAccount(euid int, name, group string) (*Account, error) {
	switch {
	case name == "" && group != "":
		return nil, &InputError{Flag: "--group", Value: group, Msg: "needs --user", Accepted: "--group with --user, to run the server with that group instead of the user's primary one"}
	case name == "":
		return nil, nil
	case euid != 0:
		return nil, &InputError{Flag: "--user", Value: name, Msg: fmt.Sprintf("only root can run the server as another user, and gearctl runs as uid %d", euid), Accepted: acceptedUser}
	}
	u, err := byNameOrID(name, user.Lookup, user.LookupId)
	if err != nil {
		return nil, &InputError{Flag: "--user", Value: name, Msg: "no such user", Accepted: acceptedUser}
	}
	var g *user.Group
	if group != "" {
		if g, err = byNameOrID(group, user.LookupGroup, user.LookupGroupId); err != nil {
			return nil, &InputError{Flag: "--group", Value: group, Msg: "no such group", Accepted: "a group of this system, by name or gid (getent group)"}
		}
	}
	return accountOf(u, g), nil
}

// byNameOrID looks name up by name, then, when it is a number, by id.
func byNameOrID[T any](name string, byName, byID func(string) (T, error)) (T, error) {
	v, err := byName(name)
	if _, notID := strconv.Atoi(name); err != nil && notID == nil {
		v, err = byID(name)
	}
	return v, err
}

// accountOf is u's account, with group g instead of u's primary group
// when g is not nil. The supplementary groups are initgroups(3)'s: the
// group, and the groups that list u as a member. Go's lookup gives those
// with u's primary group instead, which is left out when g replaces it (a
// user listed as a member of its own primary group loses that group then).
func accountOf(u *user.User, g *user.Group) *Account {
	a := &Account{User: u.Username, Home: u.HomeDir}
	a.UID, _ = strconv.Atoi(u.Uid)
	primary, _ := strconv.Atoi(u.Gid)
	gid := primary
	if g != nil {
		gid, _ = strconv.Atoi(g.Gid)
		a.Group = g.Name
	} else {
		a.Group = "#" + u.Gid
		if pg, err := user.LookupGroupId(u.Gid); err == nil {
			a.Group = pg.Name
		}
	}
	a.GIDs = []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil && !slices.Contains(a.GIDs, n) && !(g != nil && n == primary) {
				a.GIDs = append(a.GIDs, n)
			}
		}
	}
	return a
}

// defaultAccount is who Apache's children and mod_wsgi's daemon processes
// run as when gearctl runs as root without --user: Apache refuses to serve
// as root, and mod_wsgi refuses a daemon process as root ("WSGI process
// blocked from running as root"). It is the owner of the application
// directory when that is not root, so the application runs as whoever
// deployed it and can write where they can; else nobody.
func defaultAccount(c Config) (*Account, error) {
	st, err := os.Stat(c.Chdir)
	if err != nil {
		return nil, err
	}
	owner := st.Sys().(*syscall.Stat_t)
	if owner.Uid == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("running as root, the server needs an unprivileged account (--user): %w", err)
		}
		return accountOf(u, nil), nil
	}
	u, err := user.LookupId(strconv.Itoa(int(owner.Uid)))
	if err != nil { // an owner without a passwd entry (container volumes)
		return &Account{User: "#" + strconv.Itoa(int(owner.Uid)), Group: "#" + strconv.Itoa(int(owner.Gid)),
			UID: int(owner.Uid), GIDs: []int{int(owner.Gid)}}, nil
	}
	return accountOf(u, nil), nil
}

// String is USER:GROUP, as status shows it.
func (a *Account) String() string { return a.User + ":" + a.Group }

// environ is env for a process of the account: HOME, USER and LOGNAME
// are its own, as login would set them, not root's.
func (a *Account) environ(env []string) []string {
	if a.Home != "" {
		env = environ.Set(env, "HOME", a.Home)
	}
	if !strings.HasPrefix(a.User, "#") {
		env = environ.Set(env, "USER", a.User)
		env = environ.Set(env, "LOGNAME", a.User)
	}
	return env
}

// credential is what the server is exec'ed with to run as the account.
func (a *Account) credential() *syscall.Credential {
	cred := &syscall.Credential{Uid: uint32(a.UID), Gid: uint32(a.GIDs[0])}
	for _, g := range a.GIDs {
		cred.Groups = append(cred.Groups, uint32(g))
	}
	return cred
}

// readable says what of the application the account cannot read: its
// directory, its file, the virtualenv. gearctl changes no permission of
// the user's application.
func (a *Account) readable(c Config) error {
	for _, need := range []struct {
		path string
		want uint32
	}{{c.Chdir, 5}, {c.App.File, 4}, {c.Venv, 5}} {
		if need.path == "" {
			continue
		}
		if err := a.check(need.path, need.want); err != nil {
			return err
		}
	}
	return nil
}

// reach has s make the gear directory enterable by the account at spawn
// when it is not (search only: the files in it stay private), for the
// files gearctl generates for the server below it. Its parent must be
// enterable already.
func (a *Account) reach(c Config, s *control.Spec) error {
	if err := a.check(filepath.Dir(c.Dir), 1); err != nil {
		return fmt.Errorf("%w; give --dir somewhere %s can enter", err, a.User)
	}
	if a.check(c.Dir, 1) != nil {
		s.Searchable = append(s.Searchable, c.Dir)
	}
	return nil
}

// execAs has s exec the server as the account, with its credential. The
// files gearctl generates for it go in filesDir, which the account's group
// may list (Python imports a module only from a directory it can list),
// as root:group 0640: the account reads them, and cannot change what the
// next spawn runs.
func (a *Account) execAs(c Config, s *control.Spec) error {
	if err := a.check(s.Path, 1); err != nil {
		return fmt.Errorf("%w; choose an interpreter or server %s can run", err, a.User)
	}
	s.Credential = a.credential()
	if len(s.Files) == 0 {
		return nil
	}
	if err := a.reach(c, s); err != nil {
		return err
	}
	s.SharedFiles, s.SharedGroup, s.SharedDirs, s.Files = s.Files, a.GIDs[0], []string{filesDir(c)}, nil
	return nil
}

// filesDir is where gunicorn, uWSGI and wsgiref get the files gearctl
// generates for them: the gear directory, or, when they are exec'ed as
// --user, a directory of their own in it (see execAs).
func filesDir(c Config) string {
	if c.User == nil {
		return c.Dir
	}
	return filepath.Join(c.Dir, "shared")
}

// check says whether the account can enter every directory above path and
// has the want permission bits (4 read, 1 search or execute) on path
// itself. Supplementary groups count; ACLs do not.
func (a *Account) check(path string, want uint32) error {
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	var dirs []string
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		dirs = append([]string{d}, dirs...)
		if d == "/" || d == "." {
			break
		}
	}
	for _, d := range dirs {
		if !a.may(d, 1) {
			return fmt.Errorf("%s cannot enter %s", a.User, d)
		}
	}
	if !a.may(p, want) {
		verb := "read"
		if want&4 == 0 {
			verb = "run"
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				verb = "enter"
			}
		}
		return fmt.Errorf("%s cannot %s %s", a.User, verb, p)
	}
	return nil
}

func (a *Account) may(path string, want uint32) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st := fi.Sys().(*syscall.Stat_t)
	mode := st.Mode & 0o777
	switch {
	case a.UID == 0:
		return want&1 == 0 || fi.IsDir() || mode&0o111 != 0 // root reads anything, runs what anyone may
	case int(st.Uid) == a.UID:
		return (mode>>6)&want == want
	case slices.Contains(a.GIDs, int(st.Gid)):
		return (mode>>3)&want == want
	default:
		return mode&want == want
	}
}
