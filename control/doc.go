// Package control owns a gear's server processes: it spawns instances of a
// Spec, holds their listening socket, probes readiness, relays signals,
// reaps every child as a subreaper, escalates stops and restarts with
// backoff.
//
// Invariants:
//   - one Supervisor per process: every descendant of this process belongs
//     to its gear, and the reaper is the only code that waits for children;
//   - at most one instance is not ready: a restart starts one new instance
//     beside the current one and either promotes it or stops it;
//   - a process is only signalled through a pidfd, or as a process group
//     whose leader has not been reaped yet, so a reused PID is never hit.
//
// Log messages are templates: a {key} in a message names the record's
// attribute that goes there ("{server} pid {pid} listening on {address}"),
// so that a line handler prints the sentence people read and a structured
// handler keeps the message as a stable event name beside typed values.
package control
