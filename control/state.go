package control

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// State is where a gear is in its lifecycle.
type State string

// The states, as `status` shows them.
const (
	Stopped    State = "stopped"
	Starting   State = "starting"
	Ready      State = "ready"
	Reloading  State = "reloading"
	Restarting State = "restarting"
	Stopping   State = "stopping"
	Backoff    State = "backoff"
	Failed     State = "failed"
	// Unready is a ready server that failed its last liveness probes, fewer
	// than ProbeFailures of them: it still runs and is probed on.
	Unready State = "unready"
	// Unsupervised is a server whose supervisor died: only a client says
	// it, having found the server by its pidfile. No supervisor is ever in
	// it, so it is not in the transitions table.
	Unsupervised State = "unsupervised"
)

// Settled reports whether the gear has arrived: ready, or stopped or
// failed for good.
func (s State) Settled() bool {
	return s == Ready || s == Unready || s == Stopped || s == Failed
}

// Status is a snapshot of a gear, safe to copy.
type Status struct {
	State State `json:"state"`
	// Since is when the gear entered State.
	Since         time.Time `json:"since,omitzero"`
	Server        string    `json:"server"`
	PID           int       `json:"pid,omitempty"`
	SupervisorPID int       `json:"supervisor_pid"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	ReadyAt       time.Time `json:"ready_at,omitzero"`
	// Restarts counts the servers that replaced another: Crashes (the
	// server exited, or was killed for failing its liveness probes) and
	// Requested (restarts and swaps asked for, that got a new server
	// ready).
	Restarts  int    `json:"restarts"`
	Crashes   int    `json:"crashes"`
	Requested int    `json:"requested_restarts"`
	LastExit  *Exit  `json:"last_exit,omitempty"`
	Listen    string `json:"listen"`
	// ReadyCode is the HTTP status of the probe that found the server ready.
	ReadyCode int `json:"ready_status,omitempty"`
	// Interpreter and App are the current spec's (see Spec).
	Interpreter string `json:"interpreter,omitempty"`
	App         string `json:"app,omitempty"`
	// User is who the application runs as, USER:GROUP, when not the
	// supervisor's own user (Spec.User).
	User string `json:"user,omitempty"`
	// SharesSocket: the current server serves on the supervisor's
	// listening socket (Spec.TakesFD), so that a restart can run the new
	// instance beside it on the same socket.
	SharesSocket bool `json:"shares_socket,omitempty"`
	// Detail says why the gear is in a failed or backoff state.
	Detail string `json:"detail,omitempty"`
	// Failure is why a failed gear failed, with the server's last lines.
	Failure *FailError `json:"failure,omitempty"`
	// Handover says how the last restart passed the traffic on.
	Handover string `json:"handover,omitempty"`
	// Warnings are what the supervisor could not do as asked, latest
	// last: a server killed after its stop timeout, processes that
	// survived SIGKILL, a load balancer that was not told. A stop starts
	// them afresh.
	Warnings []string `json:"warnings,omitempty"`
	// Settings are the current spec's (see Spec.Settings).
	Settings json.RawMessage `json:"settings,omitempty"`
}

// Exit records how an instance ended.
type Exit struct {
	PID    int       `json:"pid"`
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"`
	At     time.Time `json:"at"`
}

func (e Exit) String() string {
	if e.Code < 0 {
		return "exited (status unknown: it was adopted, not our child)"
	}
	if e.Signal != "" {
		return fmt.Sprintf("killed by signal %s", e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// StateError is returned when an operation is not allowed in the gear's
// current state.
type StateError struct {
	Op    string
	State State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s: gear is %s", e.Op, e.State)
}

// Latest holds the latest Status a supervisor published, for an OnChange
// hook whose reader runs in another goroutine: a metrics scrape, run's
// last line.
type Latest struct {
	mu sync.Mutex
	st Status
}

// Set is an OnChange that keeps st.
func (l *Latest) Set(st Status) {
	l.mu.Lock()
	l.st = st
	l.mu.Unlock()
}

// Get is the latest status kept.
func (l *Latest) Get() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}
