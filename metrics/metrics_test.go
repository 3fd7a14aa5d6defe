package metrics

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/metrics/metricstest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scrape gets m's /metrics as a scraper would.
func scrape(t *testing.T, m *Metrics) metricstest.Scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return metricstest.Parse(t, rec.Body.String())
}

// self is a status whose server is this process: the process metrics
// then read nothing but the test.
func self(state control.State) control.Status {
	return control.Status{State: state, PID: os.Getpid(), SupervisorPID: os.Getpid()}
}

func TestStateIsOneSeriesPerState(t *testing.T) {
	m := New(Config{})
	if s := scrape(t, m); s.Value("gearctl_up") != 0 || s.Value("gearctl_ready") != 0 {
		t.Errorf("before any status: up %v ready %v; want 0 and 0", s.Value("gearctl_up"), s.Value("gearctl_ready"))
	}
	for _, c := range []struct {
		st        control.Status
		up, ready float64
	}{
		{control.Status{State: control.Starting}, 0, 0},
		{self(control.Starting), 1, 0},
		{self(control.Ready), 1, 1},
		{self(control.Unready), 1, 0},
		{self(control.Reloading), 1, 0},
		{control.Status{State: control.Backoff}, 0, 0},
		{control.Status{State: control.Stopped}, 0, 0},
	} {
		m.OnChange(c.st)
		s := scrape(t, m)
		for _, st := range states {
			want := one(st == c.st.State)
			if got := s.Value("gearctl_state", "state="+string(st)); got != want {
				t.Errorf("in %s: gearctl_state{state=%q} = %v; want %v", c.st.State, st, got, want)
			}
		}
		if got := len(s.Families["gearctl_state"].Metric); got != len(states) {
			t.Errorf("in %s: %d state series; want %d", c.st.State, got, len(states))
		}
		if up, ready := s.Value("gearctl_up"), s.Value("gearctl_ready"); up != c.up || ready != c.ready {
			t.Errorf("in %s with pid %d: up %v ready %v; want %v and %v", c.st.State, c.st.PID, up, ready, c.up, c.ready)
		}
	}
	// A state this package does not list still shows, not as nothing.
	m.OnChange(control.Status{State: "hibernating"})
	if got := scrape(t, m).Value("gearctl_state", "state=hibernating"); got != 1 {
		t.Errorf("gearctl_state{state=\"hibernating\"} = %v; want 1", got)
	}
}

func TestRestartsAndLastExit(t *testing.T) {
	m := New(Config{})
	m.OnChange(self(control.Ready))
	s := scrape(t, m)
	if s.Value("gearctl_restarts_total", "cause=crash") != 0 || s.Value("gearctl_restarts_total", "cause=requested") != 0 {
		t.Errorf("restarts before any: crash %v requested %v; want 0 and 0",
			s.Value("gearctl_restarts_total", "cause=crash"), s.Value("gearctl_restarts_total", "cause=requested"))
	}
	if s.Families["gearctl_last_exit_code"] != nil || s.Families["gearctl_last_exit_timestamp_seconds"] != nil {
		t.Errorf("a last exit before any server exited")
	}

	at := time.Date(2026, 12, 1, 10, 0, 0, 500e6, time.UTC)
	st := self(control.Ready)
	st.Crashes, st.Requested, st.Restarts = 3, 2, 5
	st.LastExit = &control.Exit{PID: 99, Code: 137, Signal: "SIGKILL", At: at}
	m.OnChange(st)
	s = scrape(t, m)
	if got := s.Value("gearctl_restarts_total", "cause=crash"); got != 3 {
		t.Errorf("restarts{cause=crash} = %v; want 3", got)
	}
	if got := s.Value("gearctl_restarts_total", "cause=requested"); got != 2 {
		t.Errorf("restarts{cause=requested} = %v; want 2", got)
	}
	if got := s.Value("gearctl_last_exit_code", "signal=SIGKILL"); got != 137 {
		t.Errorf("last_exit_code{signal=SIGKILL} = %v; want 137", got)
	}
	if got := s.Value("gearctl_last_exit_timestamp_seconds"); got != float64(at.UnixNano())/1e9 {
		t.Errorf("last_exit_timestamp_seconds = %v; want %v", got, float64(at.UnixNano())/1e9)
	}

	st.LastExit = &control.Exit{PID: 100, Code: 3, At: at}
	m.OnChange(st)
	s = scrape(t, m)
	if got := s.Value("gearctl_last_exit_code", "signal="); got != 3 {
		t.Errorf("last_exit_code{signal=\"\"} = %v; want 3", got)
	}
	if n := len(s.Families["gearctl_last_exit_code"].Metric); n != 1 {
		t.Errorf("%d last_exit_code series; want 1: the earlier exit's is gone", n)
	}
}

