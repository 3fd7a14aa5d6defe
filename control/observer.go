package control

import "time"

// Observer hears what the published Status does not keep: each HTTP probe
// of a server, with its outcome and how long it took, and how long a
// server took to answer after a start, a restart or a reload. Probes run
// on goroutines of their own, so its methods may be called concurrently;
// they must be quick and must not call the supervisor.
type Observer interface {
	// Probed is one probe of kind that got res, took after it was sent.
	Probed(kind ProbeKind, res Result, took time.Duration)
	// Ready is a server answering took after the gear began what it was
	// doing: Starting (since the server's spawn; a start or a crash's
	// restart), Restarting (since the restart was asked for) or Reloading
	// (since the reload signal). An adopted server, spawned by another
	// supervisor, is not reported.
	Ready(after State, took time.Duration)
}

// ProbeKind tells the probes apart.
type ProbeKind string

const (
	// Readiness probes ask a server that starts or reloads until it
	// answers.
	Readiness ProbeKind = "readiness"
	// Liveness probes ask a ready server, every Spec.ProbeInterval.
	Liveness ProbeKind = "liveness"
)

// probed is the observer of kind's probes; nil without an Observer.
func (s *Supervisor) probed(kind ProbeKind) func(Result, time.Duration) {
	if s.opt.Observer == nil {
		return nil
	}
	return func(res Result, took time.Duration) { s.opt.Observer.Probed(kind, res, took) }
}

// readied tells the Observer that the server answers, took after what
// the gear did from state after began.
func (s *Supervisor) readied(after State, took time.Duration) {
	if s.opt.Observer != nil {
		s.opt.Observer.Ready(after, took)
	}
}
