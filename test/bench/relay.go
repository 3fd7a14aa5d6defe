package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// linesApp is section f's application: /lines?n=N&run=R writes N
// numbered lines to stdout and answers with the seconds that took.
//
//go:embed lines.py
var linesApp string

const (
	// relayRuns is how many times each contender's worker writes its lines.
	relayRuns = 5
	// lineWidth is the bytes of one of the app's lines, its newline included.
	lineWidth = 100
	// logMaxSize is where each log rotates: gearctl's --log-max-size 10M,
	// supervisord's stdout_logfile_maxbytes=10MB, both 10 MiB.
	logMaxSize = 10 << 20
	// linesTimeout bounds one run: the writes, then the wait until the log
	// holds them all.
	linesTimeout = 2 * time.Minute
	// logQuiet is how long a log that has not grown is waited on before
	// its lines are counted as they are: some may be lost.
	logQuiet = 2 * time.Second
)

// lineMark starts every line the app writes: "relaybench RUN NUMBER xxx…".
var lineMark = []byte("relaybench ")

// relayC is one contender of section f: where its log is, and which
// process relays the lines into it (none for the plain file).
type relayC struct {
	contender
	log string // the log; its rotated files are log.1, log.2 …
	sup supervisor
}

// relayRun is what one run of one contender took.
type relayRun struct {
	app, complete, cpu time.Duration
}

// relay is section f: a gunicorn worker writes lines through gearctl,
// through supervisord, and into a plain file; how long the app takes,
// what the supervisor spends relaying them, and whether every line
// arrived exactly once, across rotations.
func (b *bench) relay(ctx context.Context) []*table {
	n := b.cfg.lines
	keep := relayRuns*n*lineWidth/logMaxSize + 5 // every line kept
	t := &table{
		title: fmt.Sprintf("f. log relay, %d lines of %d bytes, %d runs each", n, lineWidth, relayRuns),
		about: fmt.Sprintf("a gunicorn worker writes numbered lines to stdout, one write(2) a line, and answers with the seconds that took,\n"+
			"measured in the worker (app). gearctl: `gearctl start`, server.log rotated at 10M, --log-keep %[1]d; supervisord:\n"+
			"stdout_logfile, maxbytes 10MB, %[1]d backups; file: gunicorn's stdout a plain file. Supervisor CPU: utime+stime of the\n"+
			"supervisor process alone (/proc/PID/stat), from the request until the log holds every line (log complete).\n"+
			"Lines counted in the log and its rotated files: damaged = a marked line that is not one whole line of the app's.",
			keep),
		cols: []string{"gearctl", "supervisord", "file"},
	}
	cs, err := b.relayContenders(keep)
	defer func() {
		for _, c := range cs {
			bounded(context.WithoutCancel(ctx), c.stop)
		}
	}()
	if err == nil {
		for _, c := range cs {
			if err = bounded(ctx, func(ctx context.Context) error { return c.start(ctx, "gunicorn") }); err == nil {
				err = bounded(ctx, ready(c))
			}
			if err != nil {
				err = fmt.Errorf("starting %s: %w", c.label(), err)
				break
			}
		}
	}
	if err != nil {
		t.note("%v", err)
		return []*table{t}
	}
	runs := b.relayRuns(ctx, t, cs)
	if ctx.Err() != nil {
		return nil
	}
	relayRows(t, cs, runs)
	tallyRows(t, cs, n, runs)
	return []*table{t}
}

// relayRuns has each contender's app write its lines relayRuns times, the
// contenders taking turns; a contender whose run fails runs no more.
func (b *bench) relayRuns(ctx context.Context, t *table, cs []relayC) [][]relayRun {
	runs := make([][]relayRun, len(cs))
	failed := make([]bool, len(cs))
	for run := range relayRuns {
		for i, c := range cs {
			if ctx.Err() != nil || failed[i] {
				continue
			}
			progress("f. run %d of %d: %s, %d lines", run+1, relayRuns, c.label(), b.cfg.lines)
			r, err := b.writeLines(ctx, c, run, b.cfg.lines)
			if err != nil {
				failed[i] = true
				t.note("%s: run %d: %v", c.label(), run+1, err)
				continue
			}
			runs[i] = append(runs[i], r)
		}
	}
	return runs
}