func TestObserverFillsHistograms(t *testing.T) {
	m := New(Config{})
	var _ control.Observer = m
	m.Ready(control.Starting, 120*time.Millisecond)
	m.Ready(control.Restarting, 200*time.Millisecond)
	m.Ready(control.Restarting, 300*time.Millisecond)
	m.Ready(control.Reloading, 2*time.Second)
	m.Ready(control.Stopping, time.Second) // not a way to get ready: no histogram
	m.Probed(control.Readiness, control.Unreachable, time.Millisecond)
	m.Probed(control.Readiness, control.Unreachable, 2*time.Millisecond)
	m.Probed(control.Readiness, control.Success, 100*time.Millisecond)
	m.Probed(control.Liveness, control.Failure, 5*time.Millisecond)
	s := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels []string
		count  uint64
		sum    float64
	}{
		{"gearctl_start_duration_seconds", nil, 1, .12},
		{"gearctl_restart_duration_seconds", nil, 2, .5},
		{"gearctl_reload_duration_seconds", nil, 1, 2},
		{"gearctl_probe_duration_seconds", []string{"probe=readiness", "result=unreachable"}, 2, .003},
		{"gearctl_probe_duration_seconds", []string{"probe=readiness", "result=success"}, 1, .1},
		{"gearctl_probe_duration_seconds", []string{"probe=liveness", "result=failure"}, 1, .005},
	} {
		h := s.Histogram(c.name, c.labels...)
		if h.GetSampleCount() != c.count || fmt.Sprintf("%.6f", h.GetSampleSum()) != fmt.Sprintf("%.6f", c.sum) {
			t.Errorf("%s%v: count %d sum %v; want %d and %v", c.name, c.labels, h.GetSampleCount(), h.GetSampleSum(), c.count, c.sum)
		}
	}
	if n := len(s.Families["gearctl_probe_duration_seconds"].Metric); n != 3 {
		t.Errorf("%d probe series; want the 3 observed", n)
	}
}

func TestProcessesOfTheGear(t *testing.T) {
	// A server of this supervisor: a child of the test.
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Kill()
		child.Wait()
	})
	burnCPU(t, 50*time.Millisecond)
	m := New(Config{})
	m.OnChange(control.Status{State: control.Ready, PID: child.Process.Pid, SupervisorPID: os.Getpid()})
	s := scrape(t, m)
	for _, role := range []string{"supervisor", "server"} {
		if got := s.Value("gearctl_processes", "process="+role); got != 1 {
			t.Errorf("processes{process=%s} = %v; want 1", role, got)
		}
		if got := s.Value("gearctl_resident_memory_bytes", "process="+role); got <= 0 {
			t.Errorf("resident_memory_bytes{process=%s} = %v; want more than 0", role, got)
		}
	}
	// The test has used CPU time: it is counted, and a second scrape does
	// not count less.
	first := s.Value("gearctl_cpu_seconds_total", "process=supervisor")
	if first <= 0 {
		t.Errorf("cpu_seconds_total{process=supervisor} = %v; want more than 0", first)
	}
	if again := scrape(t, m).Value("gearctl_cpu_seconds_total", "process=supervisor"); again < first {
		t.Errorf("cpu_seconds_total{process=supervisor} fell from %v to %v", first, again)
	}
}

