package pidfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleBootID is a well-formed boot id that is not this boot's.
const sampleBootID = "0f3c5d8e-6a1b-4c2d-9e8f-7a6b5c4d3e2f"

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.pid")
	self := os.Getpid()

	if err := Write(path, self); err != nil {
		t.Fatal(err)
	}
	r, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Lookup(self)
	if err != nil {
		t.Fatal(err)
	}
	// StartTime is not compared: gopsutil may estimate the boot time a
	// second apart between two calls (see the package doc).
	if r.PID != self || r.StartTicks != want.StartTicks || r.BootID != want.BootID || r.StartTime <= 0 {
		t.Fatalf("read %+v, want pid %d ticks %d boot %s", r, self, want.StartTicks, want.BootID)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("check of own record: %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, encode(r)) {
		t.Fatalf("file holds %q, want %q", data, encode(r))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}

	// Replacing an existing pidfile with another process's record.
	h := startHelper(t, "idle", "")
	h.expect("ready")
	if err := Write(path, h.pid()); err != nil {
		t.Fatal(err)
	}
	r2, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if r2.PID != h.pid() {
		t.Fatalf("after rewrite read pid %d, want %d", r2.PID, h.pid())
	}
	assertOnlyFiles(t, dir, "server.pid")
}

// A reader racing a writer sees one complete record or the other, never a
// partial, empty or missing file.
func TestWriteReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.pid")
	a, err := Lookup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A second record of a different length, so a torn read could not
	// pass for either.
	b := Record{PID: 7, StartTime: 1, StartTicks: 123456789012, BootID: sampleBootID}
	if err := WriteRecord(path, a); err != nil {
		t.Fatal(err)
	}

	const writes = 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range writes {
			r := a
			if i%2 == 0 {
				r = b
			}
			if err := WriteRecord(path, r); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true // one last read below, after the final write
		default:
		}
		got, err := Read(path)
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		if got != a && got != b {
			t.Fatalf("read %d: %+v is neither record written", reads, got)
		}
		reads++
	}
	t.Logf("%d reads during %d writes", reads, writes)
	assertOnlyFiles(t, dir, "server.pid")
}

func TestReadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.pid")
	_, err := Read(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name %s", err, path)
	}
}

// garbage holds contents that are not a record, each for a reason a
// pidfile could plausibly go bad. The fuzz corpus seeds from the same list.
var garbage = map[string]string{
	"empty":                  "",
	"newline only":           "\n",
	"no newline":             "4242 1795773687210 22012 " + sampleBootID,
	"crlf":                   "4242 1795773687210 22012 " + sampleBootID + "\r\n",
	"bare pid":               "4242\n",
	"non-numeric pid":        "abc 1795773687210 22012 " + sampleBootID + "\n",
	"negative pid":           "-4242 1795773687210 22012 " + sampleBootID + "\n",
	"plus sign":              "+4242 1795773687210 22012 " + sampleBootID + "\n",
	"leading zero":           "04242 1795773687210 22012 " + sampleBootID + "\n",
	"pid 0":                  "0 1795773687210 22012 " + sampleBootID + "\n",
	"pid 1":                  "1 1795773687210 22012 " + sampleBootID + "\n",
	"pid above pid_max":      "4194305 1795773687210 22012 " + sampleBootID + "\n",
	"huge pid":               "99999999999999999999999 1795773687210 22012 " + sampleBootID + "\n",
	"start time 0":           "4242 0 22012 " + sampleBootID + "\n",
	"start time overflow":    "4242 9223372036854775808 22012 " + sampleBootID + "\n",
	"ticks overflow":         "4242 1795773687210 18446744073709551616 " + sampleBootID + "\n",
	"float":                  "4242 1795773687210.5 22012 " + sampleBootID + "\n",
	"trailing junk":          "4242 1795773687210 22012 " + sampleBootID + " junk\n",
	"second line":            "4242 1795773687210 22012 " + sampleBootID + "\nmore\n",
	"trailing space":         "4242 1795773687210 22012 " + sampleBootID + " \n",
	"double space":           "4242  1795773687210 22012 " + sampleBootID + "\n",
	"tab":                    "4242\t1795773687210 22012 " + sampleBootID + "\n",
	"uppercase boot id":      "4242 1795773687210 22012 " + strings.ToUpper(sampleBootID) + "\n",
	"short boot id":          "4242 1795773687210 22012 0f3c5d8e\n",
	"boot id without dashes": "4242 1795773687210 22012 0f3c5d8e6a1b4c2d9e8f7a6b5c4d3e2f0000\n",
	"nul bytes":              "\x00\x00\x00\x00",
	"too long":               strings.Repeat("9", 300) + "\n",
}

func TestReadGarbage(t *testing.T) {
	dir := t.TempDir()
	for name, content := range garbage {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pid")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Read(path)
			if !errors.Is(err, ErrGarbage) {
				t.Fatalf("Read(%q) = %+v, %v; want ErrGarbage", content, r, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
			// Garbage is one kind of failure, not also "invalid argument".
			if errors.Is(err, os.ErrInvalid) {
				t.Fatalf("error %q also wraps os.ErrInvalid", err)
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.pid")

	if err := Write(path, 1); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Write pid 1: %v, want os.ErrInvalid", err)
	}
	if err := Write(path, 0); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Write pid 0: %v, want os.ErrInvalid", err)
	}
	if err := WriteRecord(path, Record{PID: 4242, StartTime: 1, BootID: "nope"}); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("WriteRecord bad boot id: %v, want os.ErrInvalid", err)
	}
	if err := Write(filepath.Join(dir, "missing", "server.pid"), os.Getpid()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Write into a missing directory: %v, want fs.ErrNotExist", err)
	}

	h := startHelper(t, "idle", "")
	h.expect("ready")
	before, err := Lookup(h.pid())
	if err != nil {
		t.Fatal(err)
	}
	h.stdin.Close()
	if err := h.reap(); err != nil {
		t.Fatal(err)
	}
	err = Write(path, before.PID)
	if err == nil {
		// Only correct if the PID went to a new process in between.
		if r, rerr := Read(path); rerr != nil || r.StartTicks == before.StartTicks {
			t.Fatalf("Write of a reaped pid recorded %+v (%v), the dead process", r, rerr)
		}
		t.Logf("pid %d was reused before Write; recorded the new process", before.PID)
		return
	}
	if !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Write of a reaped pid: %v, want os.ErrProcessDone", err)
	}
	assertOnlyFiles(t, dir)
}

// assertOnlyFiles fails unless dir holds exactly the named files, which
// catches temporary files left behind by Write.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %q, want %q", dir, got, names)
	}
}