// relayRows are the timings: the app's, the supervisor's CPU, and until
// the log was complete.
func relayRows(t *table, cs []relayC, runs [][]relayRun) {
	// of is one figure of every contender's runs, summed up by stat.
	of := func(stat func([]time.Duration) float64, figure func(relayRun) time.Duration) []float64 {
		vals := make([]float64, len(cs))
		for i := range cs {
			var ds []time.Duration
			for _, r := range runs[i] {
				ds = append(ds, figure(r))
			}
			vals[i] = stat(ds)
		}
		return vals
	}
	app := func(r relayRun) time.Duration { return r.app }
	med := of(median, app)
	t.add("app: median", millis, med...).target = met(med[0] <= med[1], "<= 1.0 x supervisord")
	t.add("app: worst", millis, of(worst, app)...)
	cpu := of(median, func(r relayRun) time.Duration { return r.cpu })
	for i, c := range cs {
		if c.sup == nil {
			cpu[i] = none
		}
	}
	t.add("supervisor CPU: median", millis, cpu...).target = met(cpu[0] <= 0.3*cpu[1],
		fmt.Sprintf("<= 0.3 x supervisord = %.1f ms", 0.3*cpu[1]))
	t.add("log complete: median", millis, of(median, func(r relayRun) time.Duration { return r.complete })...)
}

// relayContenders are gearctl, supervisord and the plain file, each
// running the lines app with gunicorn and logging to a file of its own.
func (b *bench) relayContenders(keep int) ([]relayC, error) {
	app := filepath.Join(b.tmp, "lines")
	err := os.MkdirAll(app, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(app, "wsgi.py"), []byte(linesApp), 0o644)
	}
	g, err1 := b.newGearctl("f")
	sd, err2 := b.newSupervisord("f")
	file, err3 := b.newDirect("file", "f", nil)
	g.app, sd.app, file.app = app, app, app
	g.env = []string{"GEARCTL_LOG_MAX_SIZE=10M", "GEARCTL_LOG_KEEP=" + strconv.Itoa(keep)}
	sd.options = fmt.Sprintf("stdout_logfile_maxbytes=10MB\nstdout_logfile_backups=%d\n", keep)
	cs := []relayC{
		{g, filepath.Join(g.dir, "gear", "logs", "server.log"), g},
		{sd, filepath.Join(sd.dir, "app.log"), sd},
		{file, filepath.Join(file.dir, "server.log"), nil},
	}
	return cs, errors.Join(err, err1, err2, err3)
}

// writeLines asks c's app for n lines numbered for run, and waits until
// its log holds them.
func (b *bench) writeLines(ctx context.Context, c relayC, run, n int) (relayRun, error) {
	ctx, cancel := context.WithTimeout(ctx, linesTimeout)
	defer cancel()
	pid := 0
	if c.sup != nil {
		var err error
		if pid, _, err = c.sup.pids(ctx); err != nil {
			return relayRun{}, err
		}
	}
	size0 := logSize(c.log)
	cpu0, err := cpuTimeOf(pid)
	if err != nil {
		return relayRun{}, err
	}
	t0 := time.Now()
	code, body, err := get(c.addr(), fmt.Sprintf("/lines?n=%d&run=%d", n, run), linesTimeout)
	if err == nil && code != 200 {
		err = fmt.Errorf("status %d: %.80q", code, body)
	}
	if err != nil {
		return relayRun{}, err
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(body), 64)
	if err != nil {
		return relayRun{}, fmt.Errorf("the app answered %.80q, not seconds", body)
	}
	complete, err := waitLog(ctx, c.log, size0+int64(n)*lineWidth)
	if err != nil {
		return relayRun{}, err
	}
	cpu1, err := cpuTimeOf(pid)
	return relayRun{
		app:      time.Duration(secs * float64(time.Second)),
		complete: complete.Sub(t0),
		cpu:      cpu1 - cpu0,
	}, err
}

// cpuTimeOf is cpuTime, and 0 for no process (pid 0).
func cpuTimeOf(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	return cpuTime(pid)
}

