package control

import (
	"slices"
	"time"
)

// machine is where the supervisor is: the gear's state and what goes with
// it. Run's goroutine owns it; others read the published Status. The state
// changes only through Supervisor.to, along the transitions table.
type machine struct {
	state State
	// cur is the instance serving, or starting to.
	cur *instance
	// seqStart is when the current start sequence began: start-timeout
	// runs from here.
	seqStart time.Time
	// failures counts the instances in a row that exited before they
	// were ready.
	failures int
	// retry ends a backoff.
	retry *time.Timer
	// restart is the restart under way.
	restart *restartOp
	// reloadReply answers the reload under way.
	reloadReply chan error
}

// transitions are the legal moves between states. A gear begins Starting
// (a fresh server or an adopted one) and ends Stopped or Failed, always
// through Stopping.
var transitions = map[State][]State{
	// A start sequence starts an instance again after a backoff or a
	// crash; a restart or stop may come at any time.
	Starting: {Starting, Ready, Backoff, Restarting, Stopping},
	// Ready: a crash starts anew (Starting) or, right after readiness,
	// counts as a failed start (Backoff).
	Ready:   {Ready, Unready, Reloading, Restarting, Starting, Backoff, Stopping},
	Unready: {Ready, Unready, Restarting, Starting, Backoff, Stopping},
	// A reload ends Ready, whether it worked or not (the server runs on
	// as it was), or in a crash.
	Reloading: {Ready, Starting, Backoff, Stopping},
	// A restart ends Ready, with the new instance or the old one still
	// serving, or starts the previous spec again.
	Restarting: {Ready, Starting, Stopping},
	Backoff:    {Starting, Restarting, Stopping},
	Stopping:   {Stopped, Failed},
	Stopped:    {},
	Failed:     {},
}

// legal reports whether the gear may go from one state to the other.
func legal(from, to State) bool {
	return slices.Contains(transitions[from], to)
}
