package haproxy

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gearctl/gearctl/internal/testenv"
)

// exampleConfig is the configuration shipped for users.
const exampleConfig = "../examples/haproxy/haproxy.cfg"

// TestExampleConfig: the shipped haproxy.cfg is valid, and a gear
// registers through it and gets requests. Only its socket paths and ports
// are changed, to a temp dir and free loopback ports.
func TestExampleConfig(t *testing.T) {
	_, err := os.Stat(haproxyBin)
	testenv.Need(t, "haproxy (Debian: apt-get install haproxy)", err)
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxyBin, "-c", "-f", exampleConfig).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c -f %s: %v\n%s", exampleConfig, err, out)
	}
	h := startHAProxyWith(t, func(h *testHAProxy) string {
		cfg := string(b)
		for old, new := range map[string]string{
			"/run/haproxy/admin.sock": h.sock,
			"127.0.0.1:9999":          h.tcpAddr,
			"bind :80":                "bind " + h.front,
		} {
			if !strings.Contains(cfg, old) {
				t.Fatalf("%s no longer contains %q; update this test", exampleConfig, old)
			}
			cfg = strings.ReplaceAll(cfg, old, new)
		}
		return cfg
	})
	g := startGear(t)
	reg := newTestRegistration(h, g)
	ctx := testCtx(t)
	if err := reg.Up(ctx); err != nil {
		t.Fatalf("Up through the example config: %v", err)
	}
	if resp, err := get(h.url("/")); err != nil || resp.status != 200 || !resp.fromGear {
		t.Fatalf("request through the example config: %+v %v", resp, err)
	}
	// The TCP socket of the example works too.
	tc, err := New(h.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.ServerState(ctx, "express", "gear"); err != nil {
		t.Fatalf("ServerState over the example's TCP socket: %v", err)
	}
}
