package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// A table is one section's result: a column per contender, gearctl first,
// then gearctl's ratio to each baseline, then the target where it
// sets one.
type table struct {
	title string
	about string // how it was measured
	cols  []string
	rows  []*row
	notes []string
}

type row struct {
	label  string
	unit   unit
	vals   []float64 // NaN: not measured; a note says why
	target string    // "", or the target and whether gearctl met it
	plain  bool      // no ratios: the values are context, not a score
}

type unit int

const (
	count unit = iota
	millis
	mebibytes
)

// missing marks a value that could not be measured; none, one that a
// contender does not have (a process it does not run); never, a wait that
// did not end (in milliseconds, for a duration).
var (
	missing = math.NaN()
	none    = math.Inf(-1)
	never   = time.Duration(math.MaxInt64)
)

func (u unit) format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "error"
	case math.IsInf(v, -1):
		return "-"
	case math.IsInf(v, 1) || v >= ms(never):
		return "never"
	case u == count:
		return fmt.Sprintf("%.0f", v)
	case u == mebibytes:
		return fmt.Sprintf("%.1f MiB", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func (t *table) add(label string, u unit, vals ...float64) *row {
	r := &row{label: label, unit: u, vals: vals}
	t.rows = append(t.rows, r)
	return r
}

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// ratio is a / b for the ratio columns. 0/0 is "=": both did as well.
func ratio(a, b float64) string {
	switch {
	case math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, -1) || math.IsInf(b, -1) || a >= ms(never) || b >= ms(never):
		return "-"
	case a == 0 && b == 0:
		return "="
	case b == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// String is the table as plain text: title, how it was measured, rows, notes.
func (t *table) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n%s\n\n", t.title, t.about)
	if len(t.rows) > 0 {
		t.writeRows(&sb)
	}
	for _, n := range t.notes {
		sb.WriteString("  * " + n + "\n")
	}
	return sb.String()
}

// writeRows writes the header and the rows, labels and targets aligned
// left and numbers right.
func (t *table) writeRows(sb *strings.Builder) {
	head := append([]string{""}, t.cols...)
	for _, c := range t.cols[1:] {
		head = append(head, t.cols[0]+"/"+c)
	}
	hasTarget := slices.ContainsFunc(t.rows, func(r *row) bool { return r.target != "" })
	if hasTarget {
		head = append(head, "target")
	}
	cells := [][]string{head}
	for _, r := range t.rows {
		line := []string{r.label}
		for _, v := range r.vals {
			line = append(line, r.unit.format(v))
		}
		for _, v := range r.vals[1:] {
			if r.plain {
				line = append(line, "")
			} else {
				line = append(line, ratio(r.vals[0], v))
			}
		}
		if hasTarget {
			line = append(line, r.target)
		}
		cells = append(cells, line)
	}
	width := make([]int, len(head))
	for _, line := range cells {
		for i, c := range line {
			width[i] = max(width[i], len(c))
		}
	}
	for _, line := range cells {
		var l strings.Builder
		for i, c := range line {
			if i == 0 || i == len(line)-1 && hasTarget {
				fmt.Fprintf(&l, "%-*s  ", width[i], c)
			} else {
				fmt.Fprintf(&l, "%*s  ", width[i], c)
			}
		}
		sb.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
}

// ms is d in milliseconds, for a table value.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median and worst of durations, in milliseconds; NaN when there are none.
func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return missing
	}
	s := slices.Sorted(slices.Values(ds))
	return ms(s[len(s)/2])
}

func worst(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return missing
	}
	return ms(slices.Max(ds))
}

// met says whether a target holds.
func met(ok bool, target string) string {
	if ok {
		return "met: " + target
	}
	return "MISSED: " + target
}
