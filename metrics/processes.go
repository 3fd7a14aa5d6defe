package metrics

import (
	"os"
	"sync"

	"github.com/gearctl/gearctl/control"
	"github.com/prometheus/client_golang/prometheus"
)

// The gear's processes are the supervisor (this process) and the
// servers': every process below it, and an adopted server with what is
// below that, as status lists them (control.Processes).
const (
	supervisorRole = "supervisor"
	serverRole     = "server"
)

var (
	rssDesc = prometheus.NewDesc("gearctl_resident_memory_bytes",
		"Resident memory (RSS) of the gear's processes, summed: the supervisor's, or the server's master and workers "+
			"(pages they share are counted in each).", []string{"process"}, nil)
	cpuDesc = prometheus.NewDesc("gearctl_cpu_seconds_total",
		"User and system CPU time of the gear's processes: the supervisor's, or the server's master and workers "+
			"(as seen at each scrape: what a process used after the last scrape before it ended is not counted).",
		[]string{"process"}, nil)
	procsDesc = prometheus.NewDesc("gearctl_processes",
		"Processes of the gear: the supervisor, or the server's master and workers.", []string{"process"}, nil)
)

// processCollector reads the gear's processes at each scrape.
type processCollector struct {
	status func() control.Status
	mu     sync.Mutex // one scrape at a time advances cpu
	cpu    cpuCounter
}

func (c *processCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rssDesc
	ch <- cpuDesc
	ch <- procsDesc
}

func (c *processCollector) Collect(ch chan<- prometheus.Metric) {
	self := os.Getpid()
	procs := control.Processes(self, c.status().PID)
	rss, count := map[string]float64{}, map[string]float64{}
	for _, p := range procs {
		r := role(p.PID, self)
		rss[r] += float64(p.RSS)
		count[r]++
	}
	c.mu.Lock()
	cpu := c.cpu.add(procs, self)
	c.mu.Unlock()
	for _, r := range []string{supervisorRole, serverRole} {
		ch <- prometheus.MustNewConstMetric(rssDesc, prometheus.GaugeValue, rss[r], r)
		ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.CounterValue, cpu[r], r)
		ch <- prometheus.MustNewConstMetric(procsDesc, prometheus.GaugeValue, count[r], r)
	}
}

func role(pid, supervisor int) string {
	if pid == supervisor {
		return supervisorRole
	}
	return serverRole
}

// cpuCounter makes a counter of the CPU time of processes that come and go:
// the sum over those alive would fall each time a worker is replaced, so
// it adds what each process used since the scrape before, and all a
// process has used when it is first seen.
type cpuCounter struct {
	seen  map[int]float64 // CPU seconds by PID at the last scrape
	total map[string]float64
}

// add counts procs, the processes alive now, and returns the totals by role.
func (c *cpuCounter) add(procs []control.ProcessInfo, supervisor int) map[string]float64 {
	if c.total == nil {
		c.total = map[string]float64{}
	}
	seen := make(map[int]float64, len(procs))
	for _, p := range procs {
		used := p.CPUSeconds
		// Less than before: the PID is another process's now.
		if last, ok := c.seen[p.PID]; ok && last <= used {
			used -= last
		}
		c.total[role(p.PID, supervisor)] += used
		seen[p.PID] = p.CPUSeconds
	}
	c.seen = seen
	return c.total
}
