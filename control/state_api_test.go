package control

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestAPIState: the state a list of gears asks each supervisor for is its
// status without the processes.
func TestAPIState(t *testing.T) {
	g, sock := apiGear(t)
	st, err := NewClient(sock).State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := g.sup.Status()
	if st.State != Ready || st.PID != want.PID || st.SupervisorPID != want.SupervisorPID || st.Listen != want.Listen || st.PID == 0 {
		t.Errorf("state = %+v; want the status %+v", st, want)
	}
	out, err := exec.Command("curl", "-s", "--unix-socket", sock, "http://gearctl/v1/state").Output()
	if err != nil || !strings.Contains(string(out), `"state":"ready"`) || strings.Contains(string(out), `"processes"`) {
		t.Errorf("curl /v1/state: %v %s; want the state without processes", err, out)
	}
}
