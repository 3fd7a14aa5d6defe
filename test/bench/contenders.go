package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A contender runs the hello app with one server on a port of its own, the
// way one tool does it. Each section takes the contenders that can do what
// it measures: the interfaces below.
type contender interface {
	label() string
	addr() string
	// start returns when the tool says the server is started, which is
	// not always when it answers.
	start(ctx context.Context, srv string) error
	stop(ctx context.Context) error
}

// A restarter replaces the running server; srv may name another one: a swap.
type restarter interface {
	contender
	restart(ctx context.Context, srv string) error
}

// A supervisor is a process that stays the parent of the server.
type supervisor interface {
	contender
	pids(ctx context.Context) (supervisor, master int, err error)
}

// A statuser has a status command.
type statuser interface {
	contender
	status(ctx context.Context) error
}

// base is what every contender has: the bench, a directory, a port, and
// the directory of the app its server runs (wsgi.py in it).
type base struct {
	b    *bench
	name string
	dir  string
	port int
	app  string
}

func (c *base) label() string { return c.name }
func (c *base) addr() string  { return fmt.Sprintf("127.0.0.1:%d", c.port) }

// newBase makes a directory and picks a free port for one contender.
func (b *bench) newBase(name, tag string) (base, error) {
	dir, err := os.MkdirTemp(b.tmp, tag+"-")
	if err != nil {
		return base{}, err
	}
	port, err := freePort()
	return base{b: b, name: name, dir: dir, port: port, app: b.app}, err
}

// --- gearctl ---

// gearctlC is the subject: the gearctl binary built from this tree.
type gearctlC struct {
	base
	env []string // added to the bench's environment: settings start has no flag for
}

func (b *bench) newGearctl(tag string) (*gearctlC, error) {
	bs, err := b.newBase("gearctl", tag)
	c := &gearctlC{base: bs}
	b.atExit(c)
	return c, err
}

// gearctl runs a gearctl command on the contender's gear, whose name is
// its directory's: many gears of one application need names of their own.
func (c *gearctlC) gearctl(ctx context.Context, args ...string) (string, error) {
	argv := append([]string{c.b.gearctl, "--dir", filepath.Join(c.dir, "gear"), "--name", filepath.Base(c.dir)}, args...)
	return c.b.procs.run(ctx, slices.Concat(c.b.env, c.env), c.dir, argv...)
}

func (c *gearctlC) start(ctx context.Context, srv string) error {
	_, err := c.gearctl(ctx, "start", "--server", srv, "--host", "127.0.0.1", "--port", strconv.Itoa(c.port),
		"--chdir", c.app, "--app", "wsgi.py", "--python", c.b.python,
		"--workers", strconv.Itoa(workers), "--threads", strconv.Itoa(threads),
		"--stop-timeout", strconv.Itoa(stopTimeout)+"s")
	return err
}

// restart changes only the server: the rest is what the gear runs with.
func (c *gearctlC) restart(ctx context.Context, srv string) error {
	_, err := c.gearctl(ctx, "restart", "--server", srv)
	return err
}

func (c *gearctlC) stop(ctx context.Context) error {
	_, err := c.gearctl(ctx, "stop")
	return err
}

func (c *gearctlC) status(ctx context.Context) error {
	_, err := c.gearctl(ctx, "status")
	return err
}

