package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// ErrNoSupervisor means nothing answers on the control socket.
var ErrNoSupervisor = errors.New("no supervisor answers")

// ErrNoAnswer means a supervisor took the request but did not answer in
// time: it is stopped (SIGSTOP), or hung.
var ErrNoAnswer = errors.New("the supervisor does not answer")

// Grace is what every client call may take beyond the operation's own
// timeout: a supervisor that is alive answers long before it, and one that
// is stopped or hung must not keep its caller waiting forever.
const Grace = 10 * time.Second

// Client talks to a supervisor's control API over its unix socket.
type Client struct {
	path string
	hc   *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	return &Client{path: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}}}
}

// RequestError is a request the supervisor refused or that failed there.
type RequestError struct {
	Code  int
	Msg   string
	State State
}

func (e *RequestError) Error() string { return e.Msg }

// Unwrap gives the sentinel a status stands for: 501 is ErrNoReload.
func (e *RequestError) Unwrap() error {
	if e.Code == http.StatusNotImplemented {
		return ErrNoReload
	}
	return nil
}

// Status returns the gear's report.
func (c *Client) Status(ctx context.Context) (Report, error) {
	var r Report
	err := c.do(ctx, 0, http.MethodGet, "status", nil, &r)
	return r, err
}

// State returns the gear's status without its processes: what one line
// of a list of gears says.
func (c *Client) State(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, 0, http.MethodGet, "state", nil, &st)
	return st, err
}

// Settled waits until the gear is ready, failed or stopping, and returns
// its status then; within settle, the longest the gear may take to get
// there.
func (c *Client) Settled(ctx context.Context, settle time.Duration) (Status, error) {
	var st Status
	err := c.do(ctx, settle, http.MethodGet, "settled", nil, &st)
	return st, err
}

// Stop asks for a graceful stop and waits, within took, until it is done:
// a stop under way is joined. With now, what runs is killed at once
// instead. It returns the gear's last status.
func (c *Client) Stop(ctx context.Context, now bool, took time.Duration) (Status, error) {
	op := "stop"
	if now {
		op += "?now=1"
	}
	var st Status
	err := c.do(ctx, took, http.MethodPost, op, nil, &st)
	return st, err
}

// Reload asks for the server's graceful reload and waits until it answers,
// within startTimeout, the server's.
func (c *Client) Reload(ctx context.Context, startTimeout time.Duration) error {
	return c.do(ctx, startTimeout, http.MethodPost, "reload", nil, nil)
}

// Restart replaces the server with spec: the new one gets ready within its
// start timeout, then the old one stops within its stop timeout.
func (c *Client) Restart(ctx context.Context, spec Spec) error {
	return c.do(ctx, spec.StartTimeout+spec.StopTimeout, http.MethodPost, "restart", restartRequest{Spec: spec}, nil)
}

// Rotate starts a new server log file.
func (c *Client) Rotate(ctx context.Context) error {
	return c.do(ctx, 0, http.MethodPost, "rotate", nil, nil)
}

// do sends one request and decodes its answer into out, giving the
// supervisor the operation's own time, took, plus Grace.
func (c *Client) do(ctx context.Context, took time.Duration, method, op string, body, out any) error {
	wait := took + Grace
	callCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := c.roundTrip(callCtx, method, op, body, out)
	if err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w on %s: no reply within %s", ErrNoAnswer, c.path, wait)
	}
	return err
}

func (c *Client) roundTrip(ctx context.Context, method, op string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://gearctl/v1/"+op, rd)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w on %s: %v", ErrNoSupervisor, c.path, unwrapOp(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var ae apiError
		json.NewDecoder(io.LimitReader(resp.Body, maxRequest)).Decode(&ae)
		if ae.Error == "" {
			ae.Error = resp.Status
		}
		if ae.Fail != nil {
			return ae.Fail
		}
		return &RequestError{Code: resp.StatusCode, Msg: ae.Error, State: ae.State}
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// unwrapOp keeps the system's words ("connection refused") without the
// transport's prefix.
func unwrapOp(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return strings.TrimSpace(err.Error())
}
