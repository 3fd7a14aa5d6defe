package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// between is the pause after a recovery before the next kill: longer than
// supervisord's startsecs (1 s), so that each kill hits a server its
// supervisor counts as started, not one failing to start, which either
// tool would answer with backoff.
const between = 1500 * time.Millisecond

// recoveryLimit bounds the wait for a new server after a kill.
const recoveryLimit = 20 * time.Second

// recovery is section c: SIGKILL of the server's master → first 200 from a
// new server, with gearctl and with supervisord (autorestart=true).
func (b *bench) recovery(ctx context.Context) []*table {
	samples := max(1, b.cfg.samples/2)
	t := &table{
		title: fmt.Sprintf("c. crash recovery, %d samples each", samples),
		about: "SIGKILL of the server's master -> first 200 answered by a process that is not the\n" +
			"killed master or one of its descendants (the app says its PID); polled every 1 ms.",
		cols: []string{"gearctl", "supervisord"},
	}
	for _, srv := range servers {
		var med, wst []float64
		for _, newC := range []func(string) (supervisor, error){
			func(tag string) (supervisor, error) { return b.newGearctl(tag) },
			func(tag string) (supervisor, error) { return b.newSupervisord(tag) },
		} {
			if ctx.Err() != nil {
				return nil
			}
			c, err := newC("c-" + srv)
			var times []time.Duration
			var survivors []int
			if err == nil {
				progress("c. %s: %s, %d kills", srv, c.label(), samples)
				times, survivors, err = b.crashes(ctx, c, srv, samples)
			}
			if err != nil {
				t.note("%s %s: %v", srv, c.label(), err)
			}
			if len(survivors) > 0 {
				t.note("%s %s: %d processes of a killed master outlived it by more than %s: pids %v",
					srv, c.label(), len(survivors), between, survivors)
			}
			med, wst = append(med, median(times)), append(wst, worst(times))
		}
		t.add(srv+": median", millis, med...)
		t.add(srv+": worst", millis, wst...)
	}
	return []*table{t}
}

// crashes starts c with srv, kills its master n times, each time measuring
// until a new server answers, and stops it. survivors are processes of a
// killed master still alive a while after the kill.
func (b *bench) crashes(ctx context.Context, c supervisor, srv string, n int) (times []time.Duration, survivors []int, err error) {
	defer func() {
		if stopErr := bounded(context.WithoutCancel(ctx), c.stop); err == nil && stopErr != nil {
			err = fmt.Errorf("stop: %w", stopErr)
		}
	}()
	if err := bounded(ctx, func(ctx context.Context) error { return c.start(ctx, srv) }); err != nil {
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	if err := bounded(ctx, ready(c)); err != nil {
		return nil, nil, err
	}
	time.Sleep(between)
	for range n {
		var master int
		if err := bounded(ctx, func(ctx context.Context) (err error) {
			_, master, err = c.pids(ctx)
			return err
		}); err != nil {
			return times, survivors, err
		}
		old := family(master)
		t0 := time.Now()
		if err := syscall.Kill(master, syscall.SIGKILL); err != nil {
			return times, survivors, fmt.Errorf("kill pid %d: %w", master, err)
		}
		wctx, cancel := context.WithTimeout(ctx, recoveryLimit)
		at, err := waitAnswer(wctx, c.addr(), func(body string) bool { return !old[answeredBy(body)] })
		cancel()
		if err == nil {
			times = append(times, at.Sub(t0))
			time.Sleep(between)
		}
		// What the kill left running is killed here, having been counted:
		// it may sit in a group the contender made, and keep the port.
		for pid := range old {
			if alive(pid) {
				survivors = append(survivors, pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if err != nil {
			times = append(times, never)
			return times, survivors, fmt.Errorf("no new server answered within %s of killing pid %d", recoveryLimit, master)
		}
	}
	return times, survivors, nil
}

// answeredBy is the PID in the hello app's answer, "hello from pid N".
func answeredBy(body string) int {
	f := strings.Fields(body)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "pid" {
			pid, _ := strconv.Atoi(f[i+1])
			return pid
		}
	}
	return 0
}
