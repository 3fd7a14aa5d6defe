package relay

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// chunks relays in and returns what emit got, each run copied.
func chunks(r io.Reader) [][]byte {
	var got [][]byte
	Chunks(r, func(b []byte) { got = append(got, bytes.Clone(b)) })
	return got
}

// Every run holds whole lines; together they are the input, with a line
// end added only to a last line without one.
func TestChunksWholeLines(t *testing.T) {
	in := strings.Repeat("0123456789 a line of a hundred bytes or so, as an access log has them ...............................\n", 3000) + "last"
	// One byte at a time and in big reads: runs never end mid-line.
	for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in)), iotest.HalfReader(strings.NewReader(in))} {
		var all bytes.Buffer
		for _, c := range chunks(r) {
			if len(c) == 0 || c[len(c)-1] != '\n' {
				t.Fatalf("a run of %d bytes does not end a line: %.40q", len(c), c)
			}
			all.Write(c)
		}
		if all.String() != in+"\n" {
			t.Errorf("relayed %d bytes; want the %d of the input and one line end", all.Len(), len(in)+1)
		}
	}
}

// A line of 1 MiB passes intact; output with no line end at all passes in
// pieces of MaxLine, so what the relay holds stays bounded.
func TestChunksLongLines(t *testing.T) {
	long := strings.Repeat("x", 1<<20-1) + "\n"
	got := chunks(strings.NewReader("a\n" + long + "b\n"))
	var all bytes.Buffer
	for _, c := range got {
		all.Write(c)
	}
	if all.String() != "a\n"+long+"b\n" {
		t.Fatalf("relayed %d bytes; want %d", all.Len(), len(long)+4)
	}
	var whole bool
	for _, c := range got {
		whole = whole || bytes.Contains(c, []byte(long))
	}
	if !whole {
		t.Errorf("the 1 MiB line was split across runs")
	}

	endless := io.LimitReader(repeat('y'), 3*MaxLine+5)
	var pieces []int
	Chunks(endless, func(b []byte) { pieces = append(pieces, len(b)) })
	want := []int{MaxLine + 1, MaxLine + 1, MaxLine + 1, 6}
	if len(pieces) != len(want) {
		t.Fatalf("pieces %v; want %v", pieces, want)
	}
	for i := range want {
		if pieces[i] != want[i] {
			t.Errorf("pieces %v; want %v: MaxLine bytes and a line end each", pieces, want)
		}
	}
}

type repeat byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func TestLines(t *testing.T) {
	in := "one\r\n\ntwo\nlast without newline"
	var got []string
	Lines(strings.NewReader(in), func(line []byte) { got = append(got, string(line)) })
	want := []string{"one\r\n", "\n", "two\n", "last without newline\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q; want %q", got, want)
	}
}

// A tail keeps the last lines of the runs it is given, without their
// ends, long ones cut.
func TestTail(t *testing.T) {
	var tail Tail
	tail.Add([]byte("one\r\n" + strings.Repeat("x", 2*maxTailLine) + "\n"))
	tail.Add([]byte("\n"))
	lines := tail.Lines()
	if len(lines) != 3 || lines[0] != "one" || lines[1] != strings.Repeat("x", maxTailLine)+"…" || lines[2] != "" {
		t.Errorf("tail %.60q; want one, the long line cut, an empty line", lines)
	}
	var run strings.Builder
	for i := range TailLines + 5 {
		run.WriteString(strings.Repeat("y", i) + "\n")
	}
	tail = Tail{}
	tail.Add([]byte("before\n"))
	tail.Add([]byte(run.String()))
	lines = tail.Lines()
	if len(lines) != TailLines || lines[0] != strings.Repeat("y", 5) || lines[TailLines-1] != strings.Repeat("y", TailLines+4) {
		t.Errorf("tail of %d lines, first %q; want the last %d", len(lines), lines[0], TailLines)
	}
}

// The ring of kept lines wraps around in order over many small runs, and
// a slot that held a long line keeps a short one later uncut.
func TestTailRing(t *testing.T) {
	var tail Tail
	long := strings.Repeat("z", maxTailLine+1)
	tail.Add([]byte(long + "\n"))
	for i := range 3*TailLines + 7 {
		tail.Add([]byte(fmt.Sprintf("%d\r\n%d\n", 2*i, 2*i+1)))
	}
	lines := tail.Lines()
	if len(lines) != TailLines {
		t.Fatalf("%d lines; want %d", len(lines), TailLines)
	}
	last := 2*(3*TailLines+7) - 1
	for i, l := range lines {
		if want := strconv.Itoa(last - TailLines + 1 + i); l != want {
			t.Fatalf("line %d of the tail is %q; want %q (tail %q)", i, l, want, lines)
		}
	}
	// Lines is a copy: adding more leaves it as it was.
	tail.Add([]byte("more\n"))
	if lines[TailLines-1] != strconv.Itoa(last) {
		t.Errorf("an Add changed the lines returned before it")
	}
}