// waitLog waits until the log at path and its rotated files hold want
// bytes, and returns when they did; a log that stops short and stays so
// for logQuiet is taken as it is, for its lines to be counted.
func waitLog(ctx context.Context, path string, want int64) (time.Time, error) {
	last, since := int64(-1), time.Now()
	for {
		size := logSize(path)
		now := time.Now()
		if size >= want {
			return now, nil
		}
		if size != last {
			last, since = size, now
		} else if now.Sub(since) > logQuiet {
			return since, nil
		}
		select {
		case <-ctx.Done():
			return now, fmt.Errorf("%s: %d of %d bytes written: %w", path, size, want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logFiles is the log at path and its rotated files path.1, path.2 … that
// exist, newest first.
func logFiles(path string) []string {
	files := []string{path}
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.%d", path, i)
		if _, err := os.Stat(p); err != nil {
			return files
		}
		files = append(files, p)
	}
}

// logSize is the bytes of the log at path and its rotated files.
func logSize(path string) int64 {
	var sum int64
	for _, f := range logFiles(path) {
		if fi, err := os.Stat(f); err == nil {
			sum += fi.Size()
		}
	}
	return sum
}

// tally is what a log holds of the app's lines.
type tally struct {
	seen    [][]uint8 // [run][number]: how often the line is in the log, at most 255
	damaged int       // marked lines that are not one of the app's whole lines
	files   int
	largest int64 // the largest file's size
}

// tallyLog counts the app's lines of runs runs of n in the log at path.
func tallyLog(path string, runs, n int) (tally, error) {
	t := tally{seen: make([][]uint8, runs)}
	for i := range t.seen {
		t.seen[i] = make([]uint8, n)
	}
	for _, f := range logFiles(path) {
		fh, err := os.Open(f)
		if err != nil {
			return t, err
		}
		fi, err := fh.Stat()
		if err == nil {
			t.files++
			t.largest = max(t.largest, fi.Size())
			err = t.add(fh)
		}
		fh.Close()
		if err != nil {
			return t, fmt.Errorf("%s: %w", f, err)
		}
	}
	return t, nil
}

// add counts the lines read from r.
func (t *tally) add(r *os.File) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, lineMark) {
			continue // the server's or the supervisor's own
		}
		run, num, ok := parseLine(line)
		if !ok || run >= len(t.seen) || num >= len(t.seen[run]) {
			t.damaged++
		} else if t.seen[run][num] < 255 {
			t.seen[run][num]++
		}
	}
	return sc.Err()
}

// parseLine reads "relaybench RUN NUMBER xxx…", exactly lineWidth bytes
// with the newline: anything else is a line cut, joined or mixed.
func parseLine(line []byte) (run, num int, ok bool) {
	rest, found := bytes.CutPrefix(line, lineMark)
	if len(line) != lineWidth-1 || !found {
		return 0, 0, false
	}
	r, rest, _ := bytes.Cut(rest, []byte(" "))
	if len(rest) < 11 || rest[10] != ' ' || bytes.Count(rest[11:], []byte("x")) != len(rest)-11 {
		return 0, 0, false
	}
	run, err1 := strconv.Atoi(string(r))
	num, err2 := strconv.Atoi(string(rest[:10]))
	return run, num, err1 == nil && err2 == nil
}

// missingAndDuplicated counts the lines of the first done runs that are
// not in the log, and the extra copies of lines in it more than once, and
// describes the first gaps.
func (t tally) missingAndDuplicated(done int) (lost, dups int, gaps []string) {
	for run, seen := range t.seen {
		for i := 0; i < len(seen); i++ {
			if seen[i] > 1 {
				dups += int(seen[i]) - 1
			}
			if seen[i] != 0 || run >= done {
				continue
			}
			j := i
			for j+1 < len(seen) && seen[j+1] == 0 {
				j++
			}
			lost += j - i + 1
			if len(gaps) < 5 {
				gaps = append(gaps, fmt.Sprintf("run %d lines %d-%d", run+1, i, j))
			}
			i = j
		}
	}
	return lost, dups, gaps
}

// tallyRows counts each contender's lines, n in each of its done runs,
// and adds the rows: every line exactly once is a goal, and a loss is a
// note.
func tallyRows(t *table, cs []relayC, n int, runs [][]relayRun) {
	k := len(cs)
	lost, dups, damaged, files, largest := make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
	for i, c := range cs {
		tl, err := tallyLog(c.log, relayRuns, n)
		if err != nil {
			t.note("%s: counting lines: %v", c.label(), err)
			lost[i], dups[i], damaged[i], files[i], largest[i] = missing, missing, missing, missing, missing
			continue
		}
		m, d, gaps := tl.missingAndDuplicated(len(runs[i]))
		lost[i], dups[i], damaged[i] = float64(m), float64(d), float64(tl.damaged)
		files[i], largest[i] = float64(tl.files), mib(tl.largest)
		if m+d+tl.damaged > 0 {
			t.note("%s: LINES LOST OR REPEATED: %d missing, %d duplicated, %d damaged; missing: %s",
				c.label(), m, d, tl.damaged, strings.Join(gaps, ", "))
		}
	}
	exact := len(runs[0]) == relayRuns && lost[0] == 0 && dups[0] == 0 && damaged[0] == 0
	t.add("lines missing", count, lost...).target = met(exact, "every line exactly once")
	t.add("lines duplicated", count, dups...)
	t.add("lines damaged", count, damaged...)
	t.add("log files", count, files...).plain = true
	t.add("largest log file", mebibytes, largest...).plain = true
}
