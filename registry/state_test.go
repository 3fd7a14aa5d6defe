package registry

import (
	"testing"
	"time"
)

// A supervisor's published state is in its entry for list to read; an
// entry that another supervisor took over, or that was removed, is left
// as it is.
func TestPublish(t *testing.T) {
	r := newRegistry(t)
	root := t.TempDir()
	e := entry(root, "shop", live(t))
	if err := r.Register(e); err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-time.Minute).Truncate(time.Second)
	st := State{State: "ready", Server: "gunicorn", PID: 4242, Listen: "127.0.0.1:8080", StartedAt: started, Restarts: 2, At: time.Now()}
	if err := r.Publish(e, st); err != nil {
		t.Fatal(err)
	}
	f, err := r.Lookup("shop")
	if err != nil || f.State == nil || f.State.State != "ready" || f.State.PID != 4242 || f.State.Restarts != 2 || !f.State.StartedAt.Equal(started) {
		t.Fatalf("lookup after publish: %+v, %v; want the published state", f.State, err)
	}

	other := e
	other.Supervisor.StartTicks++ // another supervisor of the same name
	if err := r.Publish(other, State{State: "stopping"}); err != nil {
		t.Fatal(err)
	}
	if f, _ := r.Lookup("shop"); f.State == nil || f.State.State != "ready" {
		t.Errorf("a supervisor that does not hold the entry changed it: %+v", f.State)
	}

	if err := r.Remove(e); err != nil {
		t.Fatal(err)
	}
	if err := r.Publish(e, st); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup("shop"); err == nil {
		t.Errorf("a publish after the removal brought the entry back")
	}
}
