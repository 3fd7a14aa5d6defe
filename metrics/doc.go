// Package metrics owns the gear's Prometheus metrics: what its supervisor
// publishes (the gear's state, restarts, last exit) and observes (probes,
// how long starts, restarts and reloads take), the CPU and memory of the
// gear's processes, what its log has written, and its haproxy
// registration. They live in a registry of their own, not the global one,
// and are served in the text format at /metrics.
//
// Package control knows nothing of Prometheus: a *Metrics is its
// Options.OnChange and Options.Observer, and the rest is read at each
// scrape.
package metrics
