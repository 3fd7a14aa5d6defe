package gear

import (
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/gearctl/gearctl/control"
)

// bindOrExit binds port as Apache does its own Listen, and fails as a new
// instance that exits would.
func bindOrExit(tried *[]int) func(int) error {
	return func(port int) error {
		*tried = append(*tried, port)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return &control.FailError{Server: "apache", Reason: control.FailExited, Cause: err.Error()}
		}
		return l.Close()
	}
}

// Another process binds the picked port before the new server does: the
// restart moves on to a fresh port instead of failing.
func TestMoveRetriesATakenPort(t *testing.T) {
	thief, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	stolen := thief.Addr().(*net.TCPAddr).Port
	var tried []int
	if err := onFreePort("127.0.0.1", stolen, bindOrExit(&tried)); err != nil {
		t.Fatalf("onFreePort: %v; want the restart on another port", err)
	}
	if len(tried) != 2 || tried[0] != stolen || tried[1] == stolen || tried[1] == 0 {
		t.Errorf("tried ports %v; want %d, then one other", tried, stolen)
	}
}

// A failure that is not about the port is the result, once; so is a
// restart that does not move.
func TestMoveOtherFailuresAreFinal(t *testing.T) {
	calls := 0
	exited := &control.FailError{Reason: control.FailExited, Cause: "exited with status 1"}
	err := onFreePort("127.0.0.1", freePort("127.0.0.1"), func(int) error { calls++; return exited })
	if !errors.Is(err, exited) || calls != 1 {
		t.Errorf("%v after %d restarts; want the failure after 1: the port was free", err, calls)
	}
	thief, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	calls = 0
	if err := onFreePort("127.0.0.1", 0, func(int) error { calls++; return exited }); !errors.Is(err, exited) || calls != 1 {
		t.Errorf("%v after %d restarts; want the failure after 1 for a gear that does not move", err, calls)
	}
	// A thief that takes every port picked: the tries end.
	calls = 0
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	err = onFreePort("127.0.0.1", freePort("127.0.0.1"), func(port int) error {
		calls++
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			held = append(held, l)
		}
		return exited
	})
	if !errors.Is(err, exited) || calls != moveTries {
		t.Errorf("%v after %d restarts; want the failure after %d", err, calls, moveTries)
	}
}
