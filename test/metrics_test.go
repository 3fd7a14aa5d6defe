package test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/metrics/metricstest"
)

// TestMetrics runs a gunicorn gear with --metrics and scrapes it as
// Prometheus does, the text parsed by the library's own parser, through a
// start, requests, a crash, a restart, a reload and the stop.
func TestMetrics(t *testing.T) {
	t.Parallel()
	needServer(t, "gunicorn")
	b := newBGGear(t, nil)
	maddr := addr(freePort(t))
	url := "http://" + maddr + "/metrics"
	// No liveness probes: after the start only the test's requests write
	// to the log (gunicorn's access log is on its stdout).
	pid, _ := b.start("gunicorn", "--metrics", maddr, "--probe-interval", "0", "--workers", "2")

	s := metricstest.Get(t, url)
	wantReady(t, s)
	if n := s.Histogram("gearctl_start_duration_seconds").GetSampleCount(); n != 1 {
		t.Errorf("start_duration_seconds count %d after the start; want 1", n)
	}
	if n := s.Histogram("gearctl_probe_duration_seconds", "probe=readiness", "result=success").GetSampleCount(); n == 0 {
		t.Errorf("no readiness probe that succeeded counted, though start said ready")
	}
	for _, role := range []string{"supervisor", "server"} {
		if rss := s.Value("gearctl_resident_memory_bytes", "process="+role); rss <= 0 {
			t.Errorf("resident_memory_bytes{process=%s} = %v; want more than 0", role, rss)
		}
	}
	// gunicorn forks its workers one after the other, the first serving
	// before the second is there.
	var procs float64
	if !eventually(waitLine, func() bool {
		procs = metricstest.Get(t, url).Value("gearctl_processes", "process=server")
		return procs == 3
	}) {
		t.Errorf("processes{process=server} = %v; want 3, gunicorn's master and 2 workers", procs)
	}
	wantRestarts(t, s, 0, 0)
	if s.Families["gearctl_last_exit_code"] != nil {
		t.Errorf("a last exit before any server exited")
	}
	// A second start finds the gear running, its metrics address its own.
	b.do("start", "--port", strconv.Itoa(b.port), "--server", "gunicorn", "--metrics", maddr).want(t, 0).
		has(t, `^gearctl: already running: gunicorn pid `+strconv.Itoa(pid)+`, ready$`)

	// What reaches server.log is counted: the counter grows with the
	// requests' access lines, and comes to the log's size.
	logged := s.Value("gearctl_log_written_bytes_total")
	for range 3 {
		mustGet(t, b.port, "/")
	}
	log := filepath.Join(b.dir, "logs", "server.log")
	var bytes float64
	var size int64
	if !eventually(waitLine, func() bool {
		s = metricstest.Get(t, url)
		bytes = s.Value("gearctl_log_written_bytes_total")
		fi, err := os.Stat(log)
		size = -1
		if err == nil {
			size = fi.Size()
		}
		return bytes > logged && bytes == float64(size)
	}) {
		t.Errorf("log_written_bytes_total %v after 3 requests (%v before), server.log has %d bytes; want more, and the log's size", bytes, logged, size)
	}
	if n := s.Value("gearctl_log_write_errors_total"); n != 0 {
		t.Errorf("log_write_errors_total = %v; want 0", n)
	}

	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(waitLine, func() bool {
		st, code := b.status()
		return code == 0 && st.State == "ready" && st.PID != pid
	}) {
		t.Fatalf("no new gunicorn ready after SIGKILL of pid %d", pid)
	}
	s = metricstest.Get(t, url)
	wantReady(t, s)
	wantRestarts(t, s, 1, 0)
	if code := s.Value("gearctl_last_exit_code", "signal=SIGKILL"); code != 128+9 {
		t.Errorf("last_exit_code{signal=SIGKILL} = %v; want 137", code)
	}
	if at := s.Value("gearctl_last_exit_timestamp_seconds"); at < float64(killed.UnixNano())/1e9 || at > float64(time.Now().UnixNano())/1e9 {
		t.Errorf("last_exit_timestamp_seconds = %v; want between the kill (%v) and now", at, float64(killed.UnixNano())/1e9)
	}
	if n := s.Histogram("gearctl_start_duration_seconds").GetSampleCount(); n != 2 {
		t.Errorf("start_duration_seconds count %d after the crash; want 2", n)
	}

	b.restart("gunicorn")
	s = metricstest.Get(t, url)
	wantReady(t, s)
	wantRestarts(t, s, 1, 1)
	if n := s.Histogram("gearctl_restart_duration_seconds").GetSampleCount(); n != 1 {
		t.Errorf("restart_duration_seconds count %d after the restart; want 1", n)
	}

	b.do("reload").want(t, 0)
	s = metricstest.Get(t, url)
	wantReady(t, s)
	if n := s.Histogram("gearctl_reload_duration_seconds").GetSampleCount(); n != 1 {
		t.Errorf("reload_duration_seconds count %d after the reload; want 1", n)
	}

	b.stop()
	if c, err := net.Dial("tcp", maddr); err == nil {
		c.Close()
		t.Errorf("%s still listened on after the stop", maddr)
	}
}

