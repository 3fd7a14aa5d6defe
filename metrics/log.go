package metrics

import (
	"github.com/gearctl/gearctl/control"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	logBytesDesc = prometheus.NewDesc("gearctl_log_written_bytes_total",
		"Bytes written to the server log (server.log, across rotations): the servers' output and gearctl's own lines.", nil, nil)
	logErrorsDesc = prometheus.NewDesc("gearctl_log_write_errors_total",
		"Writes to the server log that failed (a full disk, a log directory that cannot be written): their lines are lost.", nil, nil)
)

// logCollector reads what the server log has written.
type logCollector struct{ log *control.LogFile }

func (c logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logBytesDesc
	ch <- logErrorsDesc
}

func (c logCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.log.Stats()
	ch <- prometheus.MustNewConstMetric(logBytesDesc, prometheus.CounterValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(logErrorsDesc, prometheus.CounterValue, float64(st.Errors))
}
