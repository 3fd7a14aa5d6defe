package test

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `gearctl restart` and `gearctl reload` on a background gear, under load:
// a user's requests must never be refused or fail.

// loadClients is how many clients send requests during a restart.
const loadClients = 4

// assertNoRefusal fails when a restart's handover says connections were
// refused: the servers that take gearctl's socket never refuse.
func assertNoRefusal(t *testing.T, handover string) {
	t.Helper()
	if strings.Contains(handover, "refused") {
		t.Errorf("restart says %q; a server that takes the socket must not refuse connections", handover)
	}
}

// TestRestartUnderLoad restarts each server that takes the listening
// socket ten times, and swaps servers, while clients keep sending
// requests: none is refused or fails, every restart has a new master and
// the old one is gone when restart returns.
func TestRestartUnderLoad(t *testing.T) {
	t.Parallel()
	for _, name := range socketServers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			needServer(t, name)
			b := newBGGear(t, nil)
			b.start(name)
			l := startLoad(t, b.port, loadClients)
			for range 10 {
				l.advance(t, 10)
				_, handover := b.restart(name)
				assertNoRefusal(t, handover)
			}
			l.advance(t, 10)
			l.finish(t)
			b.stop()
		})
	}
	t.Run("swaps", func(t *testing.T) {
		t.Parallel()
		for _, name := range socketServers {
			needServer(t, name)
		}
		b := newBGGear(t, nil)
		b.start("gunicorn")
		l := startLoad(t, b.port, loadClients)
		for _, next := range []string{"uwsgi", "wsgiref", "gunicorn"} {
			l.advance(t, 10)
			_, handover := b.restart(next, "--server", next)
			assertNoRefusal(t, handover)
		}
		l.advance(t, 10)
		l.finish(t)
		b.stop()
	})
}

// TestRestartRollback restarts onto an application that raises at import:
// restart exits 1 naming the cause, and the old master serves throughout
// and after, with the gear's settings unchanged.
func TestRestartRollback(t *testing.T) {
	t.Parallel()
	for _, name := range socketServers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			needServer(t, name)
			b := newBGGear(t, map[string]string{"broken.py": "raise RuntimeError('broken at import')\n"})
			pid, _ := b.start(name)
			master := mustProc(t, pid)
			l := startLoad(t, b.port, loadClients)
			l.advance(t, 10)
			r := b.do("restart", "--app", "broken.py", "--start-timeout", "5s").want(t, 1)
			for _, want := range []string{"exit status|killed by signal|not ready within", fmt.Sprintf(`%s pid %d keeps serving`, name, pid), "broken at import"} {
				if !regexp.MustCompile(want).MatchString(r.stderr) {
					t.Errorf("restart's failure does not say %q:\n%s", want, r.stderr)
				}
			}
			l.advance(t, 10)
			if st := b.ready(name); st.PID != pid || !alive(master) {
				t.Errorf("after the failed restart status names pid %d; want the old master %d, alive", st.PID, pid)
			}
			// The failed restart changed nothing: the next one runs the
			// gear's own application.
			b.restart(name)
			helloPID(t, mustGet(t, b.port, "/"))
			l.finish(t)
			b.stop()
		})
	}
}

// TestReload changes the application's code and runs `reload`: the master
// keeps its PID, and the first request after reload returns gets the new
// code.
func TestReload(t *testing.T) {
	t.Parallel()
	for _, name := range socketServers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			needServer(t, name)
			b := newBGGear(t, nil)
			pid, _ := b.start(name)
			master := mustProc(t, pid)
			code := strings.Replace(helloSource, `"hello from pid`, `"hello again from pid`, 1)
			if code == helloSource {
				t.Fatal(`examples/hello/wsgi.py no longer says "hello from pid"`)
			}
			writeFile(t, filepath.Join(b.app, "wsgi.py"), code)
			b.do("reload").want(t, 0).has(t, fmt.Sprintf(`^gearctl: reloaded %s pid %d, GET / answered 200 OK$`, name, pid))
			if body := mustGet(t, b.port, "/"); !strings.HasPrefix(body, "hello again") {
				t.Errorf("the first GET / after reload says %q; want the new code's \"hello again\"", body)
			}
			if st := b.ready(name); st.PID != pid || !alive(master) {
				t.Errorf("after reload status names pid %d; want the same master %d, alive", st.PID, pid)
			}
			b.stop()
		})
	}
}

