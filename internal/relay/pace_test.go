package relay

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// pauses replaces sleep for the test and returns the pauses taken.
func pauses(t *testing.T) *[]time.Duration {
	var got []time.Duration
	sleep = func(d time.Duration) { got = append(got, d) }
	t.Cleanup(func() { sleep = time.Sleep })
	return &got
}

// A read that did not fill its buffer is followed by a pause, one that
// filled it is not, and what is read passes unchanged.
func TestPacedPausesAfterShortReads(t *testing.T) {
	got := pauses(t)
	// HalfReader reads half of what is asked: every read is short, and
	// every read but the first follows a short one.
	r := Paced(iotest.HalfReader(strings.NewReader("0123456789")), time.Millisecond, nil)
	b := make([]byte, 4)
	var all strings.Builder
	reads := 0
	for {
		n, err := r.Read(b)
		all.Write(b[:n])
		reads++
		if err == io.EOF {
			break
		}
	}
	if all.String() != "0123456789" {
		t.Fatalf("read %q", all.String())
	}
	if len(*got) != reads-1 {
		t.Errorf("%d pauses in %d short reads; want one before each but the first", len(*got), reads)
	}
	for _, d := range *got {
		if d != time.Millisecond {
			t.Errorf("paused %s; want the 1ms given", d)
		}
	}

	*got = nil
	r = Paced(strings.NewReader(strings.Repeat("x", 12)), time.Millisecond, nil)
	for range 3 {
		r.Read(b) // each fills b
	}
	if len(*got) != 0 {
		t.Errorf("%d pauses after reads that filled their buffer; want none", len(*got))
	}
	r.Read(b) // EOF: nothing read
	r.Read(b)
	if len(*got) != 1 {
		t.Errorf("%d pauses after one short read; want 1", len(*got))
	}
}

// A pause of 0 never pauses.
func TestPacedZero(t *testing.T) {
	got := pauses(t)
	r := Paced(iotest.OneByteReader(strings.NewReader("abc")), 0, nil)
	b := make([]byte, 8)
	for range 4 {
		r.Read(b)
	}
	if len(*got) != 0 {
		t.Errorf("%d pauses with a pause of 0; want none", len(*got))
	}
}

// While hurry says someone waits for a line, reads never pause.
func TestPacedHurries(t *testing.T) {
	got := pauses(t)
	hurry := true
	r := Paced(iotest.OneByteReader(strings.NewReader("abc")), time.Millisecond, func() bool { return hurry })
	b := make([]byte, 8)
	r.Read(b)
	r.Read(b)
	if len(*got) != 0 {
		t.Fatalf("%d pauses while hurried; want none", len(*got))
	}
	hurry = false
	r.Read(b)
	if len(*got) != 1 {
		t.Errorf("%d pauses once no longer hurried; want 1", len(*got))
	}
}

// Chunks over a paced reader relays every line whole, as without it.
func TestChunksPaced(t *testing.T) {
	pauses(t)
	in := strings.Repeat("a line of output\n", 5000) + "last"
	var all strings.Builder
	Chunks(Paced(iotest.HalfReader(strings.NewReader(in)), time.Millisecond, nil), func(b []byte) {
		if b[len(b)-1] != '\n' {
			t.Fatalf("a run of %d bytes does not end a line", len(b))
		}
		all.Write(b)
	})
	if all.String() != in+"\n" {
		t.Errorf("relayed %d bytes; want %d", all.Len(), len(in)+1)
	}
}
