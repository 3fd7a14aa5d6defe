package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/gearctl/gearctl/cartridge"
	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/metrics"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "supervise the server in the foreground (container ENTRYPOINT, PID 1, systemd Type=notify)",
		ArgsUsage: "[-- extra server arguments]",
		Flags: append(append(appFlags(), supervisorFlags()...),
			boolFlag(cli.GenericFlag{Name: "log-to-terminal", Usage: "server output to this terminal; off: to server.log in the log directory, rotated"}, true),
			&cli.StringFlag{Name: "log-max-size", Value: "10M", EnvVars: []string{"GEARCTL_LOG_MAX_SIZE"},
				Usage: "rotate server.log at this size (K, M, G suffixes)"},
			intFlag(cli.GenericFlag{Name: "log-keep", EnvVars: []string{"GEARCTL_LOG_KEEP"},
				Usage: "rotated files to keep"}, 5, acceptedNumber),
			// start hands the spec it resolved over in a file (see
			// control.Gear.Handoff).
			&cli.StringFlag{Name: "handoff", Hidden: true},
		),
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	g, err := gearDir(c)
	if err != nil {
		return err
	}
	var spec control.Spec
	if token := c.String("handoff"); token != "" {
		spec, err = g.TakeHandoff(token)
	} else {
		spec, _, err = newCall(c, g).resolve(nil)
	}
	if err != nil {
		return err
	}
	if err := checkBalancer(c, spec.Host); err != nil {
		return err
	}
	if err := checkServerFile(g); err != nil {
		return err
	}
	if err := nameFree(g, spec.Dir); err != nil {
		return err
	}
	// Bound before anything starts: a taken address is bad input.
	ml, err := listenMetrics(c, g)
	if err != nil {
		return err
	}
	if ml != nil {
		defer ml.Close()
	}
	out, closeOut, err := output(c, g)
	if err != nil {
		return err
	}
	defer closeOut()
	// The supervisor's own lines go where the server's go, beside them.
	logw := io.Writer(os.Stderr)
	if !c.Bool("log-to-terminal") {
		logw = out
	}
	log := newLogger(logw, c.String("log-format"))
	log.Info(spec.App)
	lock, err := g.Lock()
	if errors.Is(err, control.ErrAlreadyRunning) {
		return exitWith(1, "%v; see 'gearctl --dir %s status'", err, g.Dir)
	}
	if err != nil {
		return exitWith(1, "%v", err)
	}
	registered, err := register(g, spec, log)
	if err != nil {
		lock.Unlock()
		return err
	}
	defer registered.remove()
	// Under the lock: a second run on a running gear must not deploy.
	// Not in the background supervisor that start launches: there,
	// deploying is the control actions' business, and a start must not
	// deploy.
	if c.String("handoff") == "" {
		err := cartridge.DeployHook(c.Context, spec.Dir, spec.Env, os.Stdout, func(msg string) { fmt.Fprintln(os.Stderr, "gearctl: "+msg) })
		if err != nil {
			err = fromCartridge(err)
			lock.Unlock()
			return err
		}
	}
	opt := control.Options{Logger: log, Output: out}
	changes := []func(control.Status){notifier(log), registered.OnChange}
	if files := activation.Files(true); len(files) > 0 {
		opt.Listener = files[0]
	}
	api := control.APIOptions{Rotate: rotator(out)}
	f, err := follower(c, spec, log)
	if err != nil {
		lock.Unlock()
		return err
	}
	if f != nil {
		defer func() {
			if err := f.Close(); err != nil {
				log.Warn(err.Error())
			}
		}()
		changes = append(changes, f.OnChange)
		opt.BeforeStop = f.BeforeStop
		opt.Handover = f.Handover
		api.Balancer = f.Report
	}
	var last control.Latest
	changes = append(changes, last.Set)
	if ml != nil {
		m := metrics.New(metrics.Config{Log: logFile(out), Balancer: api.Balancer})
		changes = append(changes, m.OnChange)
		opt.Observer = m
		stop := m.Serve(ml)
		defer stop()
	}
	opt.OnChange = onChanges(changes)
	began := time.Now()
	err = g.Run(lock, spec, opt, api)
	switch {
	case err == nil:
		logStopped(log, last.Get(), time.Since(began))
	case !c.Bool("log-to-terminal"):
		// A background supervisor's last word belongs in the log that
		// `gearctl logs` shows, not only in supervisor.out.
		log.Error(err.Error())
	}
	return failure(err)
}

// logStopped is run's last line after a stop: what stopped, how, and how
// long the gear ran.
func logStopped(log *slog.Logger, st control.Status, ran time.Duration) {
	ranFor := ran.Round(time.Second).String()
	if e := st.LastExit; e != nil {
		log.Info("stopped: {server} pid {pid} {exit}; the gear ran {ran}", "server", st.Server, "pid", e.PID, "exit", e.String(), "ran", ranFor)
		return
	}
	log.Info("stopped; the gear ran {ran}", "ran", ranFor)
}

// output is where server lines go: the terminal, or the rotated log.
func output(c *cli.Context, g control.Gear) (io.Writer, func(), error) {
	if c.Bool("log-to-terminal") {
		return os.Stdout, func() {}, nil
	}
	size, err := parseSize(c.String("log-max-size"))
	if err != nil {
		return nil, nil, usageErrorf("--log-max-size %q: %v; accepted: a size such as 512K, 10M or 1G", c.String("log-max-size"), err)
	}
	if c.Int("log-keep") < 0 {
		return nil, nil, usageErrorf("--log-keep %d: out of range; accepted: 0 or more", c.Int("log-keep"))
	}
	l, err := control.OpenLogFile(g.ServerLog(), size, c.Int("log-keep"))
	if err != nil {
		return nil, nil, usageErrorf("--log-dir %s: %v; accepted: a directory this user can write", g.Logs(), err)
	}
	return l, func() { l.Close() }, nil
}

// rotator rotates the log for tidy; a terminal has nothing to rotate.
func rotator(out io.Writer) func() error {
	l := logFile(out)
	if l == nil {
		return nil
	}
	return l.Rotate
}

// logFile is the rotated log that out is; nil for a terminal.
func logFile(out io.Writer) *control.LogFile {
	l, _ := out.(*control.LogFile)
	return l
}

// onChanges hears a status change with each of fs that is set, in order.
func onChanges(fs []func(control.Status)) func(control.Status) {
	fs = slices.DeleteFunc(fs, func(f func(control.Status)) bool { return f == nil })
	return func(st control.Status) {
		for _, f := range fs {
			f(st)
		}
	}
}

// failure is the exit for a supervisor that could not keep the server
// running: the cause and, for a server that failed, its last lines.
func failure(err error) error {
	if err == nil {
		return nil
	}
	var fe *control.FailError
	if errors.As(err, &fe) && len(fe.LastLines) > 0 {
		return exitWith(1, "%v\nlast lines of output:\n%s", err, fe.Tail())
	}
	return exitWith(1, "%v", err)
}

// parseSize reads 10M, 512K, 1G or plain bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errors.New("not a size")
	}
	return n * mult, nil
}
