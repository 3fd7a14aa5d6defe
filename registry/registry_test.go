package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gearctl/gearctl/internal/testenv"
	"github.com/gearctl/gearctl/pidfile"
)

// live is the record of this test process: a supervisor that runs.
func live(t *testing.T) pidfile.Record {
	t.Helper()
	r, err := pidfile.Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dead is the record of a process that has exited: a supervisor that was
// killed.
func dead(t *testing.T) pidfile.Record {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r, err := pidfile.Lookup(cmd.Process.Pid)
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// entry is a gear named name whose state and application directories are
// below root.
func entry(root, name string, sup pidfile.Record) Entry {
	app := filepath.Join(root, "apps", name)
	return Entry{Name: name, Dir: filepath.Join(app, ".gearctl"), AppDir: app, LogDir: filepath.Join(app, ".gearctl", "logs"), Supervisor: sup}
}

func newRegistry(t *testing.T) Registry {
	return Registry{Dir: filepath.Join(t.TempDir(), "gearctl")}
}

func names(all []Found) string {
	var s []string
	for _, f := range all {
		state := "live"
		switch {
		case f.Err != nil:
			state = "refused"
		case f.Gone:
			state = "gone"
		}
		s = append(s, f.Name+":"+state)
	}
	return strings.Join(s, " ")
}

func TestLocation(t *testing.T) {
	cwd, _ := os.Getwd()
	cases := []struct {
		name string
		uid  int
		env  map[string]string
		want string
	}{
		{"root", 0, nil, "/run/gearctl"},
		{"root with a login's runtime dir", 0, map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, "/run/gearctl"},
		{"user", 1000, map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/gearctl"},
		{"user without a runtime dir", 1000, nil, "/tmp/gearctl-1000"},
		{"user with a relative runtime dir", 1000, map[string]string{"XDG_RUNTIME_DIR": "run"}, "/tmp/gearctl-1000"},
		{"named", 1000, map[string]string{Variable: "/srv/reg", "XDG_RUNTIME_DIR": "/run/user/1000"}, "/srv/reg"},
		{"named relative", 0, map[string]string{Variable: "reg"}, filepath.Join(cwd, "reg")},
	}
	for _, c := range cases {
		if got := Location(c.uid, func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%s: Location = %q; want %q", c.name, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, ok := range []string{"hello", "a", "my-app.v2_1", strings.Repeat("x", 64)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "_x", "a/b", "..", "a b", "é", strings.Repeat("x", 65)} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) = nil; want an error", bad)
		}
	}
	for dir, want := range map[string]string{
		"/srv/hello": "hello", "/srv/hello/": "hello", "/srv/my app": "my-app", "/srv/.hidden": "hidden",
		"/": "gear", "/srv/ééé": "gear", "/srv/" + strings.Repeat("y", 80): strings.Repeat("y", 64),
	} {
		got := DefaultName(dir)
		if got != want {
			t.Errorf("DefaultName(%q) = %q; want %q", dir, got, want)
		}
		if err := ValidName(got); err != nil {
			t.Errorf("DefaultName(%q) = %q, which ValidName refuses: %v", dir, got, err)
		}
	}
}

// TestRegister: an entry registered is listed and looked up, written
// 0600 in a registry made 0700, and removed by its own supervisor only.
func TestRegister(t *testing.T) {
	r := newRegistry(t)
	if all, err := r.List(); err != nil || len(all) != 0 {
		t.Fatalf("a registry not made yet lists %v, %v; want nothing", names(all), err)
	}
	if _, err := os.Stat(r.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("List made the registry: %v", err)
	}
	e := entry(t.TempDir(), "hello", live(t))
	if err := r.Register(e); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]fs.FileMode{r.Dir: 0o700 | fs.ModeDir, r.path("hello"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v, %v; want mode %s", path, fi.Mode(), err, mode)
		}
	}
	all, err := r.List()
	if err != nil || len(all) != 1 || all[0].Entry != e || all[0].Gone || all[0].Err != nil {
		t.Fatalf("List = %+v, %v; want the live entry %+v", all, err, e)
	}
	if f, err := r.Lookup("hello"); err != nil || f.Entry != e {
		t.Errorf("Lookup = %+v, %v; want %+v", f, err, e)
	}
	for _, name := range []string{"nosuch", "../gearctl/hello", ""} {
		if _, err := r.Lookup(name); !errors.Is(err, ErrUnknown) {
			t.Errorf("Lookup(%q) = %v; want ErrUnknown", name, err)
		}
	}

	// A later supervisor of the gear registered since: an earlier one's
	// exit leaves the entry alone.
	earlier := e
	earlier.Supervisor = dead(t)
	if err := r.Remove(earlier); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup("hello"); err != nil {
		t.Fatalf("Remove of an earlier supervisor removed the entry: %v", err)
	}
	if err := r.Remove(e); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup("hello"); !errors.Is(err, ErrUnknown) {
		t.Errorf("after Remove, Lookup = %v; want ErrUnknown", err)
	}
}

// TestGone: an entry whose supervisor exited is listed as gone, gives up
// its name, and Tidy removes it with the malformed ones.
func TestGone(t *testing.T) {
	r := newRegistry(t)
	root := t.TempDir()
	gone, alive := entry(root, "gone", dead(t)), entry(root, "alive", live(t))
	for _, e := range []Entry{gone, alive} {
		if err := r.Register(e); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"garbage.json":  "not json\n",
		"renamed.json":  fmt.Sprintf(`{"name":"other","dir":"/a","app_dir":"/a","log_dir":"/a","supervisor":{"PID":%d}}`, os.Getpid()),
		"relative.json": `{"name":"relative","dir":"a","app_dir":"/a","log_dir":"/a"}`,
		"nopid.json":    `{"name":"nopid","dir":"/a","app_dir":"/a","log_dir":"/a","supervisor":{"PID":0}}`,
	} {
		if err := os.WriteFile(filepath.Join(r.Dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	all, err := r.List()
	if got, want := names(all), "alive:live garbage:refused gone:gone nopid:refused relative:refused renamed:refused"; err != nil || got != want {
		t.Fatalf("List = %q, %v; want %q", got, err, want)
	}
	for _, f := range all {
		if f.Err != nil && !errors.Is(f.Err, ErrMalformed) {
			t.Errorf("%s: %v; want ErrMalformed", f.Name, f.Err)
		}
	}

	// A gone gear's name is free for another gear.
	again := entry(t.TempDir(), "gone", live(t))
	if err := r.Register(again); err != nil {
		t.Fatalf("registering the name of a gone gear: %v", err)
	}
	if err := r.Register(entry(root, "gone2", dead(t))); err != nil {
		t.Fatal(err)
	}
	removed, refused, err := r.Tidy()
	if err != nil || len(refused) != 0 {
		t.Fatalf("Tidy: refused %v, %v", names(refused), err)
	}
	if got, want := names(removed), "garbage:refused gone2:gone nopid:refused relative:refused renamed:refused"; got != want {
		t.Errorf("Tidy removed %q; want %q", got, want)
	}
	all, _ = r.List()
	if got, want := names(all), "alive:live gone:live"; got != want {
		t.Errorf("after Tidy, List = %q; want %q", got, want)
	}
}

// TestTaken: a live gear's name is refused to a gear of another state
// directory, with the holder's app dir named, also when many register at
// once; its own gear may register again, and a new name replaces the
// gone entries of the same gear.
func TestTaken(t *testing.T) {
	r := newRegistry(t)
	root := t.TempDir()
	holder := entry(root, "web", live(t))
	if err := r.Register(holder); err != nil {
		t.Fatal(err)
	}
	other := entry(filepath.Join(root, "other"), "web", live(t))
	err := r.Register(other)
	var taken *TakenError
	if !errors.As(err, &taken) || taken.Holder != holder || !strings.Contains(err.Error(), holder.AppDir) {
		t.Fatalf("Register of a taken name = %v; want a *TakenError naming %s", err, holder.AppDir)
	}
	if err := r.Register(holder); err != nil {
		t.Errorf("the holder registering again: %v", err)
	}

	// Renamed: the gear's gone entry under its old name goes.
	old := entry(root, "old", dead(t))
	if err := r.Register(old); err != nil {
		t.Fatal(err)
	}
	renamed := old
	renamed.Name, renamed.Supervisor = "new", live(t)
	if err := r.Register(renamed); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup("old"); !errors.Is(err, ErrUnknown) {
		t.Errorf("the gone entry of the renamed gear: Lookup = %v; want ErrUnknown", err)
	}

	// Many gears of one name at once: one wins.
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.Register(entry(filepath.Join(root, strconv.Itoa(i)), "race", live(t)))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.As(err, &taken):
			t.Errorf("a concurrent Register: %v; want nil or a *TakenError", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent registrations of one name won; want 1", won, n)
	}
}

// TestUntrusted: a registry directory or entry another user could have
// written is refused, never read, and left as it is.
func TestUntrusted(t *testing.T) {
	base := t.TempDir()
	open := Registry{Dir: filepath.Join(base, "open")}
	if err := os.Mkdir(open.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open.Dir, 0o777) // the umask took some away
	target := Registry{Dir: filepath.Join(base, "target")}
	if err := os.Mkdir(target.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := Registry{Dir: filepath.Join(base, "link")}
	if err := os.Symlink(target.Dir, link.Dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    Registry
		want string
	}{{open, "mode 0777"}, {link, "symlink"}} {
		_, err := c.r.List()
		if !errors.Is(err, pidfile.ErrUntrusted) || !strings.Contains(err.Error(), c.r.Dir) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("List of %s = %v; want ErrUntrusted naming it and %q", c.r.Dir, err, c.want)
		}
		if err := c.r.Register(entry(base, "x", live(t))); !errors.Is(err, pidfile.ErrUntrusted) {
			t.Errorf("Register in %s = %v; want ErrUntrusted", c.r.Dir, err)
		}
		if _, err := c.r.Lookup("x"); !errors.Is(err, pidfile.ErrUntrusted) {
			t.Errorf("Lookup in %s = %v; want ErrUntrusted", c.r.Dir, err)
		}
	}
	if files, _ := os.ReadDir(target.Dir); len(files) != 0 {
		t.Errorf("the symlinked registry's target was written: %v", files)
	}

	// An entry others may write, in a registry of ours.
	r := newRegistry(t)
	e := entry(base, "planted", live(t))
	if err := r.Register(e); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.path("planted"), 0o666); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, r, e)
}

// TestForeignOwner: as root, a registry or an entry of the user nobody is
// refused.
func TestForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Need(t, "root", errors.New("giving files to another user needs root"))
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		testenv.Need(t, "the user nobody", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	base := t.TempDir()
	theirs := Registry{Dir: filepath.Join(base, "theirs")}
	if err := os.Mkdir(theirs.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs.Dir, uid, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := theirs.List(); !errors.Is(err, pidfile.ErrUntrusted) || !strings.Contains(err.Error(), "owned by nobody") {
		t.Errorf("List of nobody's registry = %v; want ErrUntrusted naming nobody", err)
	}
	if err := theirs.Register(entry(base, "x", live(t))); !errors.Is(err, pidfile.ErrUntrusted) {
		t.Errorf("Register in nobody's registry = %v; want ErrUntrusted", err)
	}

	r := newRegistry(t)
	e := entry(base, "planted", live(t))
	if err := r.Register(e); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(r.path("planted"), uid, -1); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, r, e)
}

// assertRefused checks that the entry e of r, which another user could
// have written, is refused by every method and left in place.
func assertRefused(t *testing.T, r Registry, e Entry) {
	t.Helper()
	all, err := r.List()
	if err != nil || len(all) != 1 || !errors.Is(all[0].Err, pidfile.ErrUntrusted) || all[0].Dir != "" {
		t.Errorf("List = %+v, %v; want the entry refused, unread", all, err)
	}
	if _, err := r.Lookup(e.Name); !errors.Is(err, pidfile.ErrUntrusted) {
		t.Errorf("Lookup = %v; want ErrUntrusted", err)
	}
	if err := r.Register(e); !errors.Is(err, pidfile.ErrUntrusted) {
		t.Errorf("Register over it = %v; want ErrUntrusted", err)
	}
	removed, refused, err := r.Tidy()
	if err != nil || len(removed) != 0 || len(refused) != 1 {
		t.Errorf("Tidy removed %v, refused %v, %v; want it refused", names(removed), names(refused), err)
	}
	if err := r.Remove(e); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if _, err := os.Lstat(r.path(e.Name)); err != nil {
		t.Errorf("the refused entry was removed: %v", err)
	}
}
