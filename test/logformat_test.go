package test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestRunLastLine: gearctl's own lines are timestamped, and run ends with
// one line saying what stopped, how, and how long the gear ran.
func TestRunLastLine(t *testing.T) {
	t.Parallel()
	s := needServer(t, "gunicorn")
	g, pid := startServing(t, s, appDir(t, nil))
	g.stop(syscall.SIGTERM)
	lines := strings.Split(strings.TrimRight(g.stderr.text(), "\n"), "\n")
	last := lines[len(lines)-1]
	want := regexp.MustCompile(fmt.Sprintf(logRE+`stopped: gunicorn pid %d exit status 0; the gear ran \d+s$`, pid))
	if !want.MatchString(last) {
		t.Errorf("run's last line %q; want one matching %s", last, want)
	}
}

// TestLogFormatJSON: with --log-format json the background supervisor's
// lines in server.log are JSON objects: the sentence as msg, its template
// as event, and each value typed; the server's own lines stay as they are.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	pid, _ := b.start("gunicorn", "--log-format", "json")
	var found bool
	for _, line := range strings.Split(b.serverLogText(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("a JSON log line does not parse: %v: %s", err, line)
			continue
		}
		if rec["event"] == "{server} pid {pid} listening on {address}" {
			found = true
			if rec["msg"] != fmt.Sprintf("gunicorn pid %d listening on %s", pid, addr(b.port)) || rec["pid"] != float64(pid) || rec["server"] != "gunicorn" {
				t.Errorf("listening record %v; want msg, pid %d and server gunicorn", rec, pid)
			}
			if ts, _ := rec["time"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(ts) {
				t.Errorf("time %q; want RFC 3339 in UTC to the millisecond", rec["time"])
			}
		}
	}
	if !found {
		t.Errorf("server.log has no JSON record of the server listening:\n%s", b.serverLogText())
	}
	if !strings.Contains(b.serverLogText(), "[INFO] Booting worker") {
		t.Errorf("gunicorn's own lines are missing from server.log")
	}
	b.stop()

	r := b.do("start", "--port", "1", "--log-format", "yaml").want(t, 2)
	if want := `gearctl: --log-format "yaml": not accepted; accepted: text or json`; strings.TrimSpace(r.stderr) != want {
		t.Errorf("stderr %q; want %q", r.stderr, want)
	}
}

// TestLogsAndStatusText: logs says when there is no log; status shows the
// log's last lines (-n), restarts by cause, the gear's memory and the
// processes' whole command lines.
func TestLogsAndStatusText(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	b.do("logs").want(t, 1).hasStderr(t, `^gearctl: no log yet: \S+server\.log does not exist`)

	b.start("gunicorn")
	b.restart("gunicorn")
	r := b.do("status", "-n", "3").want(t, 0)
	r.has(t, `^  restarts: 1 \(0 crashed, 1 requested\)$`)
	r.has(t, `^  memory: \d+\.\d MiB in 4 processes, CPU \d+\.\d%$`)
	r.has(t, `^  log: \S+/server\.log$`)
	r.has(t, `^  last 3 lines of the log:$`)
	r.has(t, `gunicorn --bind fd://3 --bind fd://4 .* wsgi:application$`) // not cut
	if r := b.do("status", "-n", "0").want(t, 0); strings.Contains(r.stdout, "lines of the log") {
		t.Errorf("status -n 0 shows log lines:\n%s", r.stdout)
	}
	// The global flags also after the verb, as people type them.
	if out, err := exec.Command(gearctlBin, "status", "-n", "0", "--dir", b.dir).CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ready ") {
		t.Errorf("gearctl status --dir DIR: %v\n%s", err, out)
	}
	b.stop()
}
