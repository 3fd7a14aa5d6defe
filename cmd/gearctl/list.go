package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/registry"
	"github.com/urfave/cli/v2"
)

func listCommand() *cli.Command {
	return &cli.Command{
		Name: "list",
		Usage: "every gear of this user on the host, one line each: name, state, server, pid, listen, uptime, " +
			"restarts, application directory; a gear whose supervisor is gone is listed as gone (tidy removes it)",
		Flags: []cli.Flag{boolFlag(cli.GenericFlag{Name: "json", Usage: "for machines"}, false)},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unexpected argument %q; list takes none (gearctl status NAME shows one gear)", c.Args().First())
			}
			reg := registry.Default()
			all, err := reg.List()
			if err != nil {
				return registryErr(err)
			}
			var entries []registry.Found
			var refused []error
			for _, f := range all {
				if f.Err != nil {
					refused = append(refused, f.Err)
				} else {
					entries = append(entries, f)
				}
			}
			gears := survey(c.Context, entries)
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				enc.Encode(listing{Registry: reg.Dir, Gears: gears})
			} else {
				printList(c.App.Writer, reg.Dir, gears)
			}
			for _, err := range refused {
				fmt.Fprintf(errWriter, "gearctl: %v; not listed\n", err)
			}
			if len(refused) > 0 {
				return &exitError{code: 2}
			}
			return nil
		},
	}
}

// listing is list --json.
type listing struct {
	Registry string   `json:"registry"`
	Gears    []listed `json:"gears"`
}

// listed is one gear of the list, as its supervisor reports it. State is
// the supervisor's (status's states), or gone (the supervisor exited
// without removing its entry: killed, or crashed; the server it left may
// run on), unresponsive (it did not answer within askWithin), or starting
// (it has not opened its control socket yet).
type listed struct {
	Name          string    `json:"name"`
	State         string    `json:"state"`
	Server        string    `json:"server,omitempty"`
	PID           int       `json:"pid,omitempty"`
	SupervisorPID int       `json:"supervisor_pid"`
	Listen        string    `json:"listen,omitempty"`
	AppDir        string    `json:"app_dir"`
	Dir           string    `json:"dir"`
	LogDir        string    `json:"log_dir"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	Uptime        float64   `json:"uptime_seconds,omitempty"`
	Restarts      int       `json:"restarts"`
	Detail        string    `json:"detail,omitempty"`
}

// The states list adds to a supervisor's own.
const (
	stateGone         = "gone"
	stateUnresponsive = "unresponsive"
	stateStarting     = string(control.Starting)
)

// askWithin bounds each supervisor's answer, so that one that is hung
// (SIGSTOPped, or stuck) is listed as unresponsive instead of holding up
// the list: a supervisor that runs answers in milliseconds.
const askWithin = time.Second

// survey gives every gear's state: as its supervisor last published it in
// the registry, else (one of an older gearctl, or one that has not
// published yet) as it answers, all asked at once.
func survey(ctx context.Context, entries []registry.Found) []listed {
	gears := make([]listed, len(entries))
	var wg sync.WaitGroup
	for i, f := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gears[i] = ask(ctx, f)
		}()
	}
	wg.Wait()
	return gears
}

// ask is what the supervisor of f says of its gear, or, once it is gone,
// what its state directory says of the server it left.
func ask(ctx context.Context, f registry.Found) listed {
	l := listed{Name: f.Name, AppDir: f.AppDir, Dir: f.Dir, LogDir: f.LogDir, SupervisorPID: f.Supervisor.PID}
	ctx, cancel := context.WithTimeout(ctx, askWithin)
	defer cancel()
	g := control.Gear{Dir: f.Dir, LogDir: f.LogDir}
	if f.Gone {
		l.State = stateGone
		l.Detail = "its supervisor is gone; gearctl tidy removes the entry"
		if rep, _, err := gear.Status(ctx, g); err == nil && rep.State == control.Unsupervised {
			l.report(rep.Status)
			l.Detail = "its supervisor is gone, the server it left runs on: gearctl status " + f.Name
		}
		return l
	}
	if st := f.State; st != nil {
		// What the supervisor published at its last change of state; its
		// pinned record says it still runs.
		l.report(control.Status{Server: st.Server, PID: st.PID, Listen: st.Listen, Restarts: st.Restarts, StartedAt: st.StartedAt})
		l.State = st.State
		return l
	}
	st, err := g.Client().State(ctx)
	var re *control.RequestError
	if errors.As(err, &re) && re.Code == http.StatusNotFound {
		// A supervisor of an older gearctl has no state of its own to give.
		var rep control.Report
		rep, err = g.Client().Status(ctx)
		st = rep.Status
	}
	switch {
	case err == nil:
		l.report(st)
		l.State = string(st.State)
	case errors.Is(err, control.ErrNoSupervisor) && time.Since(f.Supervisor.Started()) < control.Grace:
		l.State, l.Detail = stateStarting, "its control socket is not open yet"
	case errors.Is(err, context.DeadlineExceeded):
		l.State, l.Detail = stateUnresponsive, fmt.Sprintf("no answer on %s within %s", g.Socket(), askWithin)
	default:
		l.State, l.Detail = stateUnresponsive, err.Error()
	}
	return l
}

// report fills in what a status says.
func (l *listed) report(st control.Status) {
	l.Server, l.PID, l.Listen, l.Restarts, l.StartedAt = st.Server, st.PID, st.Listen, st.Restarts, st.StartedAt
	if !st.StartedAt.IsZero() {
		l.Uptime = math.Round(time.Since(st.StartedAt).Seconds()*1000) / 1000
	}
}

// printList writes a table, a gear a line.
func printList(w io.Writer, reg string, gears []listed) {
	if len(gears) == 0 {
		fmt.Fprintf(w, "gearctl: no gear runs on this host (registry %s)\n", reg)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tSERVER\tPID\tLISTEN\tUPTIME\tRESTARTS\tAPP DIR")
	for _, g := range gears {
		pid, up, restarts := "-", "-", "-"
		if g.PID != 0 {
			pid = strconv.Itoa(g.PID)
		}
		if !g.StartedAt.IsZero() {
			up = time.Since(g.StartedAt).Round(time.Second).String()
		}
		if g.State != stateGone && g.State != stateUnresponsive {
			restarts = strconv.Itoa(g.Restarts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, g.State, dash(g.Server), pid, dash(g.Listen), up, restarts, g.AppDir)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
