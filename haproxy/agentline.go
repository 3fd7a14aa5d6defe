package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// AgentState is what the agent-check responder tells haproxy about the
// gear. The zero value is AgentDown, so a state never set keeps traffic
// away rather than inviting it.
type AgentState int

// Agent states and the line each one sends.
const (
	// AgentDown: "down": the checks mark the server DOWN; the admin state
	// is left as it was.
	AgentDown AgentState = iota
	// AgentDrain: "drain": finish open sessions, take no new ones.
	AgentDrain
	// AgentMaint: "maint": take nothing.
	AgentMaint
	// AgentReady: "ready up 100%": clears drain and maint, marks the agent
	// side up and restores the full weight (agent weights are percentages
	// of the weight the server was added with).
	AgentReady
)

func (s AgentState) String() string {
	switch s {
	case AgentDown:
		return "down"
	case AgentDrain:
		return "drain"
	case AgentMaint:
		return "maint"
	case AgentReady:
		return "ready"
	}
	return "agentstate(" + strconv.Itoa(int(s)) + ")"
}

// Line is the agent reply for s, newline included. An unknown value says
// "down": a responder must never invite traffic by mistake.
func (s AgentState) Line() string {
	switch s {
	case AgentReady:
		return "ready up 100%\n"
	case AgentDrain:
		return "drain\n"
	case AgentMaint:
		return "maint\n"
	}
	return "down\n"
}

// ParseAgentLine reads an agent reply the way haproxy 2.6 does (words
// separated by spaces, tabs or commas, case-insensitive; "#" after down,
// stopped or fail starts a free-text reason) and says which AgentState it
// amounts to: maint over down over drain over ready/up. It is what tests
// and tools use to read a responder; it never panics.
func ParseAgentLine(line string) (AgentState, error) {
	line, _, _ = strings.Cut(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	var admin, op string
	words := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	for _, w := range words {
		lw := strings.ToLower(w)
		switch {
		case lw == "ready" || lw == "drain" || lw == "maint":
			admin = lw
		case lw == "up":
			op = lw
		case isDownWord(lw):
			// haproxy ignores the rest of the line after a "#reason".
			op = "down"
			if strings.Contains(w, "#") {
				return agentStateOf(admin, op), nil
			}
		case strings.HasSuffix(lw, "%"):
			if _, err := parsePercent(lw); err != nil {
				return AgentDown, err
			}
		case strings.HasPrefix(lw, "maxconn:"):
			if n, err := strconv.Atoi(lw[len("maxconn:"):]); err != nil || n < 0 {
				return AgentDown, fmt.Errorf("%w: agent reply %q: bad maxconn %q", ErrBadReply, line, w)
			}
		default:
			return AgentDown, fmt.Errorf("%w: agent reply %q: unknown word %q", ErrBadReply, line, w)
		}
	}
	if admin == "" && op == "" {
		return AgentDown, fmt.Errorf("%w: agent reply %q says neither a state nor up/down", ErrBadReply, line)
	}
	return agentStateOf(admin, op), nil
}

// isDownWord accepts down, stopped and fail, each optionally followed by
// "#reason".
func isDownWord(w string) bool {
	for _, p := range []string{"down", "stopped", "fail"} {
		if w == p || strings.HasPrefix(w, p+"#") {
			return true
		}
	}
	return false
}

// parsePercent reads "N%" as haproxy's agent weights are written.
func parsePercent(w string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(w, "%"))
	if err != nil || n < 0 || n > 256 {
		return 0, fmt.Errorf("%w: agent weight %q, want 0%%-256%%", ErrBadReply, w)
	}
	return n, nil
}

// agentStateOf folds the admin and operational words into one state.
func agentStateOf(admin, op string) AgentState {
	switch {
	case admin == "maint":
		return AgentMaint
	case op == "down":
		return AgentDown
	case admin == "drain":
		return AgentDrain
	}
	return AgentReady
}
