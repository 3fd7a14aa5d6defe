package gear

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/pidfile"
	"github.com/gearctl/gearctl/server"
)

// Health is what a status says of a gear, as LSB init scripts' exit
// statuses do: Ready (0), NotReady (1: running but not ready, failing, or
// without its supervisor), NotRunning (3).
type Health int

const (
	Ready      Health = 0
	NotReady   Health = 1
	NotRunning Health = 3
)

// Status asks the supervisor or, when none answers, reads what the gear
// directory says: a server left without its supervisor (state
// Unsupervised), or nothing (Stopped). A server pidfile that cannot be
// read is an error wrapping pidfile.ErrGarbage; one naming another
// process now is NotRunning, with the detail saying so.
func Status(ctx context.Context, g control.Gear) (control.Report, Health, error) {
	rep, err := g.Client().Status(ctx)
	switch {
	case err == nil && (rep.State == control.Ready || rep.State == control.Restarting):
		return rep, Ready, nil
	case err == nil:
		return rep, NotReady, nil
	case !errors.Is(err, control.ErrNoSupervisor):
		return rep, NotReady, err
	}
	rep = control.Report{Status: control.Status{State: control.Stopped}}
	p, spec, err := g.Orphan()
	if p != nil {
		defer p.Close()
	}
	switch {
	case errors.Is(err, pidfile.ErrStale):
		rep.Detail = "the server pidfile is stale: " + err.Error()
		return rep, NotRunning, nil
	case err != nil:
		return rep, NotReady, err
	case p == nil:
		return rep, NotRunning, nil
	}
	rep.State = control.Unsupervised
	rep.Server, rep.PID, rep.StartedAt, rep.Listen = spec.Name, p.PID(), p.Record().Started(), fmt.Sprintf("%s:%d", spec.Host, spec.Port)
	rep.App, rep.Interpreter, rep.User = spec.App, spec.Interpreter, spec.User
	rep.Detail = "its supervisor died; 'gearctl start' adopts it, 'gearctl stop' stops it"
	rep.Processes = control.Processes(p.PID())
	return rep, NotReady, nil
}

// Settings are the settings the running gear was started with.
func Settings(rep control.Report) (server.Settings, error) {
	var s server.Settings
	if len(rep.Settings) == 0 {
		return s, errors.New("the supervisor did not say how it was started")
	}
	return s, json.Unmarshal(rep.Settings, &s)
}
