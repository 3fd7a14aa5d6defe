package control

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gearctl/gearctl/internal/testenv"
)

// apiGear starts a supervised child with its control socket in a fresh
// directory and returns the socket's path.
func apiGear(t *testing.T) (*gear, string) {
	t.Helper()
	g := startGear(t, childSpec(t, "http", freePort(t)))
	g.waitState(t, Ready)
	sock := filepath.Join(t.TempDir(), "control.sock")
	a, err := ServeAPI(g.sup, sock, APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return g, sock
}

func TestAPIStatusAndSocketMode(t *testing.T) {
	g, sock := apiGear(t)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %o, want 600", fi.Mode().Perm())
	}
	rep, err := NewClient(sock).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != Ready || rep.PID != g.sup.Status().PID || len(rep.Processes) < 2 {
		t.Fatalf("status = %+v", rep)
	}
	// What curl --unix-socket sees is plain JSON over HTTP.
	out, err := exec.Command("curl", "-s", "--unix-socket", sock, "http://gearctl/v1/status").Output()
	if err != nil || !strings.Contains(string(out), `"state":"ready"`) {
		t.Fatalf("curl: %v %s", err, out)
	}
}

func TestAPIRefusesBadRequests(t *testing.T) {
	g, sock := apiGear(t)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, body := range []string{"{", `{"spec":{}}`, `{"spec":` + strings.Repeat(" ", 2<<20) + `{}}`} {
		resp, err := hc.Post("http://gearctl/v1/restart", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "error") {
			t.Fatalf("restart with %.20q: %d %s", body, resp.StatusCode, b)
		}
	}
	if st := g.sup.Status(); st.State != Ready {
		t.Fatalf("bad requests disturbed the gear: %s", st.State)
	}
	err := NewClient(sock).Reload(context.Background(), time.Minute)
	if err != nil {
		t.Fatalf("the API no longer serves after bad requests: %v", err)
	}
}

// TestAPIRefusesOtherUsers connects as nobody: the socket's mode keeps it
// out, and when the mode is opened up the peer's uid still does.
func TestAPIRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		testenv.Need(t, "root", errors.New("running a client as nobody needs root"))
	}
	_, sock := apiGear(t)
	// A copy of this binary that nobody may run.
	exe, _ := os.Executable()
	dir, err := os.MkdirTemp("", "gearctl-client")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "client")
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bin, b, 0o755)
	asNobody := func() string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = []string{"GEARCTL_TEST_CHILD=client", "SOCK=" + sock}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		return string(out) + errString(err)
	}
	if out := asNobody(); !strings.Contains(out, "permission denied") {
		t.Fatalf("nobody through the default modes: %s", out)
	}
	os.Chmod(filepath.Dir(sock), 0o755)
	os.Chmod(filepath.Dir(filepath.Dir(sock)), 0o755) // t.TempDir's root
	os.Chmod(sock, 0o666)
	if out := asNobody(); !strings.Contains(out, "uid 65534 may not control this gear") {
		t.Fatalf("nobody through open modes: %s", out)
	}
}

// clientChild is the "client" child: one status request, its outcome printed.
func clientChild() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := NewClient(os.Getenv("SOCK")).Status(ctx)
	var re *RequestError
	switch {
	case errors.As(err, &re):
		os.Stdout.WriteString(re.Msg + "\n")
	case err != nil:
		os.Stdout.WriteString(err.Error() + "\n")
	default:
		os.Stdout.WriteString("allowed\n")
	}
}

// TestAPIFailedRestartIsTyped: a failed restart reaches the client as the
// FailError the supervisor made, reason, serving PID and last lines
// included, not as text to parse.
func TestAPIFailedRestartIsTyped(t *testing.T) {
	g, sock := apiGear(t)
	before := g.sup.Status()
	_, port, _ := net.SplitHostPort(before.Listen)
	n, _ := strconv.Atoi(port)
	spec := childSpec(t, "exit", n)
	err := NewClient(sock).Restart(context.Background(), spec)
	var fe *FailError
	if !errors.As(err, &fe) {
		t.Fatalf("restart onto a failing server = %v (%T); want a *FailError", err, err)
	}
	if fe.Reason != FailExited || fe.Serving != before.PID || !strings.Contains(fe.Tail(), "failing at import") {
		t.Fatalf("failure %+v; want reason exited, pid %d serving, the server's last lines", fe, before.PID)
	}
}
