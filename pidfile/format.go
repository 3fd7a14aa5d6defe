package pidfile

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxSize bounds what Read takes from a file. A valid line is under 100
// bytes; anything much longer is garbage, and reading it whole would let a
// stray large file cost memory.
const maxSize = 256

// encode renders r in the one-line format described in the package doc.
func encode(r Record) []byte {
	return fmt.Appendf(nil, "%d %d %d %s\n", r.PID, r.StartTime, r.StartTicks, r.BootID)
}

// decode parses the one-line format. It accepts exactly what encode
// produces for a valid record, so decode(data) succeeding implies
// encode(record) equals data. Its errors do not name the file; Read adds
// the name and ErrGarbage.
func decode(data []byte) (Record, error) {
	if len(data) == 0 {
		return Record{}, errors.New("empty")
	}
	if len(data) > maxSize {
		return Record{}, fmt.Errorf("longer than %d bytes", maxSize)
	}
	line, ok := bytes.CutSuffix(data, []byte("\n"))
	if !ok {
		return Record{}, errors.New("does not end in a newline")
	}
	if bytes.IndexByte(line, '\n') >= 0 {
		return Record{}, errors.New("more than one line")
	}
	fields := bytes.Split(line, []byte(" "))
	if len(fields) != 4 {
		return Record{}, fmt.Errorf("%d fields, want 4 separated by single spaces: PID STARTTIME STARTTICKS BOOTID", len(fields))
	}
	pid, err := decimal(fields[0], maxPID)
	if err != nil {
		return Record{}, fmt.Errorf("pid: %w", err)
	}
	ms, err := decimal(fields[1], math.MaxInt64)
	if err != nil {
		return Record{}, fmt.Errorf("start time: %w", err)
	}
	ticks, err := decimal(fields[2], math.MaxUint64)
	if err != nil {
		return Record{}, fmt.Errorf("start ticks: %w", err)
	}
	r := Record{PID: int(pid), StartTime: int64(ms), StartTicks: ticks, BootID: string(fields[3])}
	if err := r.valid(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// decimal parses an unsigned decimal number in its one canonical spelling:
// digits only, no sign, no leading zeros, at most limit.
func decimal(b []byte, limit uint64) (uint64, error) {
	if len(b) == 0 {
		return 0, errors.New("missing")
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an unsigned decimal number", b)
		}
	}
	if len(b) > 1 && b[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", b)
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n > limit {
		return 0, fmt.Errorf("%q is larger than %d", b, limit)
	}
	return n, nil
}
