// Command haproxy measures, in one run, how quickly gears join haproxy 2.6
// and prints the tables with the machine they were measured on:
//
//	go run ./test/bench/haproxy [-samples N] [-gears N] [-out FILE]
//
// a. ready → first request haproxy routes to the gear: the time from
// gearctl's ready (its status' ready_at) to the first request sent to
// haproxy's frontend that the gear answered. gearctl registering the gear
// at runtime (--haproxy) is set beside a server written in haproxy.cfg and
// found by haproxy's own checks, with the settings the OpenShift haproxy
// cartridge wrote for each gear ("check fall 2 rise 3 inter 2000") and
// with the default-server of examples/haproxy/haproxy.cfg ("check inter
// 2s rise 2 fall 3"). The same gunicorn, app and health check behind each.
//
// b. registering N gears (100 by default) against one haproxy: N tiny HTTP
// servers in this process, each on a port of 127.0.0.1 the kernel chose,
// registered with haproxy.Registration: Up all at once and N Reconcile
// loops started at once (as N gearctls would), through an admin socket
// as examples/haproxy/haproxy.cfg has it and through one with maxconn
// 200; Up one after another; the runtime API commands alone; Down.
//
// Everything runs on 127.0.0.1. What it starts it stops, by PID, also on
// Ctrl-C; its files are in one temporary directory, removed at exit.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/haproxy"
	"github.com/gearctl/gearctl/test/bench/host"
	"golang.org/x/sys/unix"
)

const (
	haproxyBin = "/usr/sbin/haproxy"
	// probeEvery is the client's pace while it waits for the gear: the
	// resolution of section a.
	probeEvery = 2 * time.Millisecond
	// waitGear bounds every wait for a gear or for haproxy.
	waitGear = 60 * time.Second
	// tagVar marks every process this run starts, for the cleanup.
	tagVar = "GEARCTL_BENCH_HAPROXY_TAG"
)

type config struct {
	samples int
	gears   int
	out     string
}

// bench holds what the sections share.
type bench struct {
	cfg     config
	root    string
	tmp     string
	gearctl string
	app     string
	env     []string
	tag     string
	load    string

	sock    string
	bigSock string
	client  *haproxy.Client
	hap     *exec.Cmd
	hapOut  string

	// frontends and the ports gears listen on
	feDyn, feCart, feExample, feMany int
	gearDyn, gearCart, gearExample   int

	mu    sync.Mutex
	gears map[int]*exec.Cmd // gearctl processes still running, by PID
}

