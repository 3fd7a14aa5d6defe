package control

import "time"

const (
	// maxStartFailures instances in a row that exit before they are ready
	// put the gear in the failed state.
	maxStartFailures = 5
	backoffBase      = 250 * time.Millisecond
	// minUptime is how long a server must stay ready for its exit to count
	// as a crash rather than as a failed start (supervisord's startsecs).
	minUptime  = time.Second
	backoffCap = 10 * time.Second
)

// backoff is the wait before the next start after n failed starts in a row:
// none after the first (a crash is most often a one-off), then doubling.
func backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := backoffBase << (n - 2)
	if d > backoffCap || d <= 0 {
		return backoffCap
	}
	return d
}
