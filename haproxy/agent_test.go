package haproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// agentState is a responder state a test can change.
type agentState struct{ v atomic.Int64 }

func (s *agentState) set(a AgentState) { s.v.Store(int64(a)) }
func (s *agentState) get() AgentState  { return AgentState(s.v.Load()) }

func startAgent(t *testing.T, initial AgentState) (*Agent, *agentState) {
	t.Helper()
	st := &agentState{}
	st.set(initial)
	a, err := ListenAgent("127.0.0.1:0", st.get)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, st
}

// askAgent does what haproxy does: connect, send agent-send text, read
// the line.
func askAgent(t *testing.T, addr string, send string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if send != "" {
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the agent line: %v (got %q)", err, line)
	}
	return line
}

func TestAgentAnswersState(t *testing.T) {
	a, st := startAgent(t, AgentReady)
	for _, s := range []AgentState{AgentReady, AgentDrain, AgentDown, AgentMaint, AgentReady} {
		st.set(s)
		line := askAgent(t, a.Addr().String(), "hello\n")
		if line != s.Line() {
			t.Fatalf("state %s: agent said %q, want %q", s, line, s.Line())
		}
		got, err := ParseAgentLine(line)
		if err != nil || got != s {
			t.Fatalf("ParseAgentLine(%q) = %s, %v; want %s", line, got, err, s)
		}
	}
	// Without agent-send, and with more agent-send than is read.
	if line := askAgent(t, a.Addr().String(), ""); line != AgentReady.Line() {
		t.Fatalf("agent said %q without agent-send", line)
	}
}

