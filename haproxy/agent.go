package haproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

const (
	// agentConnTimeout bounds one agent exchange. haproxy's own agent
	// timeout is "timeout check" (or inter); a connection still open after
	// this is not haproxy waiting for us.
	agentConnTimeout = 2 * time.Second
	// agentMaxConns bounds concurrent agent connections: haproxy opens one
	// per server per agent-inter, so more means something else is knocking.
	agentMaxConns = 64
	// agentMaxRead bounds what is read of agent-send, which we ignore.
	agentMaxRead = 4096
	// agentAcceptPause spaces retries after a failed Accept (EMFILE) so a
	// persistent failure does not spin a CPU.
	agentAcceptPause = 50 * time.Millisecond
)

// Agent is haproxy's agent-check responder: on each connection it writes
// the line for the current state (ready up 100%, drain, down, maint) and
// closes. haproxy checks it every agent-inter, so the gear's state reaches
// haproxy even when the runtime API is not used, for example for servers
// written in haproxy.cfg.
type Agent struct {
	ln    net.Listener
	state func() AgentState
	sem   chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	done   chan struct{}
}

// ListenAgent starts a responder on addr ("127.0.0.1:5555"; port 0 picks
// one, see Addr). state is called once per connection, from several
// goroutines at once, and must be quick.
func ListenAgent(addr string, state func() AgentState) (*Agent, error) {
	if state == nil {
		return nil, fmt.Errorf("haproxy agent: %w: nil state func", ErrInvalid)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("haproxy agent: listen %s: %w", addr, err)
	}
	a := &Agent{
		ln:    ln,
		state: state,
		sem:   make(chan struct{}, agentMaxConns),
		conns: make(map[net.Conn]struct{}),
		done:  make(chan struct{}),
	}
	a.wg.Add(1)
	go a.serve()
	return a, nil
}

// Addr is where the responder listens.
func (a *Agent) Addr() net.Addr { return a.ln.Addr() }

// Close stops accepting, cuts the exchanges in progress and returns when
// every goroutine of the responder has ended.
func (a *Agent) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.done)
	for c := range a.conns {
		_ = c.SetDeadline(time.Unix(1, 0))
	}
	a.mu.Unlock()
	err := a.ln.Close()
	a.wg.Wait()
	return err
}

func (a *Agent) serve() {
	defer a.wg.Done()
	for {
		conn, err := a.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-a.done:
				return
			case <-time.After(agentAcceptPause):
			}
			continue
		}
		select {
		case a.sem <- struct{}{}:
		default:
			// Over the bound: refuse rather than queue; haproxy retries
			// at the next agent-inter.
			conn.Close()
			continue
		}
		if !a.track(conn) {
			conn.Close()
			<-a.sem
			return
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer func() { <-a.sem }()
			defer a.untrack(conn)
			a.answer(conn)
		}()
	}
}

// track registers a connection so Close can cut it; false once closed.
func (a *Agent) track(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.conns[c] = struct{}{}
	return true
}

func (a *Agent) untrack(c net.Conn) {
	a.mu.Lock()
	delete(a.conns, c)
	a.mu.Unlock()
	c.Close()
}

// answer writes the state line, then reads and drops whatever haproxy
// sent (agent-send) until haproxy closes. Closing a socket with unread
// bytes makes the kernel send a reset, which can destroy the line before
// haproxy reads it, hence the drain after a half-close.
func (a *Agent) answer(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(agentConnTimeout))
	if _, err := io.WriteString(c, a.state().Line()); err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, agentMaxRead))
}