// TestCPUCounterNeverFalls: workers come and go and PIDs are reused, and
// the counter only grows by what the processes alive at each scrape used.
func TestCPUCounterNeverFalls(t *testing.T) {
	var c cpuCounter
	const sup = 1
	steps := []struct {
		procs       []control.ProcessInfo
		sup, server float64
	}{
		{[]control.ProcessInfo{{PID: sup, CPUSeconds: 1}, {PID: 2, CPUSeconds: .5}, {PID: 3, CPUSeconds: .25}}, 1, .75},
		// 3 ended; 2 used .25 more; 4 is new.
		{[]control.ProcessInfo{{PID: sup, CPUSeconds: 1.5}, {PID: 2, CPUSeconds: .75}, {PID: 4, CPUSeconds: .5}}, 1.5, 1.5},
		// 2 was reused by a process that has used less.
		{[]control.ProcessInfo{{PID: sup, CPUSeconds: 1.5}, {PID: 2, CPUSeconds: .125}, {PID: 4, CPUSeconds: .5}}, 1.5, 1.625},
		// Every server process gone.
		{[]control.ProcessInfo{{PID: sup, CPUSeconds: 2}}, 2, 1.625},
	}
	for i, s := range steps {
		got := c.add(s.procs, sup)
		if got[supervisorRole] != s.sup || got[serverRole] != s.server {
			t.Errorf("scrape %d: supervisor %v server %v; want %v and %v", i+1, got[supervisorRole], got[serverRole], s.sup, s.server)
		}
	}
}

func TestLogWritesAndErrors(t *testing.T) {
	if _, ok := scrape(t, New(Config{})).Families["gearctl_log_written_bytes_total"]; ok {
		t.Errorf("log metrics without a log file (servers writing to a terminal)")
	}
	lf, err := control.OpenLogFile(filepath.Join(t.TempDir(), "server.log"), 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	m := New(Config{Log: lf})
	lines := []string{"one\n", "two two\n", "three three three\n"}
	want := 0
	for _, l := range lines {
		fmt.Fprint(lf, l)
		want += len(l)
	}
	s := scrape(t, m)
	if got := s.Value("gearctl_log_written_bytes_total"); got != float64(want) {
		t.Errorf("log_written_bytes_total = %v; want %d", got, want)
	}
	if got := s.Value("gearctl_log_write_errors_total"); got != 0 {
		t.Errorf("log_write_errors_total = %v; want 0", got)
	}

	// A full disk: each write fails, and is counted.
	path := filepath.Join(t.TempDir(), "server.log")
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	full, err := control.OpenLogFile(path, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	m = New(Config{Log: full})
	for range 4 {
		if _, err := fmt.Fprint(full, "lost\n"); err == nil {
			t.Fatal("a write to /dev/full succeeded")
		}
	}
	s = scrape(t, m)
	if got := s.Value("gearctl_log_write_errors_total"); got != 4 {
		t.Errorf("log_write_errors_total = %v; want 4", got)
	}
	if got := s.Value("gearctl_log_written_bytes_total"); got != 0 {
		t.Errorf("log_written_bytes_total = %v on a full disk; want 0", got)
	}
}

func TestHAProxyRegistration(t *testing.T) {
	if _, ok := scrape(t, New(Config{})).Families["gearctl_haproxy_desired"]; ok {
		t.Errorf("haproxy metrics without --haproxy or --agent-port")
	}
	yes := true
	learned := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		report  control.BalancerReport
		desired string
		state   string // "": no state series (an agent alone)
		healthy float64
		failing float64
	}{
		{"agent only", control.BalancerReport{Desired: "drain", Agent: "127.0.0.1:8081"}, "drain", "", -1, 0},
		{"before haproxy answered", control.BalancerReport{Desired: "drain", Backend: "express", Server: "g1", State: "unknown", Error: "connection refused"},
			"drain", "unknown", -1, 1},
		{"ready and healthy", control.BalancerReport{Desired: "up", Backend: "express", Server: "g1", State: "ready", Healthy: &yes, LearnedAt: learned},
			"up", "ready", 1, 0},
		{"deleted", control.BalancerReport{Desired: "down", Backend: "express", Server: "g1", State: "absent", LearnedAt: learned},
			"down", "absent", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := scrape(t, New(Config{Balancer: func() control.BalancerReport { return c.report }}))
			for _, d := range []string{"up", "drain", "down"} {
				if got := s.Value("gearctl_haproxy_desired", "state="+d); got != one(d == c.desired) {
					t.Errorf("haproxy_desired{state=%s} = %v; want %v", d, got, one(d == c.desired))
				}
			}
			if got := s.Value("gearctl_haproxy_error"); got != c.failing {
				t.Errorf("haproxy_error = %v; want %v", got, c.failing)
			}
			if c.state == "" {
				if s.Families["gearctl_haproxy_state"] != nil {
					t.Errorf("a haproxy state for an agent responder alone")
				}
				return
			}
			for _, st := range []string{"ready", "drain", "maint", c.state} {
				if got := s.Value("gearctl_haproxy_state", "state="+st); got != one(st == c.state) {
					t.Errorf("haproxy_state{state=%s} = %v; want %v", st, got, one(st == c.state))
				}
			}
			switch h := s.Series("gearctl_haproxy_healthy"); {
			case c.healthy < 0 && h != nil:
				t.Errorf("haproxy_healthy = %v; want none", h.Gauge.GetValue())
			case c.healthy >= 0 && s.Value("gearctl_haproxy_healthy") != c.healthy:
				t.Errorf("haproxy_healthy = %v; want %v", s.Value("gearctl_haproxy_healthy"), c.healthy)
			}
			if l := s.Series("gearctl_haproxy_learned_timestamp_seconds"); (l != nil) != !c.report.LearnedAt.IsZero() {
				t.Errorf("haproxy_learned_timestamp_seconds present: %v; want %v", l != nil, !c.report.LearnedAt.IsZero())
			}
		})
	}
}

