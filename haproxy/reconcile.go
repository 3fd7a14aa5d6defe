package haproxy

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// minBackoff is the first retry delay after a failed step.
const minBackoff = 250 * time.Millisecond

// Reconcile keeps haproxy in the state desired returns until ctx ends,
// then returns ctx's error; it leaves the server as it is on return.
//
// Every ReconcileInterval (or at once after Kick) it looks at the server
// and acts only when haproxy differs from what is desired:
//   - up: the server is missing (haproxy restarted or reloaded, which
//     drops runtime servers), has other settings, or has not yet been
//     brought up by this loop → Up;
//   - drain: the server is present and ready → drain (no wait);
//   - down: the server is present → Down.
//
// Once this loop has brought the server to a state, later changes to a
// present server by someone else (an operator's "set server", an agent's
// drain) are left alone until desired changes: fighting them would flap.
// A failed step, including an unreachable API, is retried after a delay
// that doubles up to MaxBackoff.
//
// While Reconcile runs, change what desired returns and call Kick rather
// than calling Up, Drain or Down: a direct call preempts the loop's action
// but does not change what desired says, and the loop would undo it.
func (r *Registration) Reconcile(ctx context.Context, desired func() Desired) error {
	if err := r.validate(); err != nil {
		return err
	}
	if desired == nil {
		return fmt.Errorf("haproxy registration: %w: nil desired func", ErrInvalid)
	}
	var applied Desired // last state this loop reached; "" at first
	var backoff time.Duration
	for {
		d := desired()
		err := r.step(ctx, d, &applied)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := orDefault(r.ReconcileInterval, DefaultReconcileInterval)
		switch {
		case err == nil:
			backoff = 0
		case errors.Is(err, context.Canceled):
			// Preempted by a direct call or a Kick: look again at once.
			wait = 0
		default:
			backoff = min(max(2*backoff, minBackoff), orDefault(r.MaxBackoff, DefaultMaxBackoff))
			wait = backoff
			r.log().Warn("haproxy: registration step failed", "server", r.name(),
				"desired", string(d), "retry_in", backoff.String(), "err", err)
		}
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-r.kicked():
		case <-t.C:
		}
		t.Stop()
	}
}

// Kick makes Reconcile look again now, cancelling an action it has in
// progress: call it when what desired returns has changed.
func (r *Registration) Kick() {
	r.preempt()
	select {
	case r.kicked() <- struct{}{}:
	default:
	}
}

func (r *Registration) kicked() chan struct{} {
	r.kickOnce.Do(func() { r.kick = make(chan struct{}, 1) })
	return r.kick
}

// stepResult is what one Reconcile step learned and did.
type stepResult struct {
	Desired Desired
	// Seen is whether haproxy answered the step's look; Present whether it
	// has the server, and State what it shows of it: the state the step's
	// action left when it acted and succeeded, the one it found otherwise.
	Seen    bool
	Present bool
	State   ServerState
	Acted   bool
	Err     error
}

// step observes once and acts if needed.
func (r *Registration) step(ctx context.Context, d Desired, applied *Desired) (err error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.actMu.Lock()
	r.actCancel = cancel
	r.actMu.Unlock()
	defer func() {
		r.actMu.Lock()
		r.actCancel = nil
		r.actMu.Unlock()
	}()

	r.mu.Lock()
	defer r.mu.Unlock()

	res := stepResult{Desired: d}
	if err := r.look(actx, &res); err != nil {
		r.report(res)
		return err
	}
	observed := "absent"
	if res.Present {
		observed = string(res.State.AdminState())
	}

	satisfied := r.satisfied(d, res.Present, res.State)
	act := !satisfied
	if act && res.Present && *applied == d && r.matches(res.State) {
		// We got it there; someone else changed it since. Theirs to keep.
		act = false
	}
	if !act {
		if satisfied {
			*applied = d
		}
		r.report(res)
		return nil
	}

	r.log().Info("haproxy: reconciling", "server", r.name(), "desired", string(d), "observed", observed)
	switch d {
	case DesiredUp:
		err = r.up(actx)
	case DesiredDrain:
		err = ignoreAbsent(r.drain(actx))
	case DesiredDown:
		err = r.remove(actx)
	default:
		err = fmt.Errorf("haproxy registration: %w: desired state %q, want up, drain or down", ErrInvalid, d)
	}
	res.Acted, res.Err = true, err
	if err == nil {
		*applied = d
		// What the action left, for whoever follows the steps; a failed
		// look says nothing new, and the action did succeed.
		after := stepResult{Desired: d, Acted: true}
		if r.look(actx, &after) == nil {
			res = after
		} else {
			res.Seen = false
		}
	}
	r.report(res)
	return err
}

// look reads what haproxy shows of the server into res; a server haproxy
// does not have is an answer too.
func (r *Registration) look(ctx context.Context, res *stepResult) error {
	st, err := r.Client.ServerState(ctx, r.Backend, r.Server)
	switch {
	case err == nil:
		res.Seen, res.Present, res.State = true, true, st
	case errors.Is(err, ErrNoSuchServer):
		res.Seen, res.Present, res.State = true, false, ServerState{}
	default:
		res.Err = err
		return err
	}
	return nil
}

// satisfied reports whether haproxy already shows d.
func (r *Registration) satisfied(d Desired, present bool, st ServerState) bool {
	switch d {
	case DesiredUp:
		return present && r.matches(st) && st.HealthEnabled() && st.AdminState() == StateReady
	case DesiredDrain:
		return !present || st.AdminState() != StateReady
	case DesiredDown:
		return !present
	}
	return false
}

func (r *Registration) report(res stepResult) {
	if r.onStep != nil {
		r.onStep(res)
	}
}