// wantReady asserts a ready gear: up, ready, and of the state series only
// ready's is 1.
func wantReady(t *testing.T, s metricstest.Scrape) {
	t.Helper()
	if up, ready := s.Value("gearctl_up"), s.Value("gearctl_ready"); up != 1 || ready != 1 {
		t.Errorf("up %v ready %v; want 1 and 1", up, ready)
	}
	f := s.Families["gearctl_state"]
	if f == nil {
		t.Fatal("no gearctl_state")
	}
	for _, m := range f.Metric {
		state := m.Label[0].GetValue()
		want := 0.0
		if state == "ready" {
			want = 1
		}
		if m.Gauge.GetValue() != want {
			t.Errorf("gearctl_state{state=%q} = %v; want %v", state, m.Gauge.GetValue(), want)
		}
	}
	if s.Series("gearctl_state", "state=ready") == nil {
		t.Errorf("no gearctl_state{state=\"ready\"}")
	}
}

func wantRestarts(t *testing.T, s metricstest.Scrape, crash, requested float64) {
	t.Helper()
	if c, r := s.Value("gearctl_restarts_total", "cause=crash"), s.Value("gearctl_restarts_total", "cause=requested"); c != crash || r != requested {
		t.Errorf("restarts_total crash %v requested %v; want %v and %v", c, r, crash, requested)
	}
}

// TestMetricsBadAddress: a --metrics address that is taken or not one is
// refused by start and run before anything starts, with one line and
// exit status 2; the program holding the port keeps it.
func TestMetricsBadAddress(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	held := taken.Addr().String()
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"start on a taken port", nil, []string{"start", "--metrics", held}, []string{"--metrics " + held, "address already in use"}},
		{"run on a taken port", nil, []string{"run", "--metrics", held}, []string{"--metrics " + held, "address already in use"}},
		{"variable on a taken port", []string{"GEARCTL_METRICS=" + held}, []string{"start"}, []string{"--metrics " + held, "address already in use"}},
		{"no port", nil, []string{"start", "--metrics", "127.0.0.1"}, []string{"--metrics", "127.0.0.1", "HOST:PORT"}},
		{"port 0", nil, []string{"run", "--metrics", "127.0.0.1:0"}, []string{"--metrics", "127.0.0.1:0", "HOST:PORT"}},
		{"port out of range", []string{"GEARCTL_METRICS=127.0.0.1:70000"}, []string{"start"}, []string{"GEARCTL_METRICS", "70000", "HOST:PORT"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := freePort(t)
			argv := append([]string{gearctlBin, "--dir", tempDir(t)}, c.args...)
			argv = append(argv, "--port", strconv.Itoa(port))
			assertBadInput(t, startGear(t, appDir(t, nil), port, c.env, argv...), c.want, nil)
		})
	}
	// Still ours: it accepts.
	go func() {
		if c, err := taken.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", held)
	if err != nil {
		t.Fatalf("the port taken before the tests: %v", err)
	}
	c.Close()
}

// TestMetricsHAProxy registers a gear with a real haproxy: once haproxy's
// check counts it up, its metrics say so, as status does.
func TestMetricsHAProxy(t *testing.T) {
	t.Parallel()
	_, err := lookExe("haproxy")
	need(t, "haproxy", err)
	needServer(t, "gunicorn")
	sock, _, _ := startLoopbackHAProxy(t)
	b := newBGGear(t, nil)
	maddr := addr(freePort(t))
	url := "http://" + maddr + "/metrics"
	b.start("gunicorn", "--haproxy", "unix:"+sock, "--haproxy-server", "metrics1", "--metrics", maddr)
	var s metricstest.Scrape
	if !eventually(waitLine, func() bool {
		s = metricstest.Get(t, url)
		return s.Series("gearctl_haproxy_healthy") != nil && s.Value("gearctl_haproxy_healthy") == 1 &&
			s.Value("gearctl_haproxy_state", "state=ready") == 1
	}) {
		st, _ := b.status()
		t.Fatalf("haproxy never counted in the metrics as ready and healthy; status says %+v", st.HAProxy)
	}
	for _, c := range []struct {
		name  string
		label string
		want  float64
	}{
		{"gearctl_haproxy_desired", "state=up", 1},
		{"gearctl_haproxy_desired", "state=drain", 0},
		{"gearctl_haproxy_desired", "state=down", 0},
		{"gearctl_haproxy_state", "state=drain", 0},
		{"gearctl_haproxy_state", "state=maint", 0},
	} {
		if got := s.Value(c.name, c.label); got != c.want {
			t.Errorf("%s{%s} = %v; want %v", c.name, c.label, got, c.want)
		}
	}
	if got := s.Value("gearctl_haproxy_error"); got != 0 {
		t.Errorf("haproxy_error = %v; want 0", got)
	}
	if got := s.Value("gearctl_haproxy_learned_timestamp_seconds"); got <= 0 {
		t.Errorf("haproxy_learned_timestamp_seconds = %v; want a time", got)
	}
	b.stop()
}
