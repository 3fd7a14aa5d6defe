package pidfile

import (
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// Field 22 is the start time; the command name may hold ") " and more.
	tail := " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4711 20 21 22 23\n"
	for _, tc := range []struct {
		line  string
		state byte
	}{
		{"42 (python3) S" + tail, 'S'},
		{"42 (a) Z 1 2 3) R" + tail, 'R'},
		{"42 ()) Z" + tail, 'Z'},
	} {
		st, err := parseStat([]byte(tc.line))
		if err != nil {
			t.Errorf("parseStat(%q): %v", tc.line, err)
			continue
		}
		if st.State != tc.state || st.PPID != 1 || st.PGID != 2 || st.SID != 3 || st.StartTicks != 4711 {
			t.Errorf("parseStat(%q) = %+v, want state %c, ppid 1, pgid 2, sid 3, start 4711", tc.line, st, tc.state)
		}
	}
	for _, bad := range []string{"", "42 python3 S 1", "42 (x) S 1 2", "42 (x) SS" + tail, "42 (x) S" + strings.Replace(tail, "4711", "-1", 1)} {
		if st, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want an error", bad, st)
		}
	}
}

// A real process whose command name would fool a parser that splits
// /proc/PID/stat on spaces.
func TestLookupHostileCommandName(t *testing.T) {
	h := startHelper(t, "comm", "x) Z 9 9 9 9 9")
	h.expect("ready")
	r, err := Lookup(h.pid())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("check of a live process named %q: %v", "x) Z 9 9 9 9 9", err)
	}
	self, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The helper started after us, so it started at a later tick or the
	// same one; a misparse would read 9 or garbage.
	if r.StartTicks < self.StartTicks {
		t.Fatalf("helper start ticks %d before the test's %d: misparsed", r.StartTicks, self.StartTicks)
	}
}

// A process that exited is stale both while it is a zombie (exited, not yet
// reaped by its parent) and after it is reaped.
func TestCheckExited(t *testing.T) {
	h := startHelper(t, "idle", "")
	h.expect("ready")
	r, err := Lookup(h.pid())
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	h.stdin.Close() // the helper exits
	ctx, cancel := deadline(t)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Exited but not reaped: a zombie.
	if st, err := ReadStat(r.PID); err != nil || st.State != 'Z' {
		t.Fatalf("helper not a zombie before reaping: %+v, %v", st, err)
	}
	assertStale(t, r, "zombie")
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal to a zombie: %v, want os.ErrProcessDone", err)
	}

	if err := h.reap(); err != nil {
		t.Fatal(err)
	}
	assertStale(t, r, "reaped")
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal to a reaped process: %v, want os.ErrProcessDone", err)
	}
	// Waiting again for a process that is gone returns at once.
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// A record whose PID is alive but names another process is stale, Open
// refuses it, and the live process receives nothing.
func TestReusedPIDNotSignalled(t *testing.T) {
	h := startHelper(t, "signals", "")
	h.expect("ready")
	real, err := Lookup(h.pid())
	if err != nil {
		t.Fatal(err)
	}
	otherStart := real
	otherStart.StartTicks++ // as if an earlier process had this PID
	otherBoot := real
	otherBoot.BootID = sampleBootID
	for name, r := range map[string]Record{"other start": otherStart, "other boot": otherBoot} {
		assertStale(t, r, name)
	}

	// Proof that nothing reached the helper: its handler reports every
	// SIGHUP, SIGUSR1 and SIGTERM it gets, in order, and a pending
	// lower-numbered signal is always delivered before a later SIGTERM. So
	// if the first thing it reports is the SIGTERM sent now through the
	// genuine record, no signal came before it.
	p, err := Open(real)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := h.rest(); len(got) != 1 || got[0] != "got SIGTERM" {
		t.Fatalf("helper reported %q, want only [got SIGTERM]", got)
	}
	ctx, cancel := deadline(t)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.reap(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
}

// The same for a record that points at this test process with the wrong
// start time: refused, and this process receives nothing.
func TestReusedPIDSelfNotSignalled(t *testing.T) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM)
	defer signal.Stop(sigs)

	real, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	forged := real
	forged.StartTicks--
	assertStale(t, forged, "self, other start")

	// As above: the first signal to arrive must be the SIGTERM sent now.
	p, err := Open(real)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case sig := <-sigs:
		if sig != syscall.SIGTERM {
			t.Fatalf("first signal received was %v, want SIGTERM", sig)
		}
	case <-time.After(waitLimit):
		t.Fatalf("SIGTERM to self not received within %v", waitLimit)
	}
}

// The wall-clock start time is for display; only the kernel's ticks and
// boot id decide identity (see the package doc for why).
func TestCheckIgnoresWallClockStartTime(t *testing.T) {
	r, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	r.StartTime += 5000
	if err := r.Check(); err != nil {
		t.Fatalf("check with a shifted wall-clock start time: %v", err)
	}
}

func TestCheckInvalidRecord(t *testing.T) {
	for _, r := range []Record{{}, {PID: 1, StartTime: 1, BootID: sampleBootID}} {
		err := r.Check()
		if !errors.Is(err, os.ErrInvalid) || errors.Is(err, ErrStale) {
			t.Errorf("Check(%+v) = %v, want os.ErrInvalid", r, err)
		}
		if p, err := Open(r); !errors.Is(err, os.ErrInvalid) {
			t.Errorf("Open(%+v) = %v, %v, want os.ErrInvalid", r, p, err)
		}
	}
}

// assertStale checks that Check and Open both report r as stale.
func assertStale(t *testing.T, r Record, what string) {
	t.Helper()
	if err := r.Check(); !errors.Is(err, ErrStale) {
		t.Fatalf("%s: Check(%+v) = %v, want ErrStale", what, r, err)
	}
	p, err := Open(r)
	if !errors.Is(err, ErrStale) || p != nil {
		t.Fatalf("%s: Open(%+v) = %v, %v, want ErrStale", what, r, p, err)
	}
}
