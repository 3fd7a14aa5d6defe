// Command bench measures gearctl against what it replaces, side by side in
// one run, and prints one table per section (see README.md):
//
//	go run ./test/bench [-quick] [-out FILE]
//
// a. failed requests and worst latency during restarts and swaps under load
// b. start → ready
// c. crash recovery: SIGKILL of the server's master → first 200 again
// d. the supervisor's idle memory (RSS, PSS, private) and CPU, alone and for many gears
// e. status latency
// f. the log relay: a chatty worker's lines through gearctl, supervisord and into a file
// g. list latency: gearctl list over many gears against supervisorctl status
//
// It runs only on 127.0.0.1, on free ports, and stops and removes
// everything it started, also on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gearctl/gearctl/test/bench/host"
)

type config struct {
	restarts  int           // section a: restarts per server and contender
	swaps     int           // section a: server swaps per contender
	samples   int           // sections b, c, e: samples per server and contender
	idle      time.Duration // section d
	gears     int           // section d: gears on one machine
	listGears int           // section g: gears gearctl list shows
	clients   int           // section a: concurrent clients of the load
	lines     int           // section f: lines the app writes a run
	only      string        // sections to run
	quick     bool
}

// bench holds what every section shares.
type bench struct {
	cfg     config
	root    string   // the module's directory
	load    string   // the load average before the run
	tmp     string   // everything this run writes; removed at exit
	gearctl string   // the binary built from this tree
	app     string   // a copy of examples/hello
	python  string   // the interpreter of wsgiref, for gearctl and the baseline alike
	runner  string   // gearctl's wsgiref runner, for the raw wsgiref baseline
	script  string   // the stop-then-start script
	env     []string // the environment of every command
	procs   groups
	running []contender // stopped at exit if still running
}