// TestNamesFollowConventions lints every metric, each family present, with
// the library's own linter of Prometheus's naming and help rules.
func TestNamesFollowConventions(t *testing.T) {
	lf, err := control.OpenLogFile(filepath.Join(t.TempDir(), "server.log"), 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	healthy := true
	m := New(Config{Log: lf, Balancer: func() control.BalancerReport {
		return control.BalancerReport{Desired: "up", Backend: "b", Server: "s", State: "ready", Healthy: &healthy, LearnedAt: time.Now()}
	}})
	st := self(control.Ready)
	st.LastExit = &control.Exit{Code: 1, At: time.Now()}
	m.OnChange(st)
	m.Probed(control.Liveness, control.Success, time.Millisecond)
	problems, err := testutil.GatherAndLint(m.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "gearctl_") || f.GetHelp() == "" {
			t.Errorf("%s: want the gearctl_ prefix and help text, help is %q", f.GetName(), f.GetHelp())
		}
	}
	if len(fams) != 20 {
		t.Errorf("%d metric families gathered; want all 20", len(fams))
	}
}

// TestServe serves real HTTP on loopback, and nothing once stopped.
func TestServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{})
	m.OnChange(self(control.Ready))
	stop := m.Serve(l)
	url := "http://" + l.Addr().String()
	if got := metricstest.Get(t, url+"/metrics").Value("gearctl_ready"); got != 1 {
		t.Errorf("served gearctl_ready = %v; want 1", got)
	}
	if resp, err := http.Get(url + "/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %v %v; want 404", resp, err)
	}
	stop()
	if _, err := http.Get(url + "/metrics"); err == nil {
		t.Errorf("GET /metrics answered after stop")
	}
}

// burnCPU spins until this process has used at least d of CPU time, as
// the kernel counts it, so that its clock ticks are more than none.
func burnCPU(t *testing.T, d time.Duration) {
	t.Helper()
	for x := 0; ; x++ {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= d {
			return
		}
		for i := range 1 << 20 {
			x ^= i
		}
	}
}
