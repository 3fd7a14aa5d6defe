package test

import (
	"context"
	"testing"
	"time"

	"github.com/gearctl/gearctl/haproxy"
)

// TestControlStartRegistersWithHAProxy settles what issue 12 suspected:
// `control start` (and `control restart` of a stopped gear) read the
// haproxy settings from GEARCTL_HAPROXY and GEARCTL_HAPROXY_SERVER as
// `gearctl start` does, though the control verbs declare no haproxy
// flags: the gear is registered, routed to, and deleted at `control stop`.
func TestControlStartRegistersWithHAProxy(t *testing.T) {
	t.Parallel()
	_, err := lookExe("haproxy")
	need(t, "haproxy", err)
	sock, front, _ := startLoopbackHAProxy(t)
	c, err := haproxy.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	servers := func() []haproxy.ServerState {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.ShowServersState(ctx, "express")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	routed := func() bool {
		code, _, err := get(front, "/")
		return err == nil && code == 200
	}
	for _, verb := range []string{"start", "restart"} {
		t.Run(verb, func(t *testing.T) {
			s := newSimGear(t, "wsgiref", nil)
			env := []string{"GEARCTL_HAPROXY=unix:" + sock, "GEARCTL_HAPROXY_SERVER=ctl-" + verb}
			s.ctl(env, verb).want(t, 0)
			if !eventually(waitLine, routed) {
				t.Fatalf("control %s: haproxy never routed a request to the gear; backend: %+v", verb, servers())
			}
			found := false
			for _, srv := range servers() {
				found = found || srv.Name == "ctl-"+verb
			}
			if !found {
				t.Errorf("control %s: no server ctl-%s in backend express: %+v", verb, verb, servers())
			}
			s.ctl(env, "stop").want(t, 0)
			for _, srv := range servers() {
				if srv.Name == "ctl-"+verb {
					t.Errorf("control stop left ctl-%s in backend express: %+v", verb, srv)
				}
			}
		})
	}
}
