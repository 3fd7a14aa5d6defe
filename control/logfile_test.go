package control

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRotationKeepsEveryLineWhole writes numbered lines from a real child
// process through the output pipe into a small rotating log: every line
// must arrive exactly once, whole, in order, across many rotations.
func TestRotationKeepsEveryLineWhole(t *testing.T) {
	const n = 20000
	path := filepath.Join(t.TempDir(), "logs", "server.log")
	lf, err := OpenLogFile(path, 64<<10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	spec := childSpec(t, "lines", freePort(t))
	spec.Env = append(spec.Env, fmt.Sprintf("LINES=%d", n))
	spec.StartTimeout = 30e9
	r, _ := startReaper()
	out := newOutput(lf)
	st, err := out.newStream()
	if err != nil {
		t.Fatal(err)
	}
	in, err := spawn(r, spec, nil, st.w)
	st.w.Close()
	if err != nil {
		t.Fatal(err)
	}
	<-in.done
	out.wait(10e9)
	lf.Close()

	files := LogFiles(path)
	if len(files) < 10 {
		t.Fatalf("%d files: the test did not rotate enough to prove anything", len(files))
	}
	next := 0
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 64<<10 {
			t.Errorf("%s holds %d bytes, over the log's size of 64 KiB", f, fi.Size())
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			want := lineN(next)
			if sc.Text() != want {
				t.Fatalf("%s: line %q, want %q", f, sc.Text(), want)
			}
			next++
		}
		fh.Close()
	}
	if next != n {
		t.Fatalf("%d of %d lines arrived", next, n)
	}
}

// lineN is the child's line number i, long enough to make rotations many.
func lineN(i int) string {
	return fmt.Sprintf("line %06d %s", i, strings.Repeat("x", 90))
}

// A run of lines larger than the room left is split between two lines, so
// that no file grows past its size; a single line longer than the size
// has a file of its own, whole.
func TestRotationSplitsARunBetweenLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	lf, err := OpenLogFile(path, 250, 100)
	if err != nil {
		t.Fatal(err)
	}
	var run strings.Builder
	for i := range 10 {
		fmt.Fprintf(&run, "%03d %s\n", i, strings.Repeat("r", 95)) // 100 bytes
	}
	long := strings.Repeat("L", 600) + "\n"
	for _, p := range []string{run.String(), long, "tail\n"} {
		if n, err := lf.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write of %d bytes: %d, %v", len(p), n, err)
		}
	}
	lf.Close()
	var all strings.Builder
	for _, f := range LogFiles(path) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 250 && string(data) != long {
			t.Errorf("%s holds %d bytes, over 250, and is not the one long line", f, len(data))
		}
		all.Write(data)
	}
	if all.String() != run.String()+long+"tail\n" {
		t.Errorf("the files hold %d bytes; want every line once, in order", all.Len())
	}
}

func TestTailLinesReadsAcrossRotations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	lf, err := OpenLogFile(path, 100, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		fmt.Fprintf(lf, "%02d %s\n", i, strings.Repeat("y", 20))
	}
	lf.Close()
	lines, err := TailLines(path, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "23 ") || !strings.HasPrefix(lines[6], "29 ") {
		t.Fatalf("last 7 lines = %q", lines)
	}
	if n := len(LogFiles(path)); n != 6 {
		t.Fatalf("%d files kept, want the log and 5 rotated", n)
	}
}

// TestFullLogKeepsServing points the log at /dev/full: every write fails
// with ENOSPC, the server goes on answering, and status says why lines are
// missing.
func TestFullLogKeepsServing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.log")
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	lf, err := OpenLogFile(path, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	port := freePort(t)
	g := startGearWith(t, childSpec(t, "http", port), Options{Output: lf})
	g.waitState(t, Ready)
	for range 20 {
		if code, _, err := get(t, port, "/"); code != 200 {
			t.Fatalf("GET / = %d %v with a full log", code, err)
		}
	}
	if err := g.sup.outputErr(); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("output error = %v, want no space left on device", err)
	}
}
