// Package host describes the machine a benchmark ran on, for the header of
// its report: the numbers mean little without it.
package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Machine is "Linux RELEASE ARCH, CPU MODEL, N CPUs, M GiB memory, Debian V".
func Machine() string {
	return fmt.Sprintf("Linux %s %s, %s, %d CPUs, %s memory, Debian %s",
		FirstLine(readFile("/proc/sys/kernel/osrelease")), runtime.GOARCH, cpuModel(), runtime.NumCPU(),
		memTotal(), FirstLine(readFile("/etc/debian_version")))
}

// LoadAverage is the 1, 5 and 15 minute load: other work on the machine
// skews the numbers, and this shows how much there was.
func LoadAverage() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// FirstLine is the first line of s, trimmed.
func FirstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func cpuModel() string {
	for _, line := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	for _, line := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	return "unknown"
}

// Version is the first line a tool prints about its version.
func Version(ctx context.Context, argv ...string) string {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return filepath.Base(argv[0]) + " (unknown version)"
	}
	return FirstLine(string(out))
}

// Revision is the commit of the tree in dir, "-dirty" when it had changes.
func Revision(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty", "--exclude", "*")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "a tree outside git"
	}
	return "commit " + strings.TrimSpace(string(out))
}
