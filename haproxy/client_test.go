package haproxy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewAddress(t *testing.T) {
	good := map[string]string{
		"unix:/run/haproxy/admin.sock": "unix",
		"127.0.0.1:9999":               "tcp",
		"[::1]:9999":                   "tcp",
		"localhost:9999":               "tcp",
	}
	for addr, network := range good {
		c, err := New(addr)
		if err != nil {
			t.Errorf("New(%q): %v", addr, err)
			continue
		}
		if c.network != network || c.String() != addr {
			t.Errorf("New(%q) = %s %s, want network %s", addr, c.network, c.address, network)
		}
	}
	for _, addr := range []string{"", "unix:", "/run/haproxy/admin.sock", "127.0.0.1", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:99999", "127.0.0.1:http", ":9999", "tcp://127.0.0.1:9999",
		"unix:admin.sock", "unix:/" + strings.Repeat("x", 108), "http://localhost:9999"} {
		_, err := New(addr)
		if !errors.Is(err, ErrBadAddress) {
			t.Errorf("New(%q) = %v, want ErrBadAddress", addr, err)
			continue
		}
		// The message tells the user what to type instead.
		if !strings.Contains(err.Error(), "unix:/path/to/admin.sock or host:port") {
			t.Errorf("New(%q) error %q does not say what is accepted", addr, err)
		}
	}
}

// TestClientRefusesBadNames checks names are refused before anything is
// sent: a ';' or a space would make haproxy run a second command.
func TestClientRefusesBadNames(t *testing.T) {
	c, err := New("unix:/nonexistent/admin.sock")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	for _, name := range []string{"", "a b", "a;show info", "a\nb", "a/b"} {
		if err := c.SetState(ctx, "express", name, StateDrain); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetState(server %q) = %v, want ErrInvalid", name, err)
		}
	}
	if err := c.SetState(ctx, "express", "g", "up"); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetState(up) = %v, want ErrInvalid", err)
	}
	if err := c.SetWeight(ctx, "express", "g", 257); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetWeight(257) = %v, want ErrInvalid", err)
	}
	if err := c.AddServer(ctx, "express", "g", "localhost", 80, ServerOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddServer(localhost) = %v, want ErrInvalid", err)
	}
	if err := c.AddServer(ctx, "express", "g", "127.0.0.1", 80, ServerOptions{Extra: []string{"cookie x"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddServer(extra with space) = %v, want ErrInvalid", err)
	}
	if _, err := c.Run(ctx, "show info\nshow stat"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Run(two lines) = %v, want ErrInvalid", err)
	}
}

func TestClientUnavailable(t *testing.T) {
	c, err := New("unix:" + t.TempDir() + "/missing.sock")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ShowServersState(testCtx(t), "express")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("ShowServersState on a missing socket = %v, want ErrUnavailable", err)
	}
}

