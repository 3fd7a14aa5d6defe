package pidfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// Stat is what gearctl reads of /proc/PID/stat: the identity check needs
// the state and start time, the process tree the parent, group and
// session. It is the one reader of that file.
type Stat struct {
	State      byte   // field 3: R, S, D, Z, X, ...
	PPID       int    // field 4
	PGID       int    // field 5
	SID        int    // field 6: the session
	StartTicks uint64 // field 22: start time in clock ticks since boot
}

// Exited reports a process that has finished: a zombie only waits to be
// reaped, and X is the instant of reaping.
func (s Stat) Exited() bool {
	return s.State == 'Z' || s.State == 'X'
}

// ReadStat reads /proc/PID/stat itself rather than through gopsutil, whose
// CreateTime folds in a boot-time estimate; the raw tick count is exact.
// A missing process gives os.ErrProcessDone.
func ReadStat(pid int) (Stat, error) {
	name := "/proc/" + strconv.Itoa(pid) + "/stat"
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		// ESRCH: the process exited between open and read.
		return Stat{}, os.ErrProcessDone
	}
	if err != nil {
		return Stat{}, err
	}
	st, err := parseStat(data)
	if err != nil {
		return Stat{}, fmt.Errorf("%s: %w", name, err)
	}
	return st, nil
}

// parseStat parses the text of /proc/PID/stat. The command name (field 2)
// is in parentheses and may itself hold spaces and parentheses, so fields
// are counted from the last ')'.
func parseStat(data []byte) (Stat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return Stat{}, errors.New("no command name")
	}
	// After ')' come fields 3, 4, ...; field n is rest[n-3].
	rest := bytes.Fields(data[i+1:])
	if len(rest) < 22-2 {
		return Stat{}, fmt.Errorf("%d fields after the command name, want at least %d", len(rest), 22-2)
	}
	if len(rest[0]) != 1 {
		return Stat{}, fmt.Errorf("state %q is not one letter", rest[0])
	}
	st := Stat{State: rest[0][0]}
	for _, f := range []struct {
		n   int
		dst *int
	}{{4, &st.PPID}, {5, &st.PGID}, {6, &st.SID}} {
		v, err := strconv.Atoi(string(rest[f.n-3]))
		if err != nil {
			return Stat{}, fmt.Errorf("field %d: %w", f.n, err)
		}
		*f.dst = v
	}
	ticks, err := strconv.ParseUint(string(rest[22-3]), 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("start time: %w", err)
	}
	st.StartTicks = ticks
	return st, nil
}

// bootID is read once: it cannot change while this process runs.
var bootID = sync.OnceValues(func() (string, error) {
	const name = "/proc/sys/kernel/random/boot_id"
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("boot id: %w", err)
	}
	id := string(bytes.TrimSpace(data))
	if !validBootID(id) {
		return "", fmt.Errorf("boot id: %s holds %q, not a lowercase uuid", name, id)
	}
	return id, nil
})

// validBootID reports whether s is a lowercase UUID, the only form the
// kernel writes.
func validBootID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
