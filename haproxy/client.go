package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds one command when neither the context nor
// Client.Timeout says otherwise. haproxy answers in microseconds; a command
// that takes seconds means haproxy is stuck or gone.
const DefaultTimeout = 5 * time.Second

// maxReply bounds what one answer may hold, so a wrong address (a service
// that streams forever) cannot exhaust memory. "show stat" of a config with
// thousands of servers is a few MB.
const maxReply = 64 << 20

// Client talks to haproxy's runtime API. It holds no connection: haproxy
// closes a non-interactive CLI connection after each answer, so every
// command dials, sends one line and reads until haproxy closes. A Client is
// safe for concurrent use.
type Client struct {
	addr    string
	network string
	address string

	// Timeout bounds each command when the context has no earlier
	// deadline; zero means DefaultTimeout.
	Timeout time.Duration
}

// New returns a client for addr, "unix:/path/to/admin.sock" or
// "host:port". The socket must be "level admin" for the commands that
// change servers.
func New(addr string) (*Client, error) {
	network, address, err := parseAddress(addr)
	if err != nil {
		return nil, err
	}
	return &Client{addr: addr, network: network, address: address}, nil
}

// timeout is what bounds one command when the context does not.
func (c *Client) timeout() time.Duration { return orDefault(c.Timeout, DefaultTimeout) }

// String is the address the client was made with.
func (c *Client) String() string { return c.addr }

