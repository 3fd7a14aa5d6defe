package metrics

import (
	"net/http"
	"time"

	"github.com/gearctl/gearctl/control"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config names what the metrics read at each scrape besides what the
// supervisor tells them; nil has no metrics.
type Config struct {
	// Log is the server log; nil when the servers write to a terminal.
	Log *control.LogFile
	// Balancer reports the haproxy registration, as
	// control.APIOptions.Balancer does; nil without one.
	Balancer func() control.BalancerReport
}

// Metrics are one gear's.
type Metrics struct {
	reg    *prometheus.Registry
	status *statusCollector
	// ready are the durations until a server answered, by the state the
	// gear got ready from (see control.Observer.Ready).
	ready  map[control.State]prometheus.Histogram
	probes *prometheus.HistogramVec
}

// durationBuckets span a uWSGI start (about 20 ms) to the default start
// timeout (60 s).
var durationBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// probeBuckets span a refused connection on loopback (well under 1 ms)
// to the 2 s a probe may take.
var probeBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2}

// New returns the metrics of the gear whose supervisor is this process.
func New(cfg Config) *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		status: &statusCollector{},
		ready: map[control.State]prometheus.Histogram{
			control.Starting: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "gearctl_start_duration_seconds",
				Help:    "From a server's spawn until it answered its readiness probe, for each start (the first one, and after a crash).",
				Buckets: durationBuckets,
			}),
			control.Restarting: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "gearctl_restart_duration_seconds",
				Help:    "From a restart asked for (gearctl restart) until the new server answered its readiness probe.",
				Buckets: durationBuckets,
			}),
			control.Reloading: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "gearctl_reload_duration_seconds",
				Help:    "From a reload's signal to the server until it answered its readiness probe again.",
				Buckets: durationBuckets,
			}),
		},
		probes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gearctl_probe_duration_seconds",
			Help: "HTTP probes of the server by kind (readiness while it starts or reloads, liveness once ready) " +
				"and result (success, failure: a status outside --ready-status, unreachable: no answer).",
			Buckets: probeBuckets,
		}, []string{"probe", "result"}),
	}
	m.reg.MustRegister(m.status, m.probes, &processCollector{status: m.status.Get, cpu: cpuCounter{}})
	for _, h := range m.ready {
		m.reg.MustRegister(h)
	}
	if cfg.Log != nil {
		m.reg.MustRegister(logCollector{cfg.Log})
	}
	if cfg.Balancer != nil {
		m.reg.MustRegister(balancerCollector{cfg.Balancer})
	}
	return m
}

// OnChange takes the gear's new status (control.Options.OnChange).
func (m *Metrics) OnChange(st control.Status) { m.status.Set(st) }

// Probed counts a probe (control.Observer).
func (m *Metrics) Probed(kind control.ProbeKind, res control.Result, took time.Duration) {
	m.probes.WithLabelValues(string(kind), res.String()).Observe(took.Seconds())
}

// Ready counts a server that got ready (control.Observer).
func (m *Metrics) Ready(after control.State, took time.Duration) {
	if h, ok := m.ready[after]; ok {
		h.Observe(took.Seconds())
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