func main() {
	var cfg config
	flag.IntVar(&cfg.samples, "samples", 5, "samples per contender (a)")
	flag.IntVar(&cfg.gears, "gears", 100, "gears to register (b)")
	flag.StringVar(&cfg.out, "out", "", "also write the report to `FILE`")
	flag.Parse()
	if cfg.samples < 1 || cfg.gears < 1 || cfg.gears > 1000 {
		fmt.Fprintln(os.Stderr, "bench: -samples must be 1 or more and -gears 1 to 1000")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second Ctrl-C is not caught
	b := &bench{cfg: cfg, gears: map[int]*exec.Cmd{}, tag: strconv.Itoa(os.Getpid())}
	report, err := b.run(ctx)
	b.cleanup()
	if err == nil && cfg.out != "" {
		err = os.WriteFile(cfg.out, []byte(report), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (b *bench) run(ctx context.Context) (string, error) {
	t0 := time.Now()
	if err := b.setup(ctx); err != nil {
		return "", err
	}
	if err := b.startHAProxy(ctx); err != nil {
		return "", err
	}
	a, err := b.sectionA(ctx)
	if err != nil {
		return "", fmt.Errorf("a: %w", err)
	}
	bt, err := b.sectionB(ctx)
	if err != nil {
		return "", fmt.Errorf("b: %w", err)
	}
	report := b.machine(ctx, time.Since(t0)) + "\n" + a + "\n" + bt
	fmt.Print("\n" + report)
	return report, nil
}

// setup builds gearctl and copies the example app into a temporary
// directory.
func (b *bench) setup(ctx context.Context) error {
	b.load = host.LoadAverage()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("run from the gearctl module: go run ./test/bench/haproxy (go env GOMOD: %q, %v)", gomod, err)
	}
	b.root = filepath.Dir(gomod)
	for _, exe := range []string{haproxyBin, "gunicorn"} {
		if _, err := exec.LookPath(exe); err != nil {
			return fmt.Errorf("%s is needed (Debian: apt-get install haproxy gunicorn): %w", exe, err)
		}
	}
	if b.tmp, err = os.MkdirTemp("", "gearctl-bench-haproxy-"); err != nil {
		return err
	}
	b.gearctl = filepath.Join(b.tmp, "gearctl")
	build := exec.CommandContext(ctx, "go", "build", "-o", b.gearctl, "./cmd/gearctl")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/gearctl: %w\n%s", err, out)
	}
	b.app = filepath.Join(b.tmp, "app")
	src, err := os.ReadFile(filepath.Join(b.root, "examples", "hello", "wsgi.py"))
	if err == nil {
		err = os.MkdirAll(b.app, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(b.app, "wsgi.py"), src, 0o644)
	}
	if err != nil {
		return err
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GEARCTL_") && !strings.HasPrefix(kv, "OPENSHIFT_") &&
			!strings.HasPrefix(kv, "VIRTUAL_ENV=") && !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			b.env = append(b.env, kv)
		}
	}
	b.env = append(b.env, tagVar+"="+b.tag)
	return nil
}

// haproxyConfig: "express" as examples/haproxy/haproxy.cfg has it, for
// gearctl to register in; "cartridge" and "example" each with one server
// written in the file, checked by haproxy alone; "many" for section b.
const haproxyConfig = `global
    stats socket {sock} mode 600 level admin
    # section b: the same API with room for many clients at once
    stats socket {bigSock} mode 600 level admin maxconn 200
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout check 2s
    option httpchk GET /
    http-check expect status 200-499
    retries 3
    option redispatch

frontend fe_dyn
    bind 127.0.0.1:{feDyn}
    default_backend express

frontend fe_cart
    bind 127.0.0.1:{feCart}
    default_backend cartridge

frontend fe_example
    bind 127.0.0.1:{feExample}
    default_backend example

frontend fe_many
    bind 127.0.0.1:{feMany}
    default_backend many

backend express
    balance leastconn

# the OpenShift haproxy cartridge's line for a gear
backend cartridge
    balance leastconn
    server gear 127.0.0.1:{gearCart} check fall 2 rise 3 inter 2000

# examples/haproxy/haproxy.cfg's default-server
backend example
    balance leastconn
    server gear 127.0.0.1:{gearExample} weight 100 check inter 2s rise 2 fall 3

backend many
    balance roundrobin
`

func (b *bench) startHAProxy(ctx context.Context) error {
	ports, err := freePorts(7)
	if err != nil {
		return err
	}
	b.feDyn, b.feCart, b.feExample, b.feMany = ports[0], ports[1], ports[2], ports[3]
	b.gearDyn, b.gearCart, b.gearExample = ports[4], ports[5], ports[6]
	b.sock = filepath.Join(b.tmp, "admin.sock")
	b.bigSock = filepath.Join(b.tmp, "admin-200.sock")
	cfg := strings.NewReplacer(
		"{sock}", b.sock, "{bigSock}", b.bigSock,
		"{feDyn}", strconv.Itoa(b.feDyn), "{feCart}", strconv.Itoa(b.feCart),
		"{feExample}", strconv.Itoa(b.feExample), "{feMany}", strconv.Itoa(b.feMany),
		"{gearCart}", strconv.Itoa(b.gearCart), "{gearExample}", strconv.Itoa(b.gearExample),
	).Replace(haproxyConfig)
	path := filepath.Join(b.tmp, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	b.hapOut = filepath.Join(b.tmp, "haproxy.log")
	out, err := os.Create(b.hapOut)
	if err != nil {
		return err
	}
	defer out.Close()
	b.hap = exec.Command(haproxyBin, "-f", path, "-db")
	b.hap.Stdout, b.hap.Stderr, b.hap.Env = out, out, b.env
	b.hap.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.hap.Start(); err != nil {
		return err
	}
	if b.client, err = haproxy.New("unix:" + b.sock); err != nil {
		return err
	}
	return b.until(ctx, "haproxy's admin socket answers", func() bool {
		_, err := b.client.ShowServersState(ctx, "express")
		return err == nil
	})
}

// ---- a. ready → first routed request ----

type contender struct {
	name  string
	front int
	port  int
	// haproxy: the gear registers itself with --haproxy; otherwise the
	// server is written in haproxy.cfg as backend/gear.
	haproxy bool
	backend string
}

func (b *bench) sectionA(ctx context.Context) (string, error) {
	cs := []contender{
		{name: "gearctl --haproxy: dynamic server, add → enable health → drain → first passing check → ready (inter 2000)",
			front: b.feDyn, port: b.gearDyn, haproxy: true, backend: "express"},
		{name: "haproxy.cfg server, OpenShift cartridge settings: check fall 2 rise 3 inter 2000",
			front: b.feCart, port: b.gearCart, backend: "cartridge"},
		{name: "haproxy.cfg server, examples/haproxy default-server: check inter 2s rise 2 fall 3",
			front: b.feExample, port: b.gearExample, backend: "example"},
	}
	t := &table{
		title: fmt.Sprintf("a. gearctl's ready → first request haproxy routes to the gear (gunicorn, 2 workers, examples/hello; "+
			"client on a new connection every %s while it waits; each gear started a random 0-2 s after haproxy saw the last one down; %d samples each)", probeEvery, b.cfg.samples),
		head: []string{"how the gear joins haproxy", "min", "median", "max", "samples (s)", "gearctl start → ready, median"},
	}
	for _, c := range cs {
		var lat, start []time.Duration
		for i := range b.cfg.samples {
			fmt.Fprintf(os.Stderr, "a: %s: sample %d/%d\n", c.backend, i+1, b.cfg.samples)
			l, s, err := b.sampleA(ctx, c)
			if err != nil {
				return "", fmt.Errorf("%s: %w", c.backend, err)
			}
			lat, start = append(lat, l), append(start, s)
		}
		var each []string
		for _, d := range lat {
			each = append(each, fmt.Sprintf("%.3f", d.Seconds()))
		}
		t.rows = append(t.rows, []string{c.name, secs(slices.Min(lat)), secs(median(lat)), secs(slices.Max(lat)),
			strings.Join(each, " "), secs(median(start))})
	}
	return t.String(), nil
}

// sampleA starts a gear, waits for the first request through haproxy
// that it answers, and returns the time from its ready to that request,
// and from its start to its ready; then stops it and waits until haproxy
// no longer routes to it.
func (b *bench) sampleA(ctx context.Context, c contender) (latency, startup time.Duration, err error) {
	if !c.haproxy {
		// haproxy must have seen the server down first, as after a gear
		// stopped: what is measured is its rise.
		if err := b.until(ctx, c.backend+"/gear down in haproxy", func() bool {
			st, err := b.client.ServerState(ctx, c.backend, "gear")
			return err == nil && st.OpState == haproxy.OpStopped
		}); err != nil {
			return 0, 0, err
		}
	}
	// haproxy saw the server down at one of its checks: starting right
	// away would always start the same time before the next check. A
	// random part of the check interval makes the phase uniform.
	select {
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	case <-time.After(rand.N(haproxy.DefaultInter)):
	}
	version := fmt.Sprintf("%s-%d", c.backend, time.Now().UnixNano())
	pctx, cancel := context.WithTimeout(ctx, waitGear)
	defer cancel()
	first := make(chan time.Time, 1)
	go func() { first <- firstAnswer(pctx, c.front, version) }()

	dir := filepath.Join(b.tmp, "gear-"+c.backend)
	args := []string{"--dir", dir, "--name", "gear-" + c.backend, "run", "--host", "127.0.0.1", "--port", strconv.Itoa(c.port), "--server", "gunicorn"}
	if c.haproxy {
		args = append(args, "--haproxy", "unix:"+b.sock, "--haproxy-backend", c.backend, "--haproxy-server", "gear")
	}
	g, err := b.startGearctl(dir, version, args...)
	if err != nil {
		return 0, 0, err
	}
	sent := <-first
	if sent.IsZero() {
		b.stopGearctl(g)
		return 0, 0, fmt.Errorf("no answer from the gear through haproxy within %s; gearctl's log: %s", waitGear, tailFile(filepath.Join(dir, "out.log"), 20))
	}
	st, err := b.status(ctx, dir)
	if err == nil && (st.ReadyAt.IsZero() || st.StartedAt.IsZero()) {
		err = fmt.Errorf("status says no ready_at or started_at: %+v", st)
	}
	if err != nil {
		b.stopGearctl(g)
		return 0, 0, err
	}
	if err := b.stopGearctl(g); err != nil {
		return 0, 0, err
	}
	if c.haproxy {
		err = b.until(ctx, "gearctl deleted the server from haproxy", func() bool {
			_, err := b.client.ServerState(ctx, c.backend, "gear")
			return errors.Is(err, haproxy.ErrNoSuchServer)
		})
	}
	return sent.Sub(st.ReadyAt), st.ReadyAt.Sub(st.StartedAt), err
}

// firstAnswer sends GET / to the frontend every probeEvery, each on a new
// connection, and returns when the first request answered by the gear
// (the app's answer names version) was sent; zero when ctx ends first.
func firstAnswer(ctx context.Context, front int, version string) time.Time {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	url := "http://127.0.0.1:" + strconv.Itoa(front) + "/"
	for {
		sent := time.Now()
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), " "+version) {
				return sent
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}
		case <-time.After(probeEvery):
		}
	}
}

