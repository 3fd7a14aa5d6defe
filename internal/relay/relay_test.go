package relay

import (
	"bytes"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+100)
	in := "one\r\n" + long + "\nlast without newline"
	var got [][]byte
	var tail Tail
	Lines(strings.NewReader(in), func(line []byte) {
		got = append(got, bytes.Clone(line))
		tail.Add(line)
	})
	want := []string{"one\r\n", strings.Repeat("x", MaxLine) + "\n", strings.Repeat("x", 100) + "\n", "last without newline\n"}
	if len(got) != len(want) {
		t.Fatalf("%d lines; want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("line %d: %.40q; want %.40q", i, got[i], want[i])
		}
	}
	lines := tail.Lines()
	if len(lines) != 4 || lines[0] != "one" || lines[1] != strings.Repeat("x", maxTailLine)+"…" || lines[3] != "last without newline" {
		t.Errorf("tail %.60q; want the lines without their ends, the long one cut", lines)
	}
}

func TestTailKeepsTheLast(t *testing.T) {
	var tail Tail
	for i := range TailLines + 5 {
		tail.Add([]byte(strings.Repeat("y", i) + "\n"))
	}
	lines := tail.Lines()
	if len(lines) != TailLines || lines[0] != strings.Repeat("y", 5) || lines[TailLines-1] != strings.Repeat("y", TailLines+4) {
		t.Errorf("tail of %d lines, first %q; want the last %d", len(lines), lines[0], TailLines)
	}
}
