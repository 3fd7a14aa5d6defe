package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// forgedSpec is what a user would plant to have root run their program and
// SIGKILL what they name.
const forgedSpec = `{"Name":"gunicorn","Path":"/bin/sh","Args":["/bin/sh","-c","id > /tmp/gearctl-pwned"],"Signals":{"Stop":9},"Port":%d}`

// victim is a process of the user nobody, the one a forged record names.
func victim(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobodyCred(t)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

// plant writes a server pidfile naming pid, with a forged spec, in dir.
func plant(t *testing.T, dir string, pid, port int) {
	t.Helper()
	if err := pidfile.Write(filepath.Join(dir, "server.pid"), pid); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "server.json"), fmt.Sprintf(forgedSpec, port))
	if err := os.Chmod(filepath.Join(dir, "server.json"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// chownNobody gives path to the user nobody.
func chownNobody(t *testing.T, path string) {
	t.Helper()
	cred := nobodyCred(t)
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatal(err)
	}
}

// refused asserts that every verb that reads the gear's records exits 2
// with one line naming path and what is wrong with it, and that the
// victim was neither signalled nor adopted.
func refused(t *testing.T, b *bgGear, pid int, path, why string) {
	t.Helper()
	for _, verb := range [][]string{{"start", "--port", strconv.Itoa(b.port), "--server", "wsgiref"}, {"stop"}, {"status"}} {
		r := b.do(verb...)
		if r.code != 2 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, why) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line naming %s and %q", verb[0], r.code, r.stderr, path, why)
		}
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("the process the forged record names, pid %d, is gone: %v", pid, err)
	}
	if _, err := os.Stat("/tmp/gearctl-pwned"); err == nil {
		os.Remove("/tmp/gearctl-pwned")
		t.Error("the forged spec's program ran")
	}
	if sups, masters, _ := b.tree(); len(sups)+len(masters) != 0 {
		t.Errorf("supervisors %v, masters %v run; want none", sups, masters)
	}
}