// TestAgentCloseCutsIdleConnections: a peer that never closes does not
// keep Close waiting, and nothing answers afterwards.
func TestAgentCloseCutsIdleConnections(t *testing.T) {
	a, err := ListenAgent("127.0.0.1:0", func() AgentState { return AgentReady })
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The line arrives; the responder now waits for our close, which
	// never comes.
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "ready up 100%\n" {
		t.Fatalf("line %q, %v", line, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- a.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a peer that does not close")
	}
	if c2, err := net.DialTimeout("tcp", a.Addr().String(), time.Second); err == nil {
		c2.Close()
		t.Fatal("agent still accepts after Close")
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestAgentBoundsInput: a peer that floods the responder is answered and
// cut off; the responder does not read without end.
func TestAgentBoundsInput(t *testing.T) {
	a, _ := startAgent(t, AgentDrain)
	c, err := net.Dial("tcp", a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	junk := make([]byte, 64<<10)
	var werr error
	for i := 0; i < 64 && werr == nil; i++ {
		_, werr = c.Write(junk)
	}
	if werr == nil {
		t.Fatal("the responder read 4 MiB of agent-send without closing")
	}
	var ne net.Error
	if errors.As(werr, &ne) && ne.Timeout() {
		t.Fatalf("the responder neither read nor closed: %v", werr)
	}
}

func TestListenAgentRefusesNilState(t *testing.T) {
	if _, err := ListenAgent("127.0.0.1:0", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ListenAgent(nil) = %v, want ErrInvalid", err)
	}
}

// TestAgentFlipsHAProxyState: a server in haproxy.cfg with agent-check on
// the responder follows what the responder says.
func TestAgentFlipsHAProxyState(t *testing.T) {
	g := startGear(t)
	a, st := startAgent(t, AgentReady)
	agentPort := a.Addr().(*net.TCPAddr).Port
	h := startHAProxy(t, fmt.Sprintf(`
backend agentbe
    balance roundrobin
    option httpchk GET /
    http-check expect status 200-499
    server g %s check inter 100ms weight 100 agent-check agent-port %d agent-inter 100ms agent-send hello
`, net.JoinHostPort(g.addr, strconv.Itoa(g.port)), agentPort))
	ctx := testCtx(t)

	for _, step := range []struct {
		say  AgentState
		what string
		ok   func(ServerState, Stat) bool
	}{
		{AgentReady, "UP", func(s ServerState, _ Stat) bool { return s.Serving() && s.Weight == 100 }},
		{AgentDrain, "DRAIN", func(s ServerState, st Stat) bool {
			return s.AdminState() == StateDrain && strings.HasPrefix(st.Status, "DRAIN")
		}},
		{AgentReady, "UP again", func(s ServerState, st Stat) bool { return s.Serving() && st.Status == "UP" }},
		{AgentDown, "DOWN", func(s ServerState, st Stat) bool {
			return s.OpState == OpStopped && strings.HasPrefix(st.Status, "DOWN")
		}},
		{AgentReady, "UP after down", func(s ServerState, _ Stat) bool { return s.Serving() }},
		{AgentMaint, "MAINT", func(s ServerState, st Stat) bool {
			return s.AdminState() == StateMaint && strings.HasPrefix(st.Status, "MAINT")
		}},
		{AgentReady, "UP after maint", func(s ServerState, _ Stat) bool { return s.Serving() }},
	} {
		st.set(step.say)
		waitFor(t, 10*time.Second, "haproxy showing "+step.what+" after the agent said "+step.say.String(), func() (bool, string) {
			s, err := h.client.ServerState(ctx, "agentbe", "g")
			if err != nil {
				return false, err.Error()
			}
			stat, err := h.client.ServerStat(ctx, "agentbe", "g")
			if err != nil {
				return false, err.Error()
			}
			return step.ok(s, stat), fmt.Sprintf("status %q op %s admin %s weight %d", stat.Status, s.OpState, s.AdminState(), s.Weight)
		})
		if stat, err := h.client.ServerStat(ctx, "agentbe", "g"); err == nil {
			t.Logf("agent said %q: haproxy shows %q", strings.TrimSpace(step.say.Line()), stat.Status)
		}
	}
}

// TestUpWithAgent: a registration with an agent port comes up, follows the
// agent, and Drain holds even while the agent still says ready.
func TestUpWithAgent(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	a, st := startAgent(t, AgentReady)
	reg := newTestRegistration(h, g)
	reg.AgentPort = a.Addr().(*net.TCPAddr).Port
	ctx := testCtx(t)

	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}
	s, err := reg.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Serving() || !s.AgentEnabled() || s.AgentPort != reg.AgentPort {
		t.Fatalf("after Up: %+v", s)
	}
	if resp, err := get(h.url("/")); err != nil || !resp.fromGear {
		t.Fatalf("request after Up: %+v %v", resp, err)
	}

	st.set(AgentDrain)
	waitFor(t, 10*time.Second, "the agent's drain", func() (bool, string) {
		s, err := reg.State(ctx)
		if err != nil {
			return false, err.Error()
		}
		return s.AdminState() == StateDrain, string(s.AdminState())
	})
	if resp, err := get(h.url("/")); err != nil || resp.fromGear {
		t.Fatalf("request while the agent says drain: %+v %v", resp, err)
	}
	st.set(AgentReady)
	waitFor(t, 10*time.Second, "the agent's ready", func() (bool, string) {
		s, err := reg.State(ctx)
		if err != nil {
			return false, err.Error()
		}
		return s.Serving(), fmt.Sprintf("%+v", s)
	})

	// The agent keeps saying ready; Drain turns it off so the drain holds.
	if err := reg.Drain(ctx, 5*time.Second); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	s, err = reg.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.AgentEnabled() || s.AdminState() != StateDrain {
		t.Fatalf("after Drain: agent enabled %v, admin %s", s.AgentEnabled(), s.AdminState())
	}
	if err := reg.Down(ctx); err != nil {
		t.Fatalf("Down: %v", err)
	}
}

// TestUpWithSilentAgent: an agent port nobody answers on does not keep the
// gear out of rotation (the agent is enabled after the server is up, and
// haproxy ignores an agent it cannot reach).
func TestUpWithSilentAgent(t *testing.T) {
	h := startHAProxy(t, "")
	g := startGear(t)
	reg := newTestRegistration(h, g)
	reg.AgentPort = freePort(t)
	ctx := testCtx(t)
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if resp, err := get(h.url("/")); err != nil || !resp.fromGear {
		t.Fatalf("request after Up: %+v %v", resp, err)
	}
}
