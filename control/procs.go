package control

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v4/process"
)

// ProcessInfo describes one process of a gear for status.
type ProcessInfo struct {
	PID     int     `json:"pid"`
	PPID    int     `json:"ppid"`
	RSS     uint64  `json:"rss"`
	CPU     float64 `json:"cpu"` // percent of one core since the process started
	Command string  `json:"command"`

	// CPUSeconds is the user and system CPU time it used, for metrics;
	// status shows CPU.
	CPUSeconds float64 `json:"-"`
}

// Processes lists the supervisor and every process below it, plus extra
// roots and what is below them (an adopted server is not our descendant).
func Processes(supervisor int, roots ...int) []ProcessInfo {
	pids := append([]int{supervisor}, Descendants(supervisor)...)
	for _, r := range roots {
		if r > 0 && !slices.Contains(pids, r) {
			pids = append(pids, r)
			pids = append(pids, Descendants(r)...)
		}
	}
	out := make([]ProcessInfo, 0, len(pids))
	for _, pid := range pids {
		p, err := process.NewProcess(int32(pid))
		if err != nil {
			continue
		}
		info := ProcessInfo{PID: pid}
		if pp, err := p.Ppid(); err == nil {
			info.PPID = int(pp)
		}
		if m, err := p.MemoryInfo(); err == nil {
			info.RSS = m.RSS
		}
		info.CPU, _ = p.CPUPercent()
		if t, err := p.Times(); err == nil {
			info.CPUSeconds = t.User + t.System
		}
		info.Command, _ = p.Cmdline()
		out = append(out, info)
	}
	return out
}

// Describe names processes for a message: "pid N (command line)", the
// command line cut at 60 bytes.
func Describe(pids []int) string {
	parts := make([]string, 0, len(pids))
	for _, pid := range pids {
		cmd := ""
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
			cmd = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		}
		if len(cmd) > 60 {
			cmd = cmd[:60] + "…"
		}
		parts = append(parts, fmt.Sprintf("pid %d (%s)", pid, cmd))
	}
	return strings.Join(parts, ", ")
}