// TestSecurityForeignStateDir: root refuses a --dir that another user owns
// or that others may write, before it reads a record in it.
func TestSecurityForeignStateDir(t *testing.T) {
	t.Parallel()
	t.Run("owned-by-nobody", func(t *testing.T) {
		t.Parallel()
		b := newBGGear(t, nil)
		if err := os.Mkdir(b.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		pid := victim(t)
		plant(t, b.dir, pid, b.port)
		for _, name := range []string{"", "server.pid", "server.json"} {
			chownNobody(t, filepath.Join(b.dir, name))
		}
		refused(t, b, pid, b.dir, "owned by nobody")
	})
	t.Run("world-writable", func(t *testing.T) {
		t.Parallel()
		b := newBGGear(t, nil)
		if err := os.Mkdir(b.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(b.dir, 0o777); err != nil {
			t.Fatal(err)
		}
		pid := victim(t)
		plant(t, b.dir, pid, b.port)
		refused(t, b, pid, b.dir, "mode 0777")
	})
}

// TestSecurityForgedSpecFile: in the caller's own directory, a spec file
// another user owns is not read.
func TestSecurityForgedSpecFile(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	if err := os.Mkdir(b.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pid := victim(t)
	plant(t, b.dir, pid, b.port)
	chownNobody(t, filepath.Join(b.dir, "server.json"))
	r := b.do("start", "--port", strconv.Itoa(b.port), "--server", "wsgiref")
	if r.code != 2 || !strings.Contains(r.stderr, "server.json is owned by nobody") {
		t.Errorf("start: exit %d, stderr %q; want 2, server.json is owned by nobody", r.code, r.stderr)
	}
	if r := b.do("stop"); r.code != 2 || !strings.Contains(r.stderr, "server.json is owned by nobody") {
		t.Errorf("stop: exit %d, stderr %q; want 2, naming server.json", r.code, r.stderr)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("pid %d, named by the forged record, is gone: %v", pid, err)
	}
}

// TestSecurityLogSymlink: a server.log symlink planted in the log dir is
// never followed: start refuses it, the file it points to is untouched.
func TestSecurityLogSymlink(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	logs := filepath.Join(b.dir, "logs")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(tempDir(t), "passwd")
	writeFile(t, target, "root:x:0:0\n")
	if err := os.Symlink(target, filepath.Join(logs, "server.log")); err != nil {
		t.Fatal(err)
	}
	r := b.do("start", "--port", strconv.Itoa(b.port), "--server", "wsgiref")
	if r.code != 2 || !strings.Contains(r.stderr, "server.log is a symlink") {
		t.Errorf("start: exit %d, stderr %q; want 2, server.log is a symlink", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(target); string(got) != "root:x:0:0\n" {
		t.Errorf("the symlink's target now holds %q", got)
	}
	// Every verb refuses the gear while the symlink is there.
	os.Remove(filepath.Join(logs, "server.log"))
	b.assertNothingLeft()
}

// TestSecurityLogDirRemoved: rm -rf of the log dir while serving; the next
// lines go to a recreated log, not to a deleted file.
func TestSecurityLogDirRemoved(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	b.start("wsgiref")
	logs := filepath.Join(b.dir, "logs")
	if err := os.RemoveAll(logs); err != nil {
		t.Fatal(err)
	}
	ok := eventually(10*time.Second, func() bool {
		get(b.port, "/after-rm")
		got, _ := os.ReadFile(filepath.Join(logs, "server.log"))
		return strings.Contains(string(got), "/after-rm")
	})
	if !ok {
		got, _ := os.ReadFile(filepath.Join(logs, "server.log"))
		t.Errorf("no request line in a recreated %s/server.log; it holds %q", logs, got)
	}
	if fi, err := os.Stat(logs); err == nil && fi.Mode().Perm() != 0o700 {
		t.Errorf("the recreated %s has mode %s; want 0700", logs, fi.Mode())
	}
	b.stop()
}

// killSupervisor SIGKILLs the gear's supervisor and waits until it is gone,
// leaving its server running without it.
func (b *bgGear) killSupervisor(sup int) {
	b.t.Helper()
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		b.t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return !isGearctl(sup) }) {
		b.t.Fatalf("supervisor pid %d outlived SIGKILL", sup)
	}
}

// forgeSpec edits the recorded server.json with edit, as its owner could,
// keeping its mode.
func (b *bgGear) forgeSpec(edit func(spec map[string]any)) {
	b.t.Helper()
	path := filepath.Join(b.dir, "server.json")
	var spec map[string]any
	text, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(text, &spec)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	edit(spec)
	forged, _ := json.Marshal(spec)
	writeFile(b.t, path, string(forged))
	os.Chmod(path, 0o600)
}

// TestSecurityRecordedArgvNotRun: a supervisor adopting a server rebuilds
// its spec from the recorded settings; an argv and signal map edited into
// server.json are never used, even in a file the caller owns.
func TestSecurityRecordedArgvNotRun(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	pid, sup := b.start("wsgiref")
	b.killSupervisor(sup)
	marker := filepath.Join(tempDir(t), "ran")
	b.forgeSpec(func(spec map[string]any) {
		spec["Path"], spec["Args"] = "/bin/sh", []string{"/bin/sh", "-c", "touch " + marker + "; exec sleep 600"}
		spec["Signals"] = map[string]int{"Stop": 9}
	})

	b.start("wsgiref") // adopts pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(20*time.Second, func() bool {
		st, code := b.status()
		return code == 0 && st.PID != pid && st.PID != 0
	}) {
		t.Fatal("the adopted server was not restarted")
	}
	b.ready("wsgiref")
	if _, err := os.Stat(marker); err == nil {
		t.Error("the restart ran the argv edited into server.json")
	}
	b.stop()
}

// TestSecurityRecordedSignalNotSent: a stop of a server left without its
// supervisor sends the stop signal its settings give (gunicorn: TERM, a
// graceful stop), not the SIGKILL edited into server.json: the request in
// flight gets its answer. (The attack: a forged "Stop": 9 made
// root's stop SIGKILL what the record named.)
func TestSecurityRecordedSignalNotSent(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, map[string]string{"wsgi.py": lifecycleApp})
	_, sup := b.start("gunicorn")
	b.killSupervisor(sup)
	b.forgeSpec(func(spec map[string]any) {
		spec["Signals"] = map[string]any{"Stop": 9, "Group": true}
	})
	req := startRequest(t, b.port, "/slow")
	time.Sleep(500 * time.Millisecond) // in the worker before the stop
	b.stop()
	if res := req.answer(t); res.err != nil || res.code != http.StatusOK {
		t.Fatalf("request in flight during the stop: %d %v; want 200 from a graceful stop", res.code, res.err)
	}
}

// TestSecurityStateRemoved: the control socket, or the whole state dir,
// removed while serving; within a few seconds the supervisor has made them
// again, and status and stop work.
func TestSecurityStateRemoved(t *testing.T) {
	t.Parallel()
	for name, what := range map[string]string{"socket": "control.sock", "dir": ""} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBGGear(t, nil)
			pid, _ := b.start("wsgiref")
			if err := os.RemoveAll(filepath.Join(b.dir, what)); err != nil {
				t.Fatal(err)
			}
			if !eventually(10*time.Second, func() bool { return b.do("status").code == 0 }) {
				r := b.do("status")
				t.Fatalf("status after rm %s: exit %d\n%s%s", filepath.Join(b.dir, what), r.code, r.stdout, r.stderr)
			}
			if st := b.ready("wsgiref"); st.PID != pid {
				t.Errorf("status names pid %d; want %d", st.PID, pid)
			}
			if fi, err := os.Stat(b.dir); err != nil {
				t.Error(err)
			} else if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s has mode %s; want 0700", b.dir, fi.Mode())
			}
			b.stop()
		})
	}
}
