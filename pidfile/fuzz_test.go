package pidfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
)

// FuzzRead feeds arbitrary file contents to Read. Read must never panic,
// must fail only with ErrGarbage on a file it could open, and whatever it
// accepts must be written back byte for byte and read back equal. The seed
// corpus is in testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	dir := f.TempDir()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, strconv.FormatInt(n.Add(1), 10)+".pid")
		defer os.Remove(path)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Read(path)
		if err != nil {
			if !errors.Is(err, ErrGarbage) {
				t.Fatalf("Read(%q): %v, want ErrGarbage or success", data, err)
			}
			return
		}
		if err := WriteRecord(path, r); err != nil {
			t.Fatalf("Read(%q) accepted %+v but WriteRecord refused it: %v", data, r, err)
		}
		again, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("Read(%q) = %+v, written back as %q", data, r, again)
		}
		r2, err := Read(path)
		if err != nil || r2 != r {
			t.Fatalf("round trip of %+v read %+v, %v", r, r2, err)
		}
	})
}
