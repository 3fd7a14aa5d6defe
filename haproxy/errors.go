package haproxy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for what callers branch on. Errors from haproxy itself are
// *CommandError values that match ErrCommand and, when haproxy's text is
// one we know, one of the more precise sentinels below.
var (
	// ErrBadAddress: the runtime API address is neither unix:PATH nor
	// HOST:PORT.
	ErrBadAddress = errors.New("bad haproxy runtime API address")
	// ErrUnavailable: the runtime API could not be reached, or the
	// connection broke before haproxy finished its answer. Reconcile treats
	// it as "haproxy is restarting" and retries.
	ErrUnavailable = errors.New("haproxy runtime API unavailable")
	// ErrBadReply: haproxy answered something this package cannot parse.
	ErrBadReply = errors.New("unexpected haproxy reply")
	// ErrInvalid: an argument was refused before anything was sent.
	ErrInvalid = errors.New("invalid argument")

	// ErrCommand: haproxy refused a command; the *CommandError carries its
	// message.
	ErrCommand = errors.New("haproxy refused the command")
	// ErrNoSuchBackend: "No such backend.", "Can't find backend.",
	// "No such proxy.".
	ErrNoSuchBackend = errors.New("no such backend")
	// ErrNoSuchServer: "No such server.", or a server missing from a listing.
	ErrNoSuchServer = errors.New("no such server")
	// ErrServerExists: "Already exists a server with the same name in
	// backend."
	ErrServerExists = errors.New("server already exists")
	// ErrNotInMaintenance: "Only servers in maintenance mode can be deleted."
	ErrNotInMaintenance = errors.New("server must be in maintenance to be deleted")
	// ErrServerBusy: "Server still has connections attached to it, cannot
	// remove it."
	ErrServerBusy = errors.New("server still has connections")
	// ErrDynamicKeyword: "'cookie' option is not accepted for dynamic server".
	ErrDynamicKeyword = errors.New("keyword not accepted for dynamic servers")
	// ErrBackendNotDynamic: "Backend must use a dynamic load balancing to
	// support dynamic servers." (static-rr, or a map-based hash).
	ErrBackendNotDynamic = errors.New("backend does not support dynamic servers")
	// ErrPermission: "Permission denied": the socket is not "level admin".
	ErrPermission = errors.New("runtime API level too low")
	// ErrUnknownCommand: "Unknown command...": an older haproxy, or a socket
	// level that hides the command.
	ErrUnknownCommand = errors.New("unknown runtime API command")

	// ErrCheckTimeout: Up gave up waiting for a passing health check.
	ErrCheckTimeout = errors.New("health check did not pass in time")
	// ErrDrainTimeout: Drain gave up waiting for sessions to end.
	ErrDrainTimeout = errors.New("sessions still open after drain timeout")
)

// CommandError is haproxy refusing a command, with its own words.
type CommandError struct {
	// Command is what was sent, without the newline.
	Command string
	// Reply is haproxy's whole answer, trailing blank lines removed.
	Reply string
	// kind is the precise sentinel, nil when the text is not one we know.
	kind error
}

func (e *CommandError) Error() string {
	msg, _, _ := strings.Cut(e.Reply, "\n")
	if msg == "" {
		msg = "empty reply"
	}
	return fmt.Sprintf("haproxy refused %q: %s", e.Command, msg)
}

// Unwrap lets errors.Is match both ErrCommand and the precise sentinel.
func (e *CommandError) Unwrap() []error {
	if e.kind == nil {
		return []error{ErrCommand}
	}
	return []error{ErrCommand, e.kind}
}

// replyKinds maps the start of haproxy 2.6's refusals to sentinels. The
// texts were read from a running haproxy 2.6.12, not guessed; matching is by
// prefix because some carry a trailing list or detail.
var replyKinds = []struct {
	prefix string
	kind   error
}{
	{"No such backend.", ErrNoSuchBackend},
	{"Can't find backend.", ErrNoSuchBackend},
	{"No such proxy.", ErrNoSuchBackend},
	{"No such server.", ErrNoSuchServer},
	{"Already exists a server with the same name in backend.", ErrServerExists},
	{"Only servers in maintenance mode can be deleted.", ErrNotInMaintenance},
	{"Server still has connections attached to it", ErrServerBusy},
	{"Backend must use a dynamic load balancing", ErrBackendNotDynamic},
	{"Permission denied", ErrPermission},
	{"Unknown command", ErrUnknownCommand},
}

// commandError wraps a refusal, recognising the texts we know.
func commandError(cmd, reply string) *CommandError {
	e := &CommandError{Command: cmd, Reply: reply}
	for _, k := range replyKinds {
		if strings.HasPrefix(reply, k.prefix) {
			e.kind = k.kind
			return e
		}
	}
	// "'cookie' option is not accepted for dynamic server": the keyword
	// comes first, so this one is matched by suffix.
	first, _, _ := strings.Cut(reply, "\n")
	if strings.HasSuffix(first, "is not accepted for dynamic server") {
		e.kind = ErrDynamicKeyword
	}
	return e
}
