package metrics

import (
	"slices"

	"github.com/gearctl/gearctl/control"
	"github.com/prometheus/client_golang/prometheus"
)

// states are the ones a supervisor's gear is in, each a series of
// gearctl_state (Unsupervised is only a client's word).
var states = []control.State{
	control.Starting, control.Ready, control.Unready, control.Reloading, control.Restarting,
	control.Stopping, control.Backoff, control.Failed, control.Stopped,
}

var (
	stateDesc = prometheus.NewDesc("gearctl_state",
		"The gear's state: 1 for the one it is in (as gearctl status says it), 0 for the others.", []string{"state"}, nil)
	upDesc = prometheus.NewDesc("gearctl_up",
		"1 while a server process runs (also one not ready yet), else 0.", nil, nil)
	readyDesc = prometheus.NewDesc("gearctl_ready",
		"1 while the gear is ready: its server answered the last probe, else 0.", nil, nil)
	restartsDesc = prometheus.NewDesc("gearctl_restarts_total",
		"Servers that replaced another, by cause: crash (the server exited, or was killed for failing its liveness probes) "+
			"or requested (a restart that got a new server ready).", []string{"cause"}, nil)
	exitCodeDesc = prometheus.NewDesc("gearctl_last_exit_code",
		"How the last server that ended unasked for, or at the stop, exited: its exit status, 128+N when killed by "+
			"signal N (named by the label; empty for an exit), -1 when unknown (an adopted server, not our child).",
		[]string{"signal"}, nil)
	exitTimeDesc = prometheus.NewDesc("gearctl_last_exit_timestamp_seconds",
		"When that server exited, in seconds since the Unix epoch.", nil, nil)
)

// statusCollector holds the latest status the supervisor published, and
// makes the metrics of it at each scrape.
type statusCollector struct {
	control.Latest
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{stateDesc, upDesc, readyDesc, restartsDesc, exitCodeDesc, exitTimeDesc} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.Get()
	enum(ch, stateDesc, states, st.State)
	gauge(ch, upDesc, one(st.PID != 0))
	gauge(ch, readyDesc, one(st.State == control.Ready))
	ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(st.Crashes), "crash")
	ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(st.Requested), "requested")
	if e := st.LastExit; e != nil {
		ch <- prometheus.MustNewConstMetric(exitCodeDesc, prometheus.GaugeValue, float64(e.Code), e.Signal)
		gauge(ch, exitTimeDesc, float64(e.At.UnixNano())/1e9)
	}
}

// enum is one series per value of known, labelled with it: 1 for cur, 0
// for the others; a cur that known lacks gets a series of its own, so no
// state is ever hidden. An empty cur (nothing known yet) is no value.
func enum[T ~string](ch chan<- prometheus.Metric, d *prometheus.Desc, known []T, cur T) {
	for _, v := range known {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, one(v == cur), string(v))
	}
	if cur != "" && !slices.Contains(known, cur) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 1, string(cur))
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
