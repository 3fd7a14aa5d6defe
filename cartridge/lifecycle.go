package cartridge

import (
	"context"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/gear"
	"github.com/gearctl/gearctl/server"
)

// supervised reports whether the gear's supervisor answers.
func (x *Control) supervised() bool {
	rep, _, err := x.verbs.Inspect()
	return err == nil && rep.SupervisorPID != 0
}

// running reports whether any server of the gear runs, with its
// supervisor or without.
func (x *Control) running() (bool, error) {
	_, health, err := x.verbs.Inspect()
	return health != gear.NotRunning, err
}

func (x *Control) start() error {
	if x.supervised() {
		// Running already: start only says so (once it has settled), and
		// no hook runs, since nothing is started.
		return x.verbs.Start()
	}
	// Bad settings are refused before the pre_start hook can act on them.
	if _, _, err := x.verbs.Resolve(); err != nil {
		return err
	}
	return x.around("start", x.verbs.Start)
}

func (x *Control) stop() error {
	running, err := x.running()
	if err != nil {
		return err
	}
	if !running {
		x.result("not running: nothing to stop")
		return nil
	}
	return x.around("stop", x.verbs.Stop)
}

func (x *Control) restart() error { return x.around("restart", x.verbs.Restart) }

// reload of a stopped gear is what LSB's force-reload is: nothing, and
// success.
func (x *Control) reload() error {
	if !x.supervised() {
		x.result("not running: nothing to reload")
		return nil
	}
	return x.around("reload", x.verbs.Reload)
}

// status answers as the stock cartridge did, with the gear's state
// below, and an exit status that says it: the stock one always exited 0.
func (x *Control) status() error {
	rep, health, err := x.verbs.Inspect()
	if err != nil {
		return err
	}
	if health == gear.Ready {
		if detail, ok := answers(x.ctx, rep); !ok {
			health, rep.Detail = gear.NotReady, "the application does not answer: "+detail
		}
	}
	if health == gear.Ready {
		x.result("Application is running")
	} else {
		x.result("Application is either stopped or inaccessible")
	}
	x.verbs.PrintStatus(ClientWriter(x.out, ClientResult), rep)
	if health == gear.Ready {
		return nil
	}
	return &ExitError{Code: int(health)}
}

// statusTimeout bounds status's request to the application, as the stock
// cartridge's curl -m 30 did.
const statusTimeout = 30 * time.Second

// answers asks the application for its ready path on the address it
// listens on: a gear its supervisor calls ready can still hang. detail
// says why not.
func answers(ctx context.Context, rep control.Report) (detail string, ok bool) {
	path, ready := "/", control.DefaultReady
	if s, err := gear.Settings(rep); err == nil {
		if s.ReadyPath != "" {
			path = s.ReadyPath
		}
		if r, err := server.ParseReadyStatus(s.ReadyStatus); err == nil {
			ready = r
		}
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	res, detail, err := control.Probe(ctx, rep.Listen, path, ready)
	if err != nil {
		return err.Error(), false
	}
	return detail, res == control.Success
}

func (x *Control) tidy() error {
	return x.around("tidy", func() error {
		x.message("rotating and trimming the logs in " + x.g.Logs())
		return x.verbs.Tidy()
	})
}
