// Package haproxy owns gearctl's side of haproxy: a client for its runtime
// API (unix socket or TCP), the registration of a gear as a dynamic server
// with a reconcile loop that re-registers it after haproxy restarts or
// reloads, an agent-check responder that tells haproxy the gear's state,
// and the Follower that keeps both in step with a gear's supervisor.
//
// Facts of haproxy 2.6 this package is built on, measured with the Debian
// package:
//   - "add server" works without experimental mode; the new server starts in
//     maintenance, does not inherit default-server, and its checks run only
//     after "enable health" / "enable agent";
//   - "set server ... state ready" marks a server UP before its first check
//     passes (enabling health sets the check to its rise count), so a
//     registration goes add → enable health → state drain → wait until a
//     check passed and the checks count the server up (after failures that
//     takes rise passes in a row, not one) → state ready;
//   - a dynamic server with an enabled agent check stays DOWN until the agent
//     answers once, while an agent that cannot be reached later is ignored;
//     the agent is therefore enabled only after the health check passed;
//   - an agent's "ready" clears a drain set over the CLI, so the agent check
//     is disabled while a registration drains;
//   - servers added at runtime are lost when haproxy restarts or reloads;
//   - "del server" needs maintenance first and no connection left.
//
// Invariants:
//   - one command per connection: haproxy closes a non-interactive CLI
//     connection after its answer, and every connection is bounded by the
//     context's deadline and the client's timeout;
//   - names and arguments never carry whitespace, ';' or a newline, so one
//     call is exactly one haproxy command;
//   - haproxy's own refusal text reaches the caller in a *CommandError, with
//     sentinels for the refusals callers branch on;
//   - the reconcile loop acts only when what haproxy shows differs from what
//     the caller wants, and retries failures with a bounded backoff;
//   - a Follower's registrations are changed in haproxy only by their own
//     reconcile loops, one goroutine each, which it stops and waits for;
//     its report is what they last learned, never a question to haproxy.
package haproxy
