package haproxy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// keeper owns one Registration of a Follower: the one goroutine that runs
// its Reconcile loop, what that loop is to want, and what it last learned
// of haproxy, so that a status reads memory instead of asking haproxy.
// Only this loop changes the server in haproxy; callers change what it
// wants and wait for a step that read the change.
type keeper struct {
	reg    *Registration
	follow func() Desired // what the gear wants, unless held
	cancel context.CancelFunc
	done   chan struct{} // closed once the loop has returned

	mu sync.Mutex
	// held, when not "", is wanted whatever the gear does: drain, then
	// down, for an address the gear has moved away from. Once down is
	// reached the keeper ends by itself.
	held Desired
	// heldAt is the gen of the hold: only a step that read it ends the
	// keeper, not an earlier one that reached down for the gear.
	heldAt uint64
	// gen counts the changes of what the loop is to want; reading is the
	// gen the step under way read it at.
	gen, reading uint64
	// stepped says a step has ended unpreempted, the last one reading at
	// endedGen and failing with endedErr (nil: it got haproxy there).
	stepped  bool
	endedGen uint64
	endedErr error
	view     learned
	changed  chan struct{} // closed and replaced when a step ends
}

// learned is what a keeper knows of haproxy: its last answer about the
// server (At zero before the first), and the latest step's error.
type learned struct {
	At      time.Time
	Present bool
	State   ServerState
	Err     error
}

// startKeeper starts reg's loop, wanting what follow says.
func startKeeper(reg *Registration, follow func() Desired) *keeper {
	ctx, cancel := context.WithCancel(context.Background())
	k := &keeper{reg: reg, follow: follow, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	reg.onStep = k.learn
	go func() {
		defer close(k.done)
		_ = reg.Reconcile(ctx, k.desired)
	}()
	return k
}

// desired is what the loop reads before each step.
func (k *keeper) desired() Desired {
	k.mu.Lock()
	k.reading = k.gen
	held := k.held
	k.mu.Unlock()
	if held != "" {
		return held
	}
	return k.follow()
}

// learn records a step. A preempted one learned nothing: the loop looks
// again at once.
func (k *keeper) learn(s stepResult) {
	if errors.Is(s.Err, context.Canceled) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stepped, k.endedGen, k.endedErr = true, k.reading, s.Err
	if s.Seen {
		k.view = learned{At: time.Now(), Present: s.Present, State: s.State}
	}
	k.view.Err = s.Err
	close(k.changed)
	k.changed = make(chan struct{})
	if k.held == DesiredDown && s.Desired == DesiredDown && s.Err == nil && k.reading >= k.heldAt {
		k.cancel()
	}
}

// change says that what the loop is to want has changed: it looks again
// at once, dropping an action under way. It returns the change's gen, for
// await.
func (k *keeper) change() uint64 {
	return k.changeTo(func(uint64) {})
}

// hold makes the registration want d from now on, whatever the gear does.
func (k *keeper) hold(d Desired) uint64 {
	return k.changeTo(func(gen uint64) { k.held, k.heldAt = d, gen })
}

// changeTo counts a change and applies set, given its gen, under one
// lock: a step that reads what set changed also reads the change's gen.
func (k *keeper) changeTo(set func(gen uint64)) uint64 {
	k.mu.Lock()
	k.gen++
	gen := k.gen
	set(gen)
	k.mu.Unlock()
	k.reg.Kick()
	return gen
}

// await waits for the end of a step that read what the loop is to want at
// gen or later, and returns its error. A step is a few haproxy commands
// and, going up, a wait for a passing check: when none ends before ctx
// does, haproxy is not answering, and the error says so (ErrUnavailable).
func (k *keeper) await(ctx context.Context, gen uint64) error {
	for {
		k.mu.Lock()
		ok, err, changed := k.stepped && k.endedGen >= gen, k.endedErr, k.changed
		k.mu.Unlock()
		if ok {
			return err
		}
		select {
		case <-changed:
		case <-k.done:
			// The loop's last step, if it was the one, ended before done.
			k.mu.Lock()
			ok, err = k.stepped && k.endedGen >= gen, k.endedErr
			k.mu.Unlock()
			if ok {
				return err
			}
			return fmt.Errorf("haproxy: %s: registration no longer kept", k.reg.name())
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %s: the reconcile step did not end: %w", ErrUnavailable, k.reg.Client, k.reg.name(), ctx.Err())
		}
	}
}

// snapshot is what the loop last learned.
func (k *keeper) snapshot() learned {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.view
}

// ended reports whether the loop has returned.
func (k *keeper) ended() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// stop ends the loop, leaving the server as it is, and waits for it.
func (k *keeper) stop() {
	k.cancel()
	<-k.done
}
