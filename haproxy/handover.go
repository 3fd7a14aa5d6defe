package haproxy

import (
	"context"
	"fmt"
	"slices"

	"github.com/gearctl/gearctl/control"
)

// Handover moves haproxy's traffic to the gear's new address
// (control.Options.Handover): the server there is up before the old one
// is drained, which is then deleted in the background. A new server that
// does not come up within to's start timeout fails the restart.
func (f *Follower) Handover(_, to control.Spec) error {
	f.mu.Lock()
	old := f.cur
	f.mu.Unlock()
	if old == nil {
		return nil
	}
	reg := f.registration(to.Port)
	f.takeOver(reg.Server)
	next := startKeeper(reg, f.desired)
	ctx, cancel := context.WithTimeout(context.Background(), to.StartTimeout)
	err := next.await(ctx, 0)
	cancel()
	if err != nil {
		next.hold(DesiredDown)
		f.retire(next)
		return fmt.Errorf("haproxy did not take %s:%d in: %w", to.Host, to.Port, err)
	}
	f.mu.Lock()
	f.cur = next
	f.mu.Unlock()
	f.retire(old)
	if err := f.drain(old, old.hold(DesiredDrain)); err != nil {
		f.log.Warn("haproxy: the old address was not drained", "server", old.reg.Server, "err", err)
	}
	old.hold(DesiredDown)
	return nil
}

// retire keeps k until Close, forgetting those that have ended.
func (f *Follower) retire(k *keeper) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retired = append(slices.DeleteFunc(f.retired, (*keeper).ended), k)
}

// takeOver stops the keeper still deleting server name, if any: a gear
// that moves back to an address it left registers the name again, and two
// loops wanting different things of one server would fight. The new one
// takes over what the old one left in haproxy.
func (f *Follower) takeOver(name string) {
	f.mu.Lock()
	var old []*keeper
	f.retired = slices.DeleteFunc(f.retired, func(k *keeper) bool {
		if k.reg.Server == name {
			old = append(old, k)
			return true
		}
		return false
	})
	f.mu.Unlock()
	for _, k := range old {
		k.stop()
	}
}
