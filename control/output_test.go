package control

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A stream's pipe is made blocking (its reader waits in read(2), not in
// the runtime's poller; the server's stdout, checked here, is blocking as
// a program expects) and 1 MiB where the limit allows; what is written to
// it reaches the sink, and a watcher waiting for a line turns the relay's
// pauses off until the line comes.
func TestStreamRelaysAndWatches(t *testing.T) {
	var sink syncBuffer
	out := newOutput(&sink)
	seen, stop := out.watch("ready")
	defer stop() // a no-op once the line came
	if !out.watching() {
		t.Fatal("not watching with a watcher waiting")
	}
	st, err := out.newStream()
	if err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(st.w.Fd(), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK != 0 {
		t.Errorf("write end flags %#x, %v; want blocking", flags, err)
	}
	// Root may always; another user within fs.pipe-max-size and the
	// soft limit of pages per user.
	if size, err := unix.FcntlInt(st.w.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || size != pipeSize && os.Geteuid() == 0 {
		t.Errorf("pipe size %d, %v; want %d", size, err, pipeSize)
	}
	if _, err := st.w.Write([]byte("booting\nready now\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher never saw its line")
	}
	if out.watching() {
		t.Error("still watching once the line came")
	}
	st.w.Write([]byte("after\n"))
	st.w.Close()
	out.wait(10 * time.Second)
	if got := sink.String(); got != "booting\nready now\nafter\n" {
		t.Errorf("sink got %q", got)
	}
	if got := st.lastLines(); len(got) != 3 || got[2] != "after" {
		t.Errorf("last lines %q; want the three lines", got)
	}
}

// A watch that ends without its line, as a start that timed out, is
// removed: it would keep the relay's pauses off for the gear's life.
func TestWatchStopped(t *testing.T) {
	out := newOutput(&syncBuffer{})
	_, stop := out.watch("never printed")
	_, other := out.watch("also waited for")
	stop()
	if !out.watching() {
		t.Fatal("stopping one watch ended the other")
	}
	other()
	if out.watching() {
		t.Error("watching after both watches were stopped")
	}
}
