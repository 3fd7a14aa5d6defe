package test

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// notifySocket is a systemd notify socket: a unixgram socket whose
// messages are collected, each as one entry "sender=PID FIELD=VALUE ...",
// the sender's PID taken from the kernel's credentials, as systemd does.
func notifySocket(t *testing.T) (path string, msgs *stream) {
	t.Helper()
	path = filepath.Join(tempDir(t), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs = newStream("the notify socket")
	go func() {
		defer msgs.close()
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			sender := 0
			if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(cms) > 0 {
				if cred, err := unix.ParseUnixCredentials(&cms[0]); err == nil {
					sender = int(cred.Pid)
				}
			}
			msgs.add(fmt.Sprintf("sender=%d %s", sender, strings.Join(strings.Fields(string(buf[:n])), " ")))
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return path, msgs
}

// TestNotify runs gunicorn under systemd's notify protocol: gearctl, the
// main PID, says READY=1 once the application answers, RELOADING=1 on a
// reload and STOPPING=1 on a stop, with STATUS= lines. gunicorn speaks the
// protocol itself and says READY=1 before its workers have imported the
// application: nothing but gearctl may reach the socket.
func TestNotify(t *testing.T) {
	t.Parallel()
	_, err := lookExe("gunicorn")
	need(t, "gunicorn", err)
	t.Run("lifecycle", func(t *testing.T) {
		t.Parallel()
		path, msgs := notifySocket(t)
		g := runGearctl(t, appDir(t, nil), freePort(t), []string{"NOTIFY_SOCKET=" + path}, "--server", "gunicorn")
		g.ready("gunicorn")
		from := fmt.Sprintf("^sender=%d ", g.pid)
		msgs.expect(t, from+"STATUS=gunicorn starting")
		msgs.expect(t, fmt.Sprintf("%sREADY=1 MAINPID=%d STATUS=gunicorn ready", from, g.pid))
		mustGet(t, g.port, "/")

		g.signal(syscall.SIGHUP)
		msgs.expect(t, from+`RELOADING=1 MONOTONIC_USEC=\d+ STATUS=gunicorn reloading`)
		msgs.expect(t, from+"READY=1 ")
		mustGet(t, g.port, "/")

		g.stop(syscall.SIGTERM)
		msgs.expect(t, from+"STOPPING=1 STATUS=gunicorn stopping")
		assertOnlySender(t, msgs, g.pid)
	})
	t.Run("never-ready", func(t *testing.T) {
		t.Parallel()
		path, msgs := notifySocket(t)
		app := appDir(t, map[string]string{"broken.py": "raise RuntimeError('broken at import')\n"})
		g := runGearctl(t, app, freePort(t), []string{"NOTIFY_SOCKET=" + path},
			"--server", "gunicorn", "--app", "broken.py", "--start-timeout", "5s")
		if code := g.wait(); code == 0 {
			t.Errorf("gearctl exited 0 for an application that cannot be imported")
		}
		if n := msgs.count(`READY=1`); n > 0 {
			t.Errorf("READY=1 sent %d times for an application that never answered:\n%s", n, msgs.text())
		}
		assertOnlySender(t, msgs, g.pid)
		g.assertNothingLeft()
	})
}

// assertOnlySender fails for every message not sent by pid.
func assertOnlySender(t *testing.T, msgs *stream, pid int) {
	t.Helper()
	for _, m := range strings.Split(msgs.text(), "\n") {
		if m != "" && !strings.HasPrefix(m, fmt.Sprintf("sender=%d ", pid)) {
			t.Errorf("a process other than gearctl (pid %d) notified systemd: %s", pid, m)
		}
	}
}