func main() {
	var cfg config
	out := flag.String("out", "", "also write the tables to `FILE`")
	flag.IntVar(&cfg.restarts, "restarts", 50, "restarts per server and contender (a)")
	flag.IntVar(&cfg.swaps, "swaps", 15, "server swaps gunicorn → uwsgi → wsgiref → … per contender (a)")
	flag.IntVar(&cfg.samples, "samples", 10, "samples per server and contender: N for b, N/2 for c, 2N for e")
	flag.DurationVar(&cfg.idle, "idle", 60*time.Second, "idle window (d)")
	flag.IntVar(&cfg.gears, "gears", 50, "gears on one machine, each with a gearctl supervisor, against one supervisord (d)")
	flag.IntVar(&cfg.listGears, "list-gears", 100, "gears gearctl list shows, against the programs supervisorctl status shows (f)")
	flag.IntVar(&cfg.clients, "clients", 4, "concurrent clients of the load (a)")
	flag.IntVar(&cfg.lines, "lines", 1_000_000, "lines of 100 bytes the app writes a run (f)")
	flag.StringVar(&cfg.only, "only", "abcdefg", "sections to run")
	flag.BoolVar(&cfg.quick, "quick", false, "a smoke run: 5 restarts, 3 swaps, 3 samples, 5 s idle, 5 gears, 100000 lines, 10 listed gears, unless given")
	flag.Parse()
	if cfg.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, value := range map[string]string{"restarts": "5", "swaps": "3", "samples": "3", "idle": "5s", "gears": "5", "lines": "100000", "list-gears": "10"} {
			if !set[name] {
				flag.Set(name, value)
			}
		}
	}
	if cfg.gears < 1 || cfg.listGears < 1 || cfg.lines < 1 {
		fmt.Fprintln(os.Stderr, "bench: -gears, -list-gears and -lines must be at least 1")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C the bench cleans up; a second one is not
	// caught, for whoever cannot wait for that.
	context.AfterFunc(ctx, stop)
	b := &bench{cfg: cfg}
	report, err := b.run(ctx)
	b.cleanup()
	if err == nil && *out != "" {
		err = os.WriteFile(*out, []byte(report), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run sets up, runs the chosen sections and returns the report, which it
// has also printed.
func (b *bench) run(ctx context.Context) (string, error) {
	t0 := time.Now()
	if err := b.setup(ctx); err != nil {
		return "", err
	}
	sections := []struct {
		letters string
		run     func(context.Context) []*table
	}{
		{"a", b.restarts},
		{"b", b.startup},
		{"c", b.recovery},
		{"de", b.idleAndStatus},
		{"f", b.relay},
		{"g", b.listLatency},
	}
	var tables []*table
	for _, s := range sections {
		if strings.ContainsAny(b.cfg.only, s.letters) {
			tables = append(tables, s.run(ctx)...)
		}
		if ctx.Err() != nil {
			return "", errors.New("interrupted; everything it started is stopped")
		}
	}
	var sb strings.Builder
	sb.WriteString(b.machine(ctx, time.Since(t0)))
	for _, t := range tables {
		sb.WriteString("\n" + t.String())
	}
	fmt.Print("\n" + sb.String())
	return sb.String(), nil
}

// setup builds gearctl and lays out the app, the runner and the script in
// a temporary directory.
func (b *bench) setup(ctx context.Context) error {
	b.load = host.LoadAverage()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	b.root = root
	if b.tmp, err = os.MkdirTemp("", "gearctl-bench-"); err != nil {
		return err
	}
	b.gearctl = filepath.Join(b.tmp, "gearctl")
	build := exec.CommandContext(ctx, "go", "build", "-o", b.gearctl, "./cmd/gearctl")
	build.Dir = root
	// As scripts/example builds it: static, without libc in its memory.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/gearctl: %w\n%s", err, out)
	}
	b.app = filepath.Join(b.tmp, "app")
	b.runner = filepath.Join(b.tmp, "wsgiref_runner.py")
	b.script = filepath.Join(b.tmp, "stopstart.sh")
	// A copy of the app: servers write __pycache__ next to it.
	for _, f := range []struct{ from, to string }{
		{filepath.Join(root, "examples/hello/wsgi.py"), filepath.Join(b.app, "wsgi.py")},
		{filepath.Join(root, "server/wsgiref_runner.py"), b.runner},
	} {
		data, err := os.ReadFile(f.from)
		if err == nil {
			os.MkdirAll(filepath.Dir(f.to), 0o755)
			err = os.WriteFile(f.to, data, 0o644)
		}
		if err != nil {
			return err
		}
	}
	if err := os.WriteFile(b.script, []byte(stopStartScript), 0o755); err != nil {
		return err
	}
	// Debian's Python, which gunicorn and uWSGI run on too, when there is
	// one: a python3 found first on PATH may be a version manager's shim.
	b.python = "/usr/bin/python3"
	if _, err := os.Stat(b.python); err != nil {
		if b.python, err = exec.LookPath("python3"); err != nil {
			return err
		}
	}
	// No GEARCTL_ or OPENSHIFT_ variable of the caller's may change what
	// gearctl runs.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GEARCTL_") && !strings.HasPrefix(kv, "OPENSHIFT_") && !strings.HasPrefix(kv, "VIRTUAL_ENV=") {
			b.env = append(b.env, kv)
		}
	}
	// A registry of the run's own: gearctl list sees the bench's gears
	// alone, and none of them is left in the host's.
	b.env = append(b.env, "GEARCTL_REGISTRY="+filepath.Join(b.tmp, "registry"))
	for _, tool := range []string{"gunicorn", "uwsgi", "supervisord", "supervisorctl", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (Debian: apt-get install gunicorn uwsgi uwsgi-plugin-python3 supervisor): %w", tool, err)
		}
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run from the gearctl module: go run ./test/bench (go env GOMOD: %q, %v)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// atExit has c stopped at exit if it still runs then.
func (b *bench) atExit(c contender) { b.running = append(b.running, c) }

// cleanup stops every contender (a no-op for those already stopped),
// kills what is left of every process group this program created, and
// removes the temporary directory.
func (b *bench) cleanup() {
	for _, c := range b.running {
		if err := bounded(context.Background(), c.stop); err != nil {
			fmt.Fprintf(os.Stderr, "bench: stopping %s: %v\n", c.label(), err)
		}
	}
	b.procs.killAll()
	if b.tmp != "" {
		b.sweep()
		os.RemoveAll(b.tmp)
	}
}

// sweep kills, by PID, any process still running whose command line names
// the bench's temporary directory: every process of this run does (the
// servers' --chdir, gearctl's path, supervisord's -c), and no other. A
// server's processes may sit in groups that gearctl or supervisord made,
// which killAll does not touch; one found here is a leak worth knowing.
func (b *bench) sweep() {
	for _, p := range procTable() {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
		if err != nil || p.pid == os.Getpid() || !strings.Contains(string(cmd), b.tmp) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: left running after its stop: pid %d %s; killing it\n",
			p.pid, strings.ReplaceAll(string(cmd), "\x00", " "))
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// progress says on stderr what the bench is doing: a full run takes minutes.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
