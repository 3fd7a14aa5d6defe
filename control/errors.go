package control

import (
	"errors"
	"fmt"
	"strings"
)

// ErrStopped is returned by requests made after the supervisor stopped.
var ErrStopped = errors.New("supervisor stopped")

// ErrNoReload: the server has no graceful reload (Signals.Reload is 0); a
// restart replaces it instead.
var ErrNoReload = errors.New("no graceful reload")

// FailReason says, for programs, why an instance could not be made ready;
// FailError.Cause says it for people.
type FailReason string

const (
	// FailStart: the server could not be executed.
	FailStart FailReason = "start"
	// FailNotReady: no ready answer within its start timeout.
	FailNotReady FailReason = "not_ready"
	// FailExited: it exited before it was ready (or soon after), as many
	// times in a row as a start allows, or once for a restart's new
	// instance.
	FailExited FailReason = "exited"
	// FailHandover: the load balancer did not take the new address.
	FailHandover FailReason = "handover"
)

// FailError says why an instance could not be made ready, with the last
// lines the server wrote. The API carries it whole.
type FailError struct {
	Server string     `json:"server"`
	Reason FailReason `json:"reason"`
	Cause  string     `json:"cause"`
	// Serving is the PID of the instance that keeps serving after a
	// failed restart, 0 when none does.
	Serving   int      `json:"serving,omitempty"`
	LastLines []string `json:"last_lines,omitempty"`
}

func (e *FailError) Error() string {
	if e.Server == "" {
		return e.Cause
	}
	return fmt.Sprintf("%s %s", e.Server, e.Cause)
}

// Tail is the last lines, indented, for a terminal.
func (e *FailError) Tail() string {
	if len(e.LastLines) == 0 {
		return ""
	}
	return "  " + strings.Join(e.LastLines, "\n  ")
}