// status is what the bench reads of `gearctl status --json`.
type status struct {
	State     string    `json:"state"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	ReadyAt   time.Time `json:"ready_at"`
}

func (b *bench) status(ctx context.Context, dir string) (status, error) {
	cmd := exec.CommandContext(ctx, b.gearctl, "--dir", dir, "status", "--json")
	cmd.Env = b.env
	out, _ := cmd.Output() // exit 1 (not ready) still prints the report
	var st status
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("gearctl status --json: %w: %q", err, out)
	}
	return st, nil
}

// startGearctl runs gearctl in its own process group, its output in
// dir/out.log, with VERSION=version for the app to say.
func (b *bench) startGearctl(dir, version string, args ...string) (*exec.Cmd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "out.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(b.gearctl, args...)
	cmd.Dir, cmd.Env = b.app, append(append([]string(nil), b.env...), "VERSION="+version)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.gears[cmd.Process.Pid] = cmd
	b.mu.Unlock()
	return cmd, nil
}

// stopGearctl sends TERM and waits for gearctl to exit; it drains and
// deletes its server in haproxy first.
func (b *bench) stopGearctl(cmd *exec.Cmd) error {
	b.mu.Lock()
	delete(b.gears, cmd.Process.Pid)
	b.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("gearctl exited after TERM: %w", err)
		}
		return nil
	case <-time.After(waitGear):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("gearctl pid %d still running %s after TERM", cmd.Process.Pid, waitGear)
	}
}

// ---- b. registering many gears ----

// tinyGear is one HTTP server of section b.
type tinyGear struct {
	name string
	srv  *http.Server
	port int
}

// bStep is one way of registering or deregistering the gears of section b.
type bStep struct {
	what string
	// row: false for a reset between rows, not reported.
	row        bool
	concurrent bool
	op         func(context.Context, *tinyGear) error
	after      func(context.Context) (string, error)
}

func (b *bench) sectionB(ctx context.Context) (string, error) {
	n := b.cfg.gears
	gears := make([]*tinyGear, n)
	defer func() {
		for _, g := range gears {
			if g != nil {
				g.srv.Close()
			}
		}
	}()
	for i := range gears {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		g := &tinyGear{name: fmt.Sprintf("g%03d", i), port: ln.Addr().(*net.TCPAddr).Port}
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, g.name+"\n") })
		g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		gears[i] = g
		go g.srv.Serve(ln)
	}
	big, err := haproxy.New("unix:" + b.bigSock)
	if err != nil {
		return "", err
	}
	reg := func(c *haproxy.Client, g *tinyGear, inter time.Duration) *haproxy.Registration {
		return &haproxy.Registration{Client: c, Backend: "many", Server: g.name, Addr: "127.0.0.1", Port: g.port, Inter: inter}
	}
	up := func(c *haproxy.Client, inter time.Duration) func(context.Context, *tinyGear) error {
		return func(ctx context.Context, g *tinyGear) error { return reg(c, g, inter).Up(ctx) }
	}
	down := func(c *haproxy.Client) func(context.Context, *tinyGear) error {
		return func(ctx context.Context, g *tinyGear) error { return reg(c, g, 0).Down(ctx) }
	}
	// Up's steps by hand, the server added with "downinter 100ms": a new
	// dynamic server counts as down, so its first check comes downinter
	// after "add server" instead of inter.
	upFast := func(ctx context.Context, g *tinyGear) error {
		c := big
		err := c.AddServer(ctx, "many", g.name, "127.0.0.1", g.port, haproxy.ServerOptions{Weight: haproxy.ServerWeight,
			Check: true, Inter: haproxy.DefaultInter, Extra: []string{"downinter", "100ms"}})
		if err == nil {
			err = c.EnableHealth(ctx, "many", g.name)
		}
		if err == nil {
			err = c.SetState(ctx, "many", g.name, haproxy.StateDrain)
		}
		for err == nil {
			var st haproxy.ServerState
			if st, err = c.ServerState(ctx, "many", g.name); err == nil && st.Healthy() {
				break
			}
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(haproxy.DefaultPollInterval):
			}
		}
		if err == nil {
			err = c.SetState(ctx, "many", g.name, haproxy.StateReady)
		}
		return err
	}
	// The runtime API alone: what Up sends, without waiting for a check.
	raw := func(ctx context.Context, g *tinyGear) error {
		err := b.client.AddServer(ctx, "many", g.name, "127.0.0.1", g.port,
			haproxy.ServerOptions{Weight: haproxy.ServerWeight, Check: true, Inter: haproxy.DefaultInter})
		if err == nil {
			err = b.client.EnableHealth(ctx, "many", g.name)
		}
		if err == nil {
			err = b.client.SetState(ctx, "many", g.name, haproxy.StateReady)
		}
		return err
	}
	rawDel := func(ctx context.Context, g *tinyGear) error {
		err := b.client.SetState(ctx, "many", g.name, haproxy.StateMaint)
		if err == nil {
			err = b.client.DelServer(ctx, "many", g.name)
		}
		return err
	}
	serving := func(ctx context.Context) (string, error) { return b.manyServing(ctx, big, n) }
	gone := func(ctx context.Context) (string, error) {
		sts, err := big.ShowServersState(ctx, "many")
		return fmt.Sprintf("%d servers left", len(sts)), err
	}
	reset := bStep{what: "reset: Down at once through the maxconn 200 socket", concurrent: true, op: down(big), after: gone}
	def, wide := "the admin socket as examples/haproxy has it (stats maxconn default: 10)", "an admin socket with maxconn 200"

	t := &table{
		title: fmt.Sprintf("b. registering %d gears in one haproxy backend (each a Go HTTP server on 127.0.0.1, "+
			"registered by haproxy.Registration as gearctl --haproxy does)", n),
		head: []string{"what", "wall time", "per gear: min", "median", "p90", "max", "errors", "afterwards"},
	}
	steps := []bStep{
		{fmt.Sprintf("%d × Up at once, inter 2000 (gearctl's default), %s", n, def), true, true, up(b.client, 0), serving},
		reset,
	}
	for _, s := range steps {
		if err := b.stepB(ctx, t, s, gears); err != nil {
			return "", err
		}
	}
	if err := b.reconcileB(ctx, t, fmt.Sprintf("%d × Reconcile loops (desired up) started at once, as %d gearctls run them, %s: until all serve",
		n, n, def), gears, big, reg); err != nil {
		return "", err
	}
	steps = []bStep{
		reset,
		{fmt.Sprintf("%d × Up at once, inter 2000, %s", n, wide), true, true, up(big, 0), serving},
		{fmt.Sprintf("%d × Down at once, %s", n, wide), true, true, down(big), gone},
		{fmt.Sprintf("%d × Up's steps at once, the server added with downinter 100ms (inter 2000), %s", n, wide), true, true, upFast, serving},
		reset,
		{fmt.Sprintf("%d × Up one after another, inter 100ms", n), true, false, up(b.client, 100*time.Millisecond), serving},
		{fmt.Sprintf("%d × Down one after another", n), true, false, down(b.client), gone},
		{fmt.Sprintf("%d × add server + enable health + state ready, one after another (the API alone, no wait for a check)", n),
			true, false, raw, serving},
		{fmt.Sprintf("%d × state maint + del server, one after another (the API alone)", n), true, false, rawDel, gone},
	}
	for _, s := range steps {
		if err := b.stepB(ctx, t, s, gears); err != nil {
			return "", err
		}
	}
	return t.String(), nil
}

// stepB runs one step on every gear and adds its row. Errors of the step
// itself are counted in the row; a failed check afterwards ends the run.
func (b *bench) stepB(ctx context.Context, t *table, s bStep, gears []*tinyGear) error {
	fmt.Fprintf(os.Stderr, "b: %s\n", s.what)
	n := len(gears)
	each := make([]time.Duration, n)
	errs := make([]error, n)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	if s.concurrent {
		var wg sync.WaitGroup
		for i, g := range gears {
			wg.Go(func() {
				t := time.Now()
				errs[i] = s.op(sctx, g)
				each[i] = time.Since(t)
			})
		}
		wg.Wait()
	} else {
		for i, g := range gears {
			t := time.Now()
			errs[i] = s.op(sctx, g)
			each[i] = time.Since(t)
		}
	}
	wall := time.Since(t0)
	after, err := s.after(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.what, err)
	}
	failed, first := 0, ""
	for _, e := range errs {
		if e != nil {
			if failed == 0 {
				first = ": " + e.Error()
			}
			failed++
		}
	}
	if !s.row {
		if failed > 0 {
			return fmt.Errorf("%s: %d failed%s", s.what, failed, first)
		}
		return nil
	}
	t.rows = append(t.rows, []string{s.what, secs(wall), secs(slices.Min(each)), secs(median(each)),
		secs(percentile(each, 0.9)), secs(slices.Max(each)), fmt.Sprintf("%d%s", failed, first), after})
	return nil
}

// reconcileB starts one Reconcile loop per gear at once, as gearctl's
// supervisors run them, and measures until haproxy serves every gear; the
// loops' failed steps (retried with backoff) are counted.
func (b *bench) reconcileB(ctx context.Context, t *table, what string, gears []*tinyGear, big *haproxy.Client,
	reg func(*haproxy.Client, *tinyGear, time.Duration) *haproxy.Registration) error {
	fmt.Fprintf(os.Stderr, "b: %s\n", what)
	warns := &countHandler{}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	t0 := time.Now()
	for _, g := range gears {
		r := reg(b.client, g, 0)
		r.Logger = slog.New(warns)
		wg.Go(func() { _ = r.Reconcile(rctx, func() haproxy.Desired { return haproxy.DesiredUp }) })
	}
	servingAt := map[string]time.Duration{}
	err := b.until(ctx, "every gear served by haproxy", func() bool {
		sts, err := big.ShowServersState(ctx, "many")
		if err != nil {
			return false
		}
		for _, s := range sts {
			if _, ok := servingAt[s.Name]; !ok && s.Serving() {
				servingAt[s.Name] = time.Since(t0)
			}
		}
		return len(servingAt) == len(gears)
	})
	if err != nil {
		return fmt.Errorf("%s: %w (%d of %d serving)", what, err, len(servingAt), len(gears))
	}
	wall := time.Since(t0)
	cancel()
	wg.Wait()
	var each []time.Duration
	for _, d := range servingAt {
		each = append(each, d)
	}
	after, err := b.manyServing(ctx, big, len(gears))
	if err != nil {
		return err
	}
	t.rows = append(t.rows, []string{what, secs(wall), secs(slices.Min(each)), secs(median(each)),
		secs(percentile(each, 0.9)), secs(slices.Max(each)),
		fmt.Sprintf("%d failed steps, retried (first: %s)", warns.n.Load(), warns.firstErr()), after})
	return nil
}

// countHandler counts the warnings of Reconcile loops and keeps the first.
type countHandler struct {
	n     atomic.Int64
	mu    sync.Mutex
	first string
}

func (h *countHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if h.n.Add(1) == 1 {
		var sb strings.Builder
		sb.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				sb.WriteString(": " + a.Value.String())
			}
			return true
		})
		h.mu.Lock()
		h.first = sb.String()
		h.mu.Unlock()
	}
	return nil
}

func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func (h *countHandler) firstErr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.first == "" {
		return "none"
	}
	return h.first
}

// manyServing checks that haproxy serves all n gears of "many": UP and
// ready, and n requests through its roundrobin frontend reach n distinct
// gears.
func (b *bench) manyServing(ctx context.Context, c *haproxy.Client, n int) (string, error) {
	sts, err := c.ShowServersState(ctx, "many")
	if err != nil {
		return "", err
	}
	up := 0
	for _, s := range sts {
		if s.Serving() {
			up++
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	seen := map[string]bool{}
	failed := 0
	for range n {
		resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(b.feMany) + "/")
		if err != nil {
			failed++
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed++
			continue
		}
		seen[strings.TrimSpace(string(body))] = true
	}
	return fmt.Sprintf("%d of %d serving; %d requests reached %d gears, %d failed", up, len(sts), n, len(seen), failed), nil
}

// ---- the machine, tables, helpers ----

func (b *bench) machine(ctx context.Context, took time.Duration) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "gearctl haproxy benchmark, %s, %s: -samples %d -gears %d\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), b.cfg.samples, b.cfg.gears)
	fmt.Fprintf(&sb, "machine: %s, load average %s before, %s after\n",
		host.Machine(), b.load, host.LoadAverage())
	fmt.Fprintf(&sb, "versions: %s; %s built from %s; %s; %s\n", runtime.Version(),
		host.Version(ctx, b.gearctl, "version"), host.Revision(ctx, b.root), host.Version(ctx, haproxyBin, "-v"), host.Version(ctx, "gunicorn", "--version"))
	return sb.String()
}

// table is one section's result, printed as markdown.
type table struct {
	title string
	head  []string
	rows  [][]string
}

func (t *table) String() string {
	var sb strings.Builder
	sb.WriteString(t.title + "\n\n")
	line := func(cells []string) { sb.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	return sb.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

func median(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }

// percentile is the nearest-rank percentile.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// until polls cond every 20ms for at most waitGear.
func (b *bench) until(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(waitGear)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %s", waitGear, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// freePorts returns n distinct ports of 127.0.0.1 that were free a moment
// ago, chosen by the kernel.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// cleanup stops what the run started: gearctls still running (TERM, so
// they take their servers down; KILL to their groups after a while),
// haproxy, and any process still carrying the run's tag; then removes the
// temporary directory.
func (b *bench) cleanup() {
	b.mu.Lock()
	var left []*exec.Cmd
	for _, c := range b.gears {
		left = append(left, c)
	}
	b.mu.Unlock()
	for _, c := range left {
		_ = b.stopGearctl(c)
	}
	if b.hap != nil && b.hap.Process != nil {
		_ = b.hap.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = b.hap.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-b.hap.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for _, pid := range tagged(b.tag) {
		killTagged(pid, b.tag)
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
}

// tagged lists the processes whose environment carries the run's tag.
func tagged(tag string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if hasTag(pid, tag) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func hasTag(pid int, tag string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if kv == tagVar+"="+tag {
			return true
		}
	}
	return false
}

// killTagged SIGKILLs pid if it still carries the tag; the pidfd keeps
// the check and the kill about the same process.
func killTagged(pid int, tag string) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if hasTag(pid, tag) {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n" + strings.Join(lines, "\n")
}
