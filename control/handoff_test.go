package control

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gearctl/gearctl/pidfile"
)

// A handoff is read once, by its token, and only from a file of this
// user's that is no symlink.
func TestHandoff(t *testing.T) {
	g := Gear{Dir: t.TempDir()}
	spec := childSpec(t, "http", 8080)
	token, drop, err := g.Handoff(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	got, err := g.TakeHandoff(token)
	if err != nil || got.Path != spec.Path || got.Port != 8080 {
		t.Fatalf("TakeHandoff = %+v, %v; want the spec handed off", got, err)
	}
	if _, err := os.Stat(g.handoffFile(token)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the handoff file is still there after it was taken: %v", err)
	}
	if _, err := g.TakeHandoff(token); err == nil {
		t.Error("a handoff was taken twice")
	}
	for _, bad := range []string{"", "../server", "ABCDEF0123456789abcdef0123456789"} {
		if _, err := g.TakeHandoff(bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
	// A planted symlink is refused, not followed.
	token, drop2, err := g.Handoff(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer drop2()
	target := filepath.Join(t.TempDir(), "elsewhere.json")
	if err := os.Rename(g.handoffFile(token), target); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, g.handoffFile(token)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.TakeHandoff(token); !errors.Is(err, pidfile.ErrUntrusted) {
		t.Errorf("TakeHandoff through a symlink = %v; want ErrUntrusted", err)
	}
}
