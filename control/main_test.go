package control

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary be the server the tests supervise, as
// os/exec's tests do: GEARCTL_TEST_CHILD names the behaviour.
func TestMain(m *testing.M) {
	if mode := os.Getenv("GEARCTL_TEST_CHILD"); mode != "" {
		child(mode)
		os.Exit(0)
	}
	code := m.Run()
	if testing.Verbose() {
		// What the table allows that no test's supervisor did.
		fmt.Println(seen.missed())
	}
	os.Exit(code)
}

// child is a small HTTP server on the inherited fd 3 (or $ADDR), with the
// misbehaviours the tests need.
func child(mode string) {
	switch mode {
	case "exit":
		fmt.Println("child: failing at import")
		os.Exit(3)
	case "forker":
		// A daemon that double-forks: the grandchild is orphaned and must
		// be re-parented to the supervisor, and ended by the stop.
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GEARCTL_TEST_CHILD=sleeper")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Start()
	case "client":
		clientChild()
		os.Exit(0)
	case "lines":
		// Many writers' worth of numbered lines, as fast as it can.
		n, _ := strconv.Atoi(os.Getenv("LINES"))
		w := bufio.NewWriterSize(os.Stdout, 1<<16)
		for i := range n {
			w.WriteString(lineN(i) + "\n")
		}
		w.Flush()
		os.Exit(0)
	case "sleeper":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return
	case "helper":
		// A helper the application starts at import, as
		// subprocess.Popen(["sleep", "120"]) does: it outlives reloads.
		exec.Command("sleep", "120").Start()
	}
	var l net.Listener
	var err error
	if a := os.Getenv("ADDR"); a != "" {
		l, err = net.Listen("tcp", a)
	} else {
		l, err = net.FileListener(os.NewFile(3, "listener"))
	}
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(1)
	}
	status := http.StatusOK
	if mode == "500" {
		status = http.StatusInternalServerError
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			fmt.Println("child: slow request started")
			time.Sleep(time.Second)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "%d %s\n", os.Getpid(), os.Getenv("VERSION"))
	})
	// A graceful stop as real servers do it: stop accepting, finish what
	// was accepted, exit. (http.Server.Shutdown may close a connection
	// accepted at the same moment.)
	var active sync.WaitGroup
	srv := &http.Server{Handler: mux, ConnState: func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			active.Add(1)
		case http.StateClosed, http.StateHijacked:
			active.Done()
		}
	}}
	srv.SetKeepAlivesEnabled(false)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	}
	listeners := []net.Listener{l}
	if probe, err := net.FileListener(os.NewFile(4, "probe")); err == nil {
		listeners = append(listeners, probe)
		go srv.Serve(probe)
	}
	go func() {
		for sig := range sigs {
			for _, l := range listeners {
				l.Close()
			}
			active.Wait()
			if sig == syscall.SIGHUP {
				// Reload in place: same PID, same socket, fresh code.
				syscall.Exec(os.Args[0], os.Args, os.Environ())
			}
			os.Exit(0)
		}
	}()
	if mode == "die-soon" {
		// Ready, then dead: a crash loop the probe alone cannot see.
		time.AfterFunc(200*time.Millisecond, func() { os.Exit(4) })
	}
	fmt.Println("child: serving on", l.Addr())
	srv.Serve(l)
	select {}
}

// childSpec is a Spec running the test binary as child mode on a free port.
func childSpec(t *testing.T, mode string, port int) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Name:         "child-" + mode,
		Path:         exe,
		Args:         []string{exe, "-test.run=^$"},
		Env:          append(os.Environ(), "GEARCTL_TEST_CHILD="+mode),
		Dir:          t.TempDir(),
		Signals:      Signals{Stop: syscall.SIGTERM, Reload: syscall.SIGHUP},
		Host:         "127.0.0.1",
		Port:         port,
		TakesFD:      true,
		ProbeFD:      true,
		ReadyPath:    "/",
		StartTimeout: 10 * time.Second,
		StopTimeout:  5 * time.Second,
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// gear is a supervisor running in the background of a test, with its
// states observed in order.
type gear struct {
	sup    *Supervisor
	states chan Status
	result chan error
	out    *syncBuffer
}

func startGear(t *testing.T, spec Spec) *gear {
	t.Helper()
	return startGearWith(t, spec, Options{})
}

// startGearWith runs a supervisor with opt, its output in g.out unless
// opt has one. Every state change it publishes must be a legal transition.
func startGearWith(t *testing.T, spec Spec, opt Options) *gear {
	t.Helper()
	g := &gear{states: make(chan Status, 256), result: make(chan error, 1), out: &syncBuffer{}}
	if opt.Output == nil {
		opt.Output = g.out
	}
	prev := Starting
	opt.OnChange = func(st Status) {
		if !legal(prev, st.State) {
			t.Errorf("illegal state transition %s -> %s", prev, st.State)
		}
		seen.add(prev, st.State)
		prev = st.State
		g.states <- st
	}
	g.sup = New(spec, opt)
	go func() { g.result <- g.sup.Run() }()
	t.Cleanup(func() {
		g.sup.Kill()
		select {
		case <-g.sup.Done():
		case <-time.After(30 * time.Second):
			t.Error("supervisor did not stop")
		}
	})
	return g
}

// waitState returns the first status in state st, failing the test at the
// deadline or when the supervisor ends first.
func (g *gear) waitState(t *testing.T, st State) Status {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case s := <-g.states:
			if s.State == st {
				return s
			}
		case <-deadline:
			t.Fatalf("state %s not reached; now %s; output:\n%s", st, g.sup.Status().State, g.out)
		}
	}
}

// wait returns Run's result.
func (g *gear) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-g.result:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return; state %s", g.sup.Status().State)
		return nil
	}
}

func get(t *testing.T, port int, path string) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String(), nil
}

// noDescendants fails unless this process has no child processes left:
// the supervisor promised to end them all.
func noDescendants(t *testing.T) {
	t.Helper()
	if d := Descendants(os.Getpid()); len(d) > 0 {
		t.Fatalf("processes left behind: %v", d)
	}
}
