package control

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// seen collects the transitions the supervisors of this package's tests
// made (see startGearWith), for TestTransitionsWalked.
var seen = transitionSet{m: map[string]bool{}}

type transitionSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *transitionSet) add(from, to State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[fmt.Sprintf("%s -> %s", from, to)] = true
}

// TestTransitions walks the table: every state is in it, the gear ends
// only through Stopping, a stop is possible from every other state, and
// every state is reachable from Starting.
func TestTransitions(t *testing.T) {
	all := []State{Starting, Ready, Unready, Reloading, Restarting, Backoff, Stopping, Stopped, Failed}
	for _, st := range all {
		next, ok := transitions[st]
		if !ok {
			t.Errorf("%s is not in the table", st)
		}
		terminal := st == Stopped || st == Failed
		switch {
		case terminal && len(next) > 0:
			t.Errorf("%s is final, yet leads to %v", st, next)
		case !terminal && st != Stopping && !legal(st, Stopping):
			t.Errorf("%s cannot be stopped", st)
		}
		for _, to := range next {
			if (to == Stopped || to == Failed) && st != Stopping {
				t.Errorf("%s -> %s skips Stopping", st, to)
			}
			if !slices.Contains(all, to) {
				t.Errorf("%s -> %s: no such state", st, to)
			}
		}
	}
	reached := map[State]bool{Starting: true}
	for queue := []State{Starting}; len(queue) > 0; queue = queue[1:] {
		for _, to := range transitions[queue[0]] {
			if !reached[to] {
				reached[to] = true
				queue = append(queue, to)
			}
		}
	}
	for _, st := range all {
		if !reached[st] {
			t.Errorf("%s cannot be reached from %s", st, Starting)
		}
	}
}

// missed says which of the table's transitions no supervisor of this
// package's tests made.
func (s *transitionSet) missed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missed []string
	for from, tos := range transitions {
		for _, to := range tos {
			if k := fmt.Sprintf("%s -> %s", from, to); !s.m[k] {
				missed = append(missed, k)
			}
		}
	}
	sort.Strings(missed)
	return fmt.Sprintf("state transitions: %d made by the tests' supervisors; not made: %s", len(s.m), strings.Join(missed, ", "))
}
