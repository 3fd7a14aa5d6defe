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

// FailError says why an instance could not be made ready, with the last
// lines the server wrote.
type FailError struct {
	Server    string
	Cause     string
	LastLines []string
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