// TestRestartFlags restarts with changed flags: they take effect, and a
// later restart without them keeps them.
func TestRestartFlags(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"gunicorn", "uwsgi"} {
		t.Run("workers-"+name, func(t *testing.T) {
			t.Parallel()
			needServer(t, name)
			b := newBGGear(t, nil)
			b.start(name)
			pid, _ := b.restart(name, "--workers", "3")
			b.assertWorkers(pid, 3)
			pid, _ = b.restart(name)
			b.assertWorkers(pid, 3)
			st := b.ready(name)
			if w := setting(st.Settings, "workers"); w != float64(3) {
				t.Errorf("status says workers %v; want 3", w)
			}
			if st.Restarts != 2 || st.Requested != 2 || st.Crashes != 0 {
				t.Errorf("restarts %d, requested %d, crashes %d after two restarts; want 2, 2, 0", st.Restarts, st.Requested, st.Crashes)
			}
			b.stop()
		})
	}
	t.Run("port", func(t *testing.T) {
		t.Parallel()
		needServer(t, "gunicorn")
		b := newBGGear(t, nil)
		b.start("gunicorn")
		old := b.port
		b.port = freePort(t)
		_, handover := b.restart("gunicorn", "--port", strconv.Itoa(b.port))
		assertNoRefusal(t, handover)
		helloPID(t, mustGet(t, b.port, "/"))
		if st := b.ready("gunicorn"); st.Listen != addr(b.port) {
			t.Errorf("status says listen %s; want %s", st.Listen, addr(b.port))
		}
		if c, err := net.DialTimeout("tcp", addr(old), 2*time.Second); err == nil {
			c.Close()
			t.Errorf("the old port %d still listens after the gear moved", old)
		}
		b.stop()
	})
}

// assertWorkers waits until the master pid has n children, its workers.
func (b *bgGear) assertWorkers(pid, n int) {
	b.t.Helper()
	count := func() int {
		k := 0
		for _, p := range descendants(pid) {
			if p.ppid == pid && p.state != 'Z' {
				k++
			}
		}
		return k
	}
	if !eventually(waitLine, func() bool { return count() == n }) {
		b.t.Errorf("master pid %d has %d workers; want %d", pid, count(), n)
	}
}

// TestRestartApache restarts an Apache gear: Apache binds its own port, so
// the old one stops before the new one starts, and restart says that
// connections were refused meanwhile.
func TestRestartApache(t *testing.T) {
	t.Parallel()
	needServer(t, "apache")
	b := newBGGear(t, nil)
	// Apache run by root serves as nobody, which must enter --dir.
	b.dir = tempDir(t)
	b.start("apache")
	helloPID(t, mustGet(t, b.port, "/"))
	_, handover := b.restart("apache")
	if !strings.Contains(handover, "refused") {
		t.Errorf("restart of apache says %q; want it to say connections were refused meanwhile", handover)
	}
	helloPID(t, mustGet(t, b.port, "/"))
	b.stop()
}

// TestSocketActivation runs gearctl under systemd-socket-activate: gunicorn
// serves on the socket systemd-socket-activate opened, no other socket
// listens on the port, and SIGTERM stops it all.
func TestSocketActivation(t *testing.T) {
	t.Parallel()
	s := needServer(t, "gunicorn")
	activate, err := lookExe("systemd-socket-activate")
	need(t, "systemd-socket-activate (Debian: apt-get install systemd)", err)
	port := freePort(t)
	g := startGear(t, appDir(t, nil), port, nil, activate, "-l", addr(port),
		gearctlBin, "--dir", tempDir(t), "run", "--server", "gunicorn", "--port", strconv.Itoa(port))
	g.stderr.expect(t, fmt.Sprintf(`^Listening on 127\.0\.0\.1:%d as 3\.$`, port))
	inode := socketInode(g.pid, 3)
	if inode == 0 {
		t.Fatalf("systemd-socket-activate pid %d has no socket as fd 3", g.pid)
	}
	// systemd-socket-activate execs gearctl in place, at once or at the
	// first connection, which waits in the socket's backlog meanwhile.
	helloPID(t, mustGet(t, port, "/"))
	pid := g.ready("gunicorn")
	if !isGearctl(g.pid) {
		t.Fatalf("pid %d runs %q; want gearctl exec'ed by systemd-socket-activate", g.pid, cmdline(g.pid))
	}
	checkMaster(t, g, s, pid)
	if !holdsSocket(pid, inode) {
		t.Errorf("the gunicorn master %d does not hold socket %d made by systemd-socket-activate", pid, inode)
	}
	if l := listeners(port); len(l) != 1 || l[0] != inode {
		t.Errorf("sockets listening on port %d: %v; want only systemd-socket-activate's %d", port, l, inode)
	}
	g.stop(syscall.SIGTERM)
}
