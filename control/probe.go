package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Result is the outcome of one readiness probe.
type Result int

// Probe results.
const (
	// Unreachable: nothing answered (refused, reset, timed out).
	Unreachable Result = iota
	// Failure: the server answered with a status outside the ready range
	// (a 5xx by default).
	Failure
	// Success: the application answered with a status in the ready range.
	Success
)

// String names the result, as metrics label it.
func (r Result) String() string {
	switch r {
	case Unreachable:
		return "unreachable"
	case Failure:
		return "failure"
	case Success:
		return "success"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// prober asks a server over HTTP whether the application answers. Each
// probe uses a fresh connection: a kept-alive one could belong to an
// instance that is going away.
type prober struct {
	url    string
	path   string
	ready  StatusRange
	client *http.Client
	// observe, when set, hears each probe made (see Observer).
	observe func(Result, time.Duration)
}

// newProber probes path at address (host:port); an unspecified host is
// asked on loopback.
func newProber(address, path string, ready StatusRange) *prober {
	host, port, _ := net.SplitHostPort(address)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = loopback(host)
	}
	return &prober{
		url:   "http://" + net.JoinHostPort(host, port) + path,
		path:  path,
		ready: ready,
		client: &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
			// A redirect is an answer from the application: do not follow it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Probe asks once whether the application at address (host:port) answers
// path with a status in ready: for a status that checks the application,
// not only the supervisor's word.
func Probe(ctx context.Context, address, path string, ready StatusRange) (Result, string, error) {
	res, _, detail, err := newProber(address, path, ready).probe(ctx)
	return res, detail, err
}

// probe sends one request and returns its status code too. A refused
// connection or a status outside the ready range is a failed probe with a
// detail, not an error; err is only for a probe that could not be made at
// all.
func (p *prober) probe(ctx context.Context) (Result, int, string, error) {
	sent := time.Now()
	code, err := p.get(ctx)
	res, detail, err := p.judge(code, err)
	if p.observe != nil && err == nil {
		p.observe(res, time.Since(sent))
	}
	return res, code, detail, err
}

// judge tells what a probe's answer, code or err, means.
func (p *prober) judge(code int, err error) (Result, string, error) {
	switch {
	case err != nil && !isConnError(err):
		return Unreachable, "", err
	case err != nil:
		return Unreachable, err.Error(), nil
	case !p.ready.Has(code):
		return Failure, fmt.Sprintf("GET %s: %d %s (ready means %s)", p.path, code, http.StatusText(code), p.ready), nil
	}
	return Success, fmt.Sprintf("%d %s", code, http.StatusText(code)), nil
}

func (p *prober) get(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "gearctl-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// isConnError tells a server that does not answer (yet) from a request that
// cannot be made: everything the transport reports is the former.
func isConnError(err error) bool {
	var uerr *url.Error
	return errors.As(err, &uerr)
}

// waitReady probes until the application answers with a ready status or
// ctx ends, and returns that status's code and detail, or the last
// failure's detail.
// A refused connection is retried every 5 ms (it costs the server nothing
// and bounds the reported time to ready); a connection the server holds is
// simply waited on, since it is answered the moment the server can; a 5xx
// backs off, because each one usually costs the server a failed import and a
// traceback in the log.
func (p *prober) waitReady(ctx context.Context) (int, string, error) {
	const attempt = 2 * time.Second
	backoff := 10 * time.Millisecond
	var last string
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		res, code, detail, err := p.probe(actx)
		cancel()
		if err != nil {
			return 0, last, err
		}
		if res == Success {
			return code, detail, nil
		}
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return 0, last, ctx.Err()
		case res == Failure:
			last = detail
			wait, backoff = backoff, min(2*backoff, time.Second)
		case errors.Is(actx.Err(), context.DeadlineExceeded):
			last = fmt.Sprintf("GET %s: no answer in %s", p.path, attempt)
		default:
			last = detail
			wait = 5 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return 0, last, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// liveTimeout bounds one liveness probe: a server that takes longer to
// answer its ready path counts as not answering, and only ProbeFailures of
// those in a row restart it, so one slow answer under load does not.
const liveTimeout = 2 * time.Second

// watchLive probes in every spec.ProbeInterval for as long as it is the
// ready (or unready) current instance, and reports each failure, and the
// first success after failures, as an evLive event. Probes are made only
// while the gear is ready or unready: never while it starts, reloads,
// restarts or stops, when a slow answer is expected.
func (s *Supervisor) watchLive(in *instance, spec Spec) {
	if spec.ProbeInterval <= 0 {
		return
	}
	p := newProber(in.probeAddr, spec.ReadyPath, spec.ReadyStatus)
	p.observe = s.probed(Liveness)
	go func() {
		tick := time.NewTicker(spec.ProbeInterval)
		defer tick.Stop()
		fails := 0
		for {
			select {
			case <-in.done:
				return
			case <-s.quit:
				return
			case <-tick.C:
			}
			if st := s.Status(); st.PID != in.pid || (st.State != Ready && st.State != Unready) {
				fails = 0
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), min(liveTimeout, spec.ProbeInterval))
			res, code, detail, err := p.probe(ctx)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				detail = fmt.Sprintf("GET %s: no answer in %s", spec.ReadyPath, min(liveTimeout, spec.ProbeInterval))
			}
			cancel()
			switch {
			case err == nil && res == Success:
				if fails > 0 {
					fails = 0
					s.emit(event{kind: evLive, inst: in, code: code, detail: detail})
				}
			default:
				if err != nil {
					detail = err.Error()
				}
				fails++
				s.emit(event{kind: evLive, inst: in, detail: detail, fails: fails})
			}
		}
	}()
}
