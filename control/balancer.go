package control

import "time"

// BalancerReport is the gear's load-balancer registration as status shows
// it, filled in by whoever registers the gear (package haproxy) from what it
// last learned: a status never waits for the balancer.
type BalancerReport struct {
	// Desired is what the gear wants of the balancer: up, drain or down.
	Desired string `json:"desired"`
	// Agent is where the agent-check responder listens, when there is one.
	Agent string `json:"agent,omitempty"`
	// Backend and Server name the registration; empty without one.
	Backend string `json:"backend,omitempty"`
	Server  string `json:"server,omitempty"`
	// State is the server's administrative state at LearnedAt (ready,
	// drain or maint), absent when the balancer did not have it, unknown
	// before the balancer first answered.
	State string `json:"state,omitempty"`
	// Healthy says whether the balancer's checks counted the server up;
	// nil when State is not one of the server's.
	Healthy   *bool     `json:"healthy,omitempty"`
	LearnedAt time.Time `json:"learned_at,omitzero"`
	// Error is why the latest attempt to learn or change the state
	// failed; empty once one succeeds.
	Error string `json:"error,omitempty"`
}