// TestClientCommands runs every typed command against a real haproxy and
// reads the result back, over the unix and the TCP socket.
func TestClientCommands(t *testing.T) {
	h := startHAProxy(t, "")
	ctx := testCtx(t)
	c := h.client

	opts := ServerOptions{Weight: 100, Check: true, Inter: 100 * time.Millisecond, AgentPort: 5555, AgentInter: 100 * time.Millisecond}
	if err := c.AddServer(ctx, "express", "g1", "127.0.0.1", 8080, opts); err != nil {
		t.Fatalf("AddServer: %v", err)
	}
	st, err := c.ServerState(ctx, "express", "g1")
	if err != nil {
		t.Fatal(err)
	}
	// haproxy 2.6 creates dynamic servers in maintenance with checks
	// configured but not enabled.
	if st.Backend != "express" || st.Addr != "127.0.0.1" || st.Port != 8080 || st.InitialWeight != 100 ||
		st.AgentPort != 5555 || st.AdminState() != StateMaint || st.Admin&AdminForcedMaint == 0 ||
		!st.AgentConfigured() || st.AgentEnabled() || st.HealthEnabled() || st.CheckState&CheckConfigured == 0 {
		t.Fatalf("new server state = %+v", st)
	}

	for _, step := range []struct {
		name string
		run  func() error
		ok   func(ServerState) bool
	}{
		{"EnableHealth", func() error { return c.EnableHealth(ctx, "express", "g1") }, ServerState.HealthEnabled},
		{"EnableAgent", func() error { return c.EnableAgent(ctx, "express", "g1") }, ServerState.AgentEnabled},
		{"SetState drain", func() error { return c.SetState(ctx, "express", "g1", StateDrain) },
			func(s ServerState) bool { return s.AdminState() == StateDrain }},
		{"SetWeight", func() error { return c.SetWeight(ctx, "express", "g1", 50) },
			func(s ServerState) bool { return s.Weight == 50 && s.InitialWeight == 100 }},
		{"DisableAgent", func() error { return c.DisableAgent(ctx, "express", "g1") },
			func(s ServerState) bool { return !s.AgentEnabled() }},
		{"DisableHealth", func() error { return c.DisableHealth(ctx, "express", "g1") },
			func(s ServerState) bool { return !s.HealthEnabled() }},
		{"SetState ready", func() error { return c.SetState(ctx, "express", "g1", StateReady) },
			func(s ServerState) bool { return s.AdminState() == StateReady }},
		{"SetState maint", func() error { return c.SetState(ctx, "express", "g1", StateMaint) },
			func(s ServerState) bool { return s.AdminState() == StateMaint }},
	} {
		if err := step.run(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		st, err := c.ServerState(ctx, "express", "g1")
		if err != nil {
			t.Fatalf("after %s: %v", step.name, err)
		}
		if !step.ok(st) {
			t.Fatalf("after %s: state %+v", step.name, st)
		}
	}

	// The same server through the loopback TCP socket.
	tc, err := New(h.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	states, err := tc.ShowServersState(ctx, "")
	if err != nil {
		t.Fatalf("ShowServersState over TCP: %v", err)
	}
	if len(states) != 1 || states[0].Name != "g1" {
		t.Fatalf("ShowServersState over TCP = %+v, want g1 only", states)
	}
	stat, err := tc.ServerStat(ctx, "express", "g1")
	if err != nil {
		t.Fatalf("ServerStat over TCP: %v", err)
	}
	if stat.Status != "MAINT" || stat.Sessions != 0 || stat.Weight != 50 {
		t.Fatalf("ServerStat = %+v", stat)
	}

	if err := c.DelServer(ctx, "express", "g1"); err != nil {
		t.Fatalf("DelServer: %v", err)
	}
	if _, err := c.ServerState(ctx, "express", "g1"); !errors.Is(err, ErrNoSuchServer) {
		t.Fatalf("ServerState after DelServer = %v, want ErrNoSuchServer", err)
	}
}

// TestClientRefusals maps haproxy's own refusal texts to the sentinels and
// keeps haproxy's words in the error.
func TestClientRefusals(t *testing.T) {
	h := startHAProxy(t, "")
	ctx := testCtx(t)
	c := h.client
	opts := ServerOptions{Weight: 100, Check: true}
	if err := c.AddServer(ctx, "express", "g1", "127.0.0.1", 8080, opts); err != nil {
		t.Fatal(err)
	}
	oper, err := New("unix:" + h.operSock)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		run   func() error
		want  error // nil: ErrCommand only
		reply string
	}{
		{"show servers state of a missing backend",
			func() error { _, err := c.ShowServersState(ctx, "nope"); return err },
			ErrNoSuchBackend, "Can't find backend."},
		{"show stat of a missing backend",
			func() error { _, err := c.ShowStat(ctx, "nope"); return err },
			ErrNoSuchBackend, "No such proxy."},
		{"add server to a missing backend",
			func() error { return c.AddServer(ctx, "nope", "g1", "127.0.0.1", 8080, opts) },
			ErrNoSuchBackend, "No such backend."},
		{"set state of a missing server",
			func() error { return c.SetState(ctx, "express", "ghost", StateDrain) },
			ErrNoSuchServer, "No such server."},
		{"del of a missing server",
			func() error { return c.DelServer(ctx, "express", "ghost") },
			ErrNoSuchServer, "No such server."},
		{"add of an existing server",
			func() error { return c.AddServer(ctx, "express", "g1", "127.0.0.1", 8080, opts) },
			ErrServerExists, "Already exists a server with the same name in backend."},
		{"keyword refused for dynamic servers",
			func() error {
				return c.AddServer(ctx, "express", "g2", "127.0.0.1", 8080, ServerOptions{Extra: []string{"cookie", "abc"}})
			},
			ErrDynamicKeyword, "'cookie' option is not accepted for dynamic server"},
		{"backend without dynamic load balancing",
			func() error { return c.AddServer(ctx, "classic", "g2", "127.0.0.1", 8080, opts) },
			ErrBackendNotDynamic, "Backend must use a dynamic load balancing to support dynamic servers."},
		{"enable agent without agent-check",
			func() error { return c.EnableAgent(ctx, "express", "g1") },
			nil, "Agent was not configured on this server, cannot enable."},
		{"operator-level socket",
			func() error { return oper.AddServer(ctx, "express", "g3", "127.0.0.1", 8080, opts) },
			ErrPermission, "Permission denied"},
		{"del of a server not in maintenance",
			func() error {
				if err := c.SetState(ctx, "express", "g1", StateReady); err != nil {
					return err
				}
				return c.DelServer(ctx, "express", "g1")
			},
			ErrNotInMaintenance, "Only servers in maintenance mode can be deleted."},
	} {
		err := tc.run()
		if !errors.Is(err, ErrCommand) {
			t.Errorf("%s: err = %v, want ErrCommand", tc.name, err)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Reply != tc.reply {
			t.Errorf("%s: haproxy said %q, want %q", tc.name, ce.Reply, tc.reply)
		}
		if tc.want == nil {
			for _, s := range []error{ErrNoSuchBackend, ErrNoSuchServer, ErrServerExists, ErrNotInMaintenance, ErrDynamicKeyword} {
				if errors.Is(err, s) {
					t.Errorf("%s: err %v also matches %v", tc.name, err, s)
				}
			}
		}
	}
}