// Run sends one command and returns haproxy's answer with trailing blank
// lines removed. It does not interpret the answer: haproxy reports refusals
// as text, which the typed methods turn into errors. Run fails only when
// the command is not one line or the API cannot be reached (ErrUnavailable).
func (c *Client) Run(ctx context.Context, cmd string) (string, error) {
	if strings.TrimSpace(cmd) == "" || strings.ContainsAny(cmd, "\r\n\x00") {
		return "", fmt.Errorf("haproxy: %w: command %q must be one non-empty line", ErrInvalid, cmd)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()

	conn, err := c.dial(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnavailable, c.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A cancelled context must also unblock a read in progress, not only
	// an expired deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", c.ioError(ctx, cmd, err)
	}
	buf, err := io.ReadAll(io.LimitReader(conn, maxReply+1))
	if err != nil {
		return "", c.ioError(ctx, cmd, err)
	}
	if len(buf) > maxReply {
		return "", fmt.Errorf("%w: %s: answer to %q exceeds %d bytes", ErrBadReply, c.addr, cmd, maxReply)
	}
	return strings.TrimRight(string(buf), "\n"), nil
}

// dial connects, waiting while the socket is full: haproxy's stats socket
// takes 10 connections at a time unless configured otherwise, and a unix
// socket at its limit refuses with EAGAIN at once, which says "busy", not
// "down". Many gears registering together meet it.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	wait := 5 * time.Millisecond
	for {
		conn, err := d.DialContext(ctx, c.network, c.address)
		if err == nil || !errors.Is(err, syscall.EAGAIN) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// ioError reports a broken exchange as ErrUnavailable, naming the context's
// reason when it is the cause so callers can tell a timeout from a reset.
func (c *Client) ioError(ctx context.Context, cmd string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return fmt.Errorf("%w: %s: %q: %w", ErrUnavailable, c.addr, cmd, err)
}

// do runs cmd and accepts only the given answers as success; anything else
// is haproxy's refusal.
func (c *Client) do(ctx context.Context, cmd string, ok ...string) error {
	reply, err := c.Run(ctx, cmd)
	if err != nil {
		return err
	}
	for _, o := range ok {
		if reply == o {
			return nil
		}
	}
	return commandError(cmd, reply)
}

// ShowServersState lists the servers of backend ("" lists every backend)
// as "show servers state" reports them.
func (c *Client) ShowServersState(ctx context.Context, backend string) ([]ServerState, error) {
	cmd := "show servers state"
	if backend != "" {
		if err := CheckName("backend", backend); err != nil {
			return nil, err
		}
		cmd += " " + backend
	}
	reply, err := c.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if !isServersState(reply) {
		return nil, commandError(cmd, reply)
	}
	states, err := ParseServersState(reply)
	if err != nil {
		return nil, fmt.Errorf("haproxy %q: %w", cmd, err)
	}
	return states, nil
}

// ServerState is one server of ShowServersState; ErrNoSuchServer when the
// backend exists but the server does not.
func (c *Client) ServerState(ctx context.Context, backend, server string) (ServerState, error) {
	if _, err := serverTarget(backend, server); err != nil {
		return ServerState{}, err
	}
	states, err := c.ShowServersState(ctx, backend)
	if err != nil {
		return ServerState{}, err
	}
	for _, s := range states {
		if s.Name == server {
			return s, nil
		}
	}
	return ServerState{}, fmt.Errorf("haproxy: server %s/%s: %w", backend, server, ErrNoSuchServer)
}

// ShowStat returns the statistics rows of the servers of backend ("" for
// every backend): "show stat <backend> 4 -1", 4 selecting servers only.
func (c *Client) ShowStat(ctx context.Context, backend string) ([]Stat, error) {
	cmd := "show stat -1 4 -1"
	if backend != "" {
		if err := CheckName("backend", backend); err != nil {
			return nil, err
		}
		cmd = "show stat " + backend + " 4 -1"
	}
	reply, err := c.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(reply, "# ") {
		return nil, commandError(cmd, reply)
	}
	stats, err := ParseStat(reply)
	if err != nil {
		return nil, fmt.Errorf("haproxy %q: %w", cmd, err)
	}
	return stats, nil
}

// ServerStat is the statistics row of one server: Sessions and Queued are
// what a drain waits on.
func (c *Client) ServerStat(ctx context.Context, backend, server string) (Stat, error) {
	if _, err := serverTarget(backend, server); err != nil {
		return Stat{}, err
	}
	stats, err := c.ShowStat(ctx, backend)
	if err != nil {
		return Stat{}, err
	}
	for _, s := range stats {
		if s.Server == server {
			return s, nil
		}
	}
	return Stat{}, fmt.Errorf("haproxy: server %s/%s: %w", backend, server, ErrNoSuchServer)
}

// ServerOptions are the keywords of "add server". A dynamic server inherits
// nothing from default-server, so everything it needs is said here.
type ServerOptions struct {
	// Weight 1-256; 0 leaves haproxy's default of 1. Agent weights are
	// percentages of this, so registrations use 100.
	Weight int
	// Check enables health checks (run after EnableHealth).
	Check bool
	// Inter is the health check interval; 0 leaves haproxy's 2s.
	Inter time.Duration
	// AgentPort, when set, adds "agent-check agent-port N" (run after
	// EnableAgent).
	AgentPort int
	// DownInter and FastInter are the check intervals while the server is
	// down and while it is going up or down; 0 leaves them at Inter.
	DownInter time.Duration
	FastInter time.Duration
	// AgentInter is the agent check interval; 0 leaves haproxy's 2s.
	AgentInter time.Duration
	// Extra keywords and values, each one word, appended as given.
	Extra []string
}

// args renders the options as "add server" arguments.
func (o ServerOptions) args() ([]string, error) {
	var a []string
	if o.Weight != 0 {
		if o.Weight < 0 || o.Weight > 256 {
			return nil, fmt.Errorf("haproxy: %w: weight %d, want 1-256", ErrInvalid, o.Weight)
		}
		a = append(a, "weight", strconv.Itoa(o.Weight))
	}
	if o.Check {
		a = append(a, "check")
	}
	if o.Inter != 0 {
		a = append(a, "inter", millis(o.Inter))
	}
	if o.DownInter != 0 {
		a = append(a, "downinter", millis(o.DownInter))
	}
	if o.FastInter != 0 {
		a = append(a, "fastinter", millis(o.FastInter))
	}
	if o.AgentPort != 0 {
		if err := checkPort("agent port", o.AgentPort); err != nil {
			return nil, err
		}
		a = append(a, "agent-check", "agent-port", strconv.Itoa(o.AgentPort))
		if o.AgentInter != 0 {
			a = append(a, "agent-inter", millis(o.AgentInter))
		}
	}
	for _, e := range o.Extra {
		if e == "" || strings.ContainsAny(e, " \t\r\n;\x00") {
			return nil, fmt.Errorf("haproxy: %w: server keyword %q must be one word", ErrInvalid, e)
		}
		a = append(a, e)
	}
	return a, nil
}

// millis formats a duration the way haproxy's time parser reads it; a
// positive duration under 1ms rounds up rather than to haproxy's "0".
func millis(d time.Duration) string {
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10) + "ms"
}

// AddServer creates a dynamic server. haproxy starts it in maintenance
// with its checks disabled; see Registration for the order that brings it
// up without serving before its first check passed. addr must be an IP
// literal: a name would be resolved by haproxy, not here.
func (c *Client) AddServer(ctx context.Context, backend, server, addr string, port int, opts ServerOptions) error {
	target, err := serverTarget(backend, server)
	if err != nil {
		return err
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return fmt.Errorf("haproxy: %w: server address %q is not an IP address", ErrInvalid, addr)
	}
	if err := checkPort("server port", port); err != nil {
		return err
	}
	args, err := opts.args()
	if err != nil {
		return err
	}
	cmd := "add server " + target + " " + net.JoinHostPort(ip.String(), strconv.Itoa(port))
	if len(args) > 0 {
		cmd += " " + strings.Join(args, " ")
	}
	return c.do(ctx, cmd, "New server registered.")
}

// DelServer removes a dynamic server. haproxy refuses unless it is in
// maintenance (ErrNotInMaintenance) and has no connection left
// (ErrServerBusy).
func (c *Client) DelServer(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "del server", backend, server, "", "Server deleted.")
}

