package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"
)

// requestTimeout bounds one request, connect included. A connection that
// waits in a listening socket's backlog while gearctl hands the socket to
// the next server must be answered well within it.
const requestTimeout = 5 * time.Second

// get sends GET path on a new connection and returns the status and body.
// It speaks HTTP/1.1 on a bare connection rather than through
// net/http's client so that nothing is pooled or retried behind our back.
func get(addr, path string, timeout time.Duration) (int, string, error) {
	deadline := time.Now().Add(timeout)
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body), err
}

// Kinds of failed requests.
const (
	refused = "refused"
	reset   = "reset" // closed or reset before a whole answer came
	timeout = "timeout"
	status5 = "5xx"
	other   = "other"
)

// failure names what went wrong with one request, or "" for a 200.
func failure(code int, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused
	case errors.As(err, &ne) && ne.Timeout():
		return timeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return reset
	case err != nil:
		return other
	case code >= 500:
		return status5
	case code != http.StatusOK:
		return other
	}
	return ""
}

// loadStats is what a load run saw.
type loadStats struct {
	requests int
	failed   map[string]int // by kind
	latency  []time.Duration
}

func (s loadStats) failures() int {
	n := 0
	for _, v := range s.failed {
		n += v
	}
	return n
}

// worst is the slowest request that got an answer.
func (s loadStats) worst() time.Duration {
	if len(s.latency) == 0 {
		return 0
	}
	return slices.Max(s.latency)
}

func (s *loadStats) merge(o loadStats) {
	s.requests += o.requests
	for k, v := range o.failed {
		s.failed[k] += v
	}
	s.latency = append(s.latency, o.latency...)
}

// Load: each client sends at most one request per loadInterval, each on a
// new connection, so the offered load is steady and bounded (4 clients:
// at most 400 requests a second) and does not starve the servers of the
// two cores; maxRequests bounds a run in count whatever its length.
const (
	loadInterval = 10 * time.Millisecond
	maxRequests  = 500_000
)

// startLoad starts clients against addr and returns the function that stops
// them: it lets in-flight requests finish and returns what they saw.
func startLoad(addr string, clients int) (stop func() loadStats) {
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan loadStats, clients)
	budget := maxRequests / clients
	for range clients {
		go func() {
			s := loadStats{failed: map[string]int{}}
			next := time.Now()
			for i := 0; i < budget && ctx.Err() == nil; i++ {
				t0 := time.Now()
				code, _, err := get(addr, "/", requestTimeout)
				s.requests++
				if kind := failure(code, err); kind != "" {
					s.failed[kind]++
				} else {
					s.latency = append(s.latency, time.Since(t0))
				}
				next = next.Add(loadInterval)
				if wait := time.Until(next); wait > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
				} else {
					next = time.Now() // fell behind: do not burst to catch up
				}
			}
			results <- s
		}()
	}
	return func() loadStats {
		cancel()
		total := loadStats{failed: map[string]int{}}
		for range clients {
			total.merge(<-results)
		}
		return total
	}
}

// pollInterval is the wait between attempts on a refused connection while
// waiting for a server: short, so it barely adds to what is measured.
const pollInterval = time.Millisecond

// waitAnswer sends requests to addr until one gets a 200 whose body
// accept takes (nil accepts any), and returns when that answer came. A
// connection that is accepted but not answered is waited on for up to
// requestTimeout.
func waitAnswer(ctx context.Context, addr string, accept func(body string) bool) (time.Time, error) {
	var last error
	for {
		code, body, err := get(addr, "/", requestTimeout)
		if err == nil && code == http.StatusOK && (accept == nil || accept(body)) {
			return time.Now(), nil
		}
		if err == nil {
			err = fmt.Errorf("status %d: %.60q", code, body)
		}
		last = err
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no answer from %s (last: %v): %w", addr, last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}
