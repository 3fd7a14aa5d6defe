package test

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/haproxy"
)

// TestHAProxyHungDuringStop SIGSTOPs haproxy under a registered gear:
// status answers with what the gear last learned of haproxy. Then it
// stops the gear: the stop must end within its timeouts, leave no process
// and log what haproxy was not told. Once haproxy runs again, a new start
// of the same gear must register it and serve through haproxy, with one
// server of its name in the backend, not a stale one beside it.
func TestHAProxyHungDuringStop(t *testing.T) {
	t.Parallel()
	_, err := lookExe("haproxy")
	need(t, "haproxy", err)
	sock, front, h := startLoopbackHAProxy(t)
	b := newBGGear(t, nil)
	const stopTimeout = 5 * time.Second
	args := []string{"--haproxy", "unix:" + sock, "--haproxy-server", "g1", "--stop-timeout", stopTimeout.String()}
	b.start("wsgiref", args...)
	routed := func() bool {
		code, _, err := get(front, "/")
		return err == nil && code == 200
	}
	if !eventually(waitLine, routed) {
		t.Fatal("haproxy never routed a request to the gear")
	}

	// What status says of haproxy is what the supervisor last learned:
	// with haproxy hung it still answers, with the state learned before.
	registered := func(when string) {
		t.Helper()
		st, code := b.status()
		hp := st.HAProxy
		if code != 0 || hp == nil || hp.Desired != "up" || hp.Backend != "express" || hp.Server != "g1" ||
			hp.State != "ready" || hp.Healthy == nil || !*hp.Healthy || hp.LearnedAt.IsZero() {
			t.Errorf("%s: status exits %d with haproxy %+v; want desired up, express/g1 ready and healthy, and when that was learned", when, code, hp)
		}
	}
	if !eventually(waitLine, func() bool {
		st, _ := b.status()
		return st.HAProxy != nil && st.HAProxy.Healthy != nil && *st.HAProxy.Healthy
	}) {
		t.Fatal("status never said haproxy counts the gear healthy")
	}
	registered("haproxy running")
	h.signal(syscall.SIGSTOP)
	// A failed test must not leave haproxy stopped for its cleanup.
	continued := false
	t.Cleanup(func() {
		if !continued {
			h.signal(syscall.SIGCONT)
		}
	})
	registered("haproxy hung")
	t0 := time.Now()
	r := b.stop()
	// stop itself gives up on the supervisor after stop-timeout + 10 s.
	if took, bound := time.Since(t0), stopTimeout+10*time.Second; took > bound {
		t.Errorf("stop with haproxy hung took %s; want at most %s", took.Round(time.Millisecond), bound)
	}
	said := regexp.MustCompile(`could not tell haproxy unix:\S+ to drain server g1: no answer within \S+; it may stay in backend express until the next registration`)
	if n := len(said.FindAllString(r.stderr, -1)); n != 1 {
		t.Errorf("stop says %d times what haproxy was not told; want once:\n%s", n, r.stderr)
	}
	logs := b.do("logs", "-n", "200").want(t, 0)
	if n := len(said.FindAllString(logs.stdout, -1)); n != 1 {
		t.Errorf("the log says %d times what haproxy was not told; want once:\n%s", n, tail(logs.stdout, 20))
	}

	h.signal(syscall.SIGCONT)
	continued = true
	b.start("wsgiref", args...)
	if !eventually(waitLine, routed) {
		t.Fatal("after haproxy continued, a new start was never routed through it")
	}
	c, err := haproxy.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	servers, err := c.ShowServersState(ctx, "express")
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 1 || servers[0].Name != "g1" || servers[0].AdminState() != haproxy.StateReady || !servers[0].Healthy() {
		t.Errorf("backend express after the new start: %+v; want g1 alone, ready and healthy", servers)
	}
	b.stop()
	if servers, err := c.ShowServersState(ctx, "express"); err != nil || len(servers) != 0 {
		t.Errorf("haproxy after the last stop: %d servers (%v); want none", len(servers), err)
	}
}

// TestRestartRacedBySIGTERM races restarts with SIGTERM to the
// supervisor: a restart may fail (exit 1) or report the new server, but
// never exit 0 naming no pid or no address, as "restarted:  pid 0 ready on
// ;" did when the status after the restart came from a stopping gear.
func TestRestartRacedBySIGTERM(t *testing.T) {
	t.Parallel()
	b := newBGGear(t, nil)
	ok := regexp.MustCompile(`^gearctl: restarted: wsgiref pid [1-9]\d* ready on 127\.0\.0\.1:\d+, `)
	b.start("wsgiref")
	t0 := time.Now()
	b.do("restart").want(t, 0)
	took := time.Since(t0)
	b.do("stop").want(t, 0)
	for round := range 16 {
		_, sup := b.start("wsgiref")
		g := b.spawn(nil, "restart")
		// Around the end of a restart, where the new server is ready and
		// the reply on its way: from half its length to 1.2 times it.
		time.Sleep(took/2 + time.Duration(rand.Int64N(int64(took*7/10))))
		if err := syscall.Kill(sup, syscall.SIGTERM); err != nil {
			t.Fatalf("round %d: kill supervisor %d: %v", round, sup, err)
		}
		code := g.wait()
		out := strings.TrimSpace(g.stdout.text())
		if code == 0 && !ok.MatchString(out) {
			t.Errorf("round %d: restart exited 0 saying %q; want exit 1 or the new server's pid and address", round, out)
		}
		if code != 0 && code != 1 {
			t.Errorf("round %d: restart exited %d; want 0 or 1\n%s", round, code, g.stderr.text())
		}
		b.do("stop").want(t, 0)
		b.assertNothingLeft()
	}
}
