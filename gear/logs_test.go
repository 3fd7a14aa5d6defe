package gear

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gearctl/gearctl/control"
)

// Follow starts at the end, writes whole lines only, and loses none when
// the log is rotated under it: the old file is drained before the new one
// is read.
func TestFollowAcrossRotation(t *testing.T) {
	g := control.Gear{Dir: t.TempDir()}
	if err := os.MkdirAll(g.Logs(), 0o700); err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(g.ServerLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(log, "before follow")
	ctx, cancel := context.WithCancel(context.Background())
	// Follow writes to a file, which the test reads while it does.
	out, err := os.Create(filepath.Join(t.TempDir(), "followed"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	followed := func() string { b, _ := os.ReadFile(out.Name()); return string(b) }
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, g, out) }()
	time.Sleep(3 * followPoll) // Follow has opened the log and seeked to its end

	var want strings.Builder
	for i := range 200 {
		line := fmt.Sprintf("line %d", i)
		want.WriteString(line + "\n")
		if i == 100 {
			fmt.Fprint(log, "line 100") // half a line, then the rotation
			if err := os.Rename(g.ServerLog(), filepath.Join(g.Logs(), "server.log.1")); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(log) // the old file gets its end after the rename
			log.Close()
			if log, err = os.OpenFile(g.ServerLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		fmt.Fprintln(log, line)
	}
	log.Close()
	deadline := time.Now().Add(10 * time.Second)
	for followed() != want.String() && time.Now().Before(deadline) {
		time.Sleep(followPoll)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := followed(); got != want.String() {
		t.Errorf("followed %d bytes, want %d: every line after the start exactly once\n got %q", len(got), want.Len(), got)
	}
}