// EnableHealth starts the server's health checks.
func (c *Client) EnableHealth(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "enable health", backend, server, "", "")
}

// DisableHealth stops the server's health checks.
func (c *Client) DisableHealth(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "disable health", backend, server, "", "")
}

// EnableAgent starts the server's agent checks; haproxy refuses when the
// server has no agent-check.
func (c *Client) EnableAgent(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "enable agent", backend, server, "", "")
}

// DisableAgent stops the server's agent checks. The last word the agent
// said (drain, maint) stays in force.
func (c *Client) DisableAgent(ctx context.Context, backend, server string) error {
	return c.serverCmd(ctx, "disable agent", backend, server, "", "")
}

// AdminState is a server's administrative state as "set server ... state"
// takes it.
type AdminState string

// The administrative states haproxy accepts.
const (
	// StateReady takes traffic when the checks say UP.
	StateReady AdminState = "ready"
	// StateDrain keeps serving existing sessions but takes no new ones.
	StateDrain AdminState = "drain"
	// StateMaint takes nothing and pauses health checks.
	StateMaint AdminState = "maint"
)

// SetState sets the server's administrative state.
func (c *Client) SetState(ctx context.Context, backend, server string, state AdminState) error {
	switch state {
	case StateReady, StateDrain, StateMaint:
	default:
		return fmt.Errorf("haproxy: %w: state %q, want ready, drain or maint", ErrInvalid, state)
	}
	return c.serverCmd(ctx, "set server", backend, server, "state "+string(state), "")
}

// SetWeight sets the server's weight, 0-256.
func (c *Client) SetWeight(ctx context.Context, backend, server string, weight int) error {
	if weight < 0 || weight > 256 {
		return fmt.Errorf("haproxy: %w: weight %d, want 0-256", ErrInvalid, weight)
	}
	return c.serverCmd(ctx, "set server", backend, server, "weight "+strconv.Itoa(weight), "")
}

// serverCmd runs "<verb> <backend>/<server> [args]" and expects ok.
func (c *Client) serverCmd(ctx context.Context, verb, backend, server, args, ok string) error {
	target, err := serverTarget(backend, server)
	if err != nil {
		return err
	}
	cmd := verb + " " + target
	if args != "" {
		cmd += " " + args
	}
	return c.do(ctx, cmd, ok)
}

// serverTarget is "backend/server" after both names were checked.
func serverTarget(backend, server string) (string, error) {
	if err := CheckName("backend", backend); err != nil {
		return "", err
	}
	if err := CheckName("server", server); err != nil {
		return "", err
	}
	return backend + "/" + server, nil
}

// CheckName accepts what haproxy accepts in proxy and server names
// (letters, digits, '-', '_', '.', ':': its invalid_char()). Refusing
// anything else here keeps a name from smuggling a second command (';',
// newline) or an argument; callers use it to refuse a bad name up front.
func CheckName(what, name string) error {
	if name == "" {
		return fmt.Errorf("haproxy: %w: empty %s name", ErrInvalid, what)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.', r == ':':
		default:
			return fmt.Errorf("haproxy: %w: %s name %q: only letters, digits, '-', '_', '.' and ':' are allowed", ErrInvalid, what, name)
		}
	}
	return nil
}

// checkPort accepts 1-65535; haproxy itself takes 70000 and wraps it.
func checkPort(what string, port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("haproxy: %w: %s %d, want 1-65535", ErrInvalid, what, port)
	}
	return nil
}