func (c *gearctlC) pids(ctx context.Context) (int, int, error) {
	out, err := c.gearctl(ctx, "status", "--json")
	if err != nil {
		return 0, 0, err
	}
	var st struct {
		PID           int `json:"pid"`
		SupervisorPID int `json:"supervisor_pid"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return 0, 0, fmt.Errorf("gearctl status --json: %w", err)
	}
	return st.SupervisorPID, st.PID, nil
}

// --- the stop-then-start script ---

// stopStartScript is the bin/control that cartridges shipped.
//
//go:embed stopstart.sh
var stopStartScript string

type scriptC struct {
	base
}

func (b *bench) newScript(tag string) (*scriptC, error) {
	bs, err := b.newBase("stop+start", tag)
	c := &scriptC{base: bs}
	b.atExit(c)
	return c, err
}

func (c *scriptC) script(ctx context.Context, action string, argv ...string) error {
	args := append([]string{"bash", c.b.script, action,
		filepath.Join(c.dir, "server.pid"), filepath.Join(c.dir, "server.log")}, argv...)
	_, err := c.b.procs.run(ctx, c.b.env, c.dir, args...)
	return err
}

func (c *scriptC) start(ctx context.Context, srv string) error {
	return c.script(ctx, "start", c.b.rawArgv(c.app, srv, c.port)...)
}

func (c *scriptC) restart(ctx context.Context, srv string) error {
	return c.script(ctx, "restart", c.b.rawArgv(c.app, srv, c.port)...)
}

func (c *scriptC) stop(ctx context.Context) error {
	return c.script(ctx, "stop")
}

// --- supervisord ---

// supervisordConf is supervisord.conf before its programs, and
// supervisordProgram one program, with Debian's defaults except
// autorestart: startsecs=1 (a program counts as started once it has run
// 1 s, and supervisorctl start and restart wait for that) and
// stopsignal=TERM.
const (
	supervisordConf = `[unix_http_server]
file=%[1]s/supervisor.sock

[supervisord]
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/supervisor.sock
`
	supervisordProgram = `
[program:%[2]s]
command=%[3]s
directory=%[4]s
autorestart=true
redirect_stderr=true
stdout_logfile=%[1]s/%[2]s.log
%[5]s`
)

// supervisordC runs supervisord in the foreground, its child, with a
// generated configuration of a program per port: the server binding it.
// The program on the contender's own port is "app"; the others, which
// only the many gears of section d have, are app2, app3 …
type supervisordC struct {
	base
	ports   []int  // ports[0] is base.port
	options string // more lines of each program's section
	srv     string
	pid     int
	exited  chan struct{}
}

func (b *bench) newSupervisord(tag string) (*supervisordC, error) {
	return b.newSupervisordOf(tag, 1)
}

// newSupervisordOf is a supervisord with n programs.
func (b *bench) newSupervisordOf(tag string, n int) (*supervisordC, error) {
	bs, err := b.newBase("supervisord", tag)
	c := &supervisordC{base: bs, ports: []int{bs.port}}
	b.atExit(c)
	if err == nil && n > 1 {
		if c.ports, err = freePorts(n); err == nil {
			c.port = c.ports[0]
		}
	}
	return c, err
}

func (c *supervisordC) conf() string { return filepath.Join(c.dir, "supervisord.conf") }

func (c *supervisordC) writeConf(srv string) error {
	c.srv = srv
	text := fmt.Sprintf(supervisordConf, c.dir)
	for i, port := range c.ports {
		name := "app"
		if i > 0 {
			name = fmt.Sprintf("app%d", i+1)
		}
		text += fmt.Sprintf(supervisordProgram, c.dir, name, shellJoin(c.b.rawArgv(c.app, srv, port)), c.app, c.options)
	}
	return os.WriteFile(c.conf(), []byte(text), 0o600)
}

// addrs are the addresses of all its programs.
func (c *supervisordC) addrs() []string {
	as := make([]string, len(c.ports))
	for i, port := range c.ports {
		as[i] = fmt.Sprintf("127.0.0.1:%d", port)
	}
	return as
}

func (c *supervisordC) ctl(ctx context.Context, args ...string) (string, error) {
	argv := append([]string{"supervisorctl", "-c", c.conf()}, args...)
	return c.b.procs.run(ctx, c.b.env, c.dir, argv...)
}

func (c *supervisordC) start(_ context.Context, srv string) error {
	if err := c.writeConf(srv); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(c.dir, "supervisord.out"))
	if err != nil {
		return err
	}
	defer log.Close()
	// Not tied to ctx: it runs until stop, which may be after ctx ends.
	cmd := c.b.procs.command(context.Background(), c.b.env, "supervisord", "--nodaemon", "-c", c.conf())
	cmd.Stdout, cmd.Stderr = log, log
	if err := c.b.procs.start(cmd); err != nil {
		return err
	}
	c.pid, c.exited = cmd.Process.Pid, make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()
	return nil
}

// restart is supervisorctl restart; a swap is what a supervisord user does
// to change the command: edit the configuration, then supervisorctl update.
func (c *supervisordC) restart(ctx context.Context, srv string) error {
	if srv == c.srv {
		_, err := c.ctl(ctx, "restart", "app")
		return err
	}
	if err := c.writeConf(srv); err != nil {
		return err
	}
	_, err := c.ctl(ctx, "update")
	return err
}

func (c *supervisordC) stop(ctx context.Context) error {
	if c.exited == nil {
		return nil
	}
	_, err := c.ctl(ctx, "shutdown")
	if err == nil {
		select {
		case <-c.exited:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		syscall.Kill(-c.pid, syscall.SIGKILL)
		<-c.exited
	}
	c.exited = nil
	return err
}

func (c *supervisordC) status(ctx context.Context) error {
	_, err := c.ctl(ctx, "status")
	return err
}

func (c *supervisordC) pids(ctx context.Context) (int, int, error) {
	out, err := c.ctl(ctx, "pid", "app")
	if err != nil {
		return 0, 0, err
	}
	master, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || master == 0 {
		return 0, 0, fmt.Errorf("supervisorctl pid app: %q", out)
	}
	return c.pid, master, nil
}

// --- processes this program spawns itself ---

// directC spawns a command and stops it with TERM: the raw server (the
// start → ready baseline), or the bash wrapper around it (the idle one).
type directC struct {
	base
	wrap   []string // prepended to the server's command line
	pid    int
	exited chan struct{}
}

// wrapper is the smallest supervisor a shell user writes: it relays TERM
// and INT to the server and waits for it.
var wrapper = []string{"bash", "-c",
	`trap 'kill -TERM $pid 2>/dev/null; wait $pid' TERM INT; "$@" & pid=$!; wait $pid`, "wrapper"}

func (b *bench) newDirect(name, tag string, wrap []string) (*directC, error) {
	bs, err := b.newBase(name, tag)
	c := &directC{base: bs, wrap: wrap}
	b.atExit(c)
	return c, err
}

func (c *directC) start(_ context.Context, srv string) error {
	log, err := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	argv := append(append([]string{}, c.wrap...), c.b.rawArgv(c.app, srv, c.port)...)
	cmd := c.b.procs.command(context.Background(), c.b.env, argv...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := c.b.procs.start(cmd); err != nil {
		return err
	}
	c.pid, c.exited = cmd.Process.Pid, make(chan struct{})
	go func() { cmd.Wait(); close(c.exited) }()
	return nil
}

func (c *directC) stop(ctx context.Context) error {
	if c.exited == nil {
		return nil
	}
	syscall.Kill(c.pid, syscall.SIGTERM)
	var err error
	select {
	case <-c.exited:
	case <-ctx.Done():
		err = fmt.Errorf("%s pid %d: no exit after TERM: %w", c.name, c.pid, ctx.Err())
		syscall.Kill(-c.pid, syscall.SIGKILL)
		<-c.exited
	}
	c.exited = nil
	return err
}

func (c *directC) pids(context.Context) (int, int, error) {
	if c.exited == nil {
		return 0, 0, errors.New(c.name + " is not running")
	}
	return c.pid, firstChild(c.pid), nil
}

// --- helpers ---

// freePort asks the kernel for a port nobody listens on.
func freePort() (int, error) {
	ports, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts is n distinct ports nobody listens on. Each is held until all
// are picked. They are below Linux's ephemeral range (32768 and up): a
// port from that range can be taken, between its pick and its bind, by the
// client side of any connection, and with many gears probing their
// servers there are many.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range 100 * n {
		if len(ports) == n {
			return ports, nil
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12768)))
		if err != nil {
			continue // taken
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	if len(ports) == n {
		return ports, nil
	}
	return nil, fmt.Errorf("no %d free ports found in 20000-32767", n)
}

// shellJoin quotes argv for supervisord's command=, which it splits like a
// POSIX shell after expanding %(name)s: a literal % is written %%.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$;#") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = strings.ReplaceAll(a, "%", "%%")
	}
	return strings.Join(q, " ")
}

// cmdTimeout is how long one tool command may take: a stop may wait for the
// stop timeout, and a start for a slow import.
const cmdTimeout = stopTimeout*time.Second + 30*time.Second

// bounded runs f with a context bounded by cmdTimeout.
func bounded(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	return f(ctx)
}
