package pidfile

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// Record names one process for as long as it lives, and never another one.
// Its identity is (PID, BootID, StartTicks); StartTime is informational.
type Record struct {
	// PID is the process ID in the PID namespace of the writer.
	PID int
	// StartTime is when the process started, in milliseconds since the Unix
	// epoch, as gopsutil v4's process CreateTime reports it. It is for
	// display (status "started_at") and is not compared by Check or Open:
	// it moves with wall-clock steps and gopsutil's boot-time estimate.
	StartTime int64
	// StartTicks is the kernel's start time of the process in clock ticks
	// since boot (field 22 of /proc/PID/stat). It never changes while the
	// process lives and differs for a later process that reuses the PID.
	StartTicks uint64
	// BootID is the kernel's boot id when the record was made. Ticks since
	// boot restart at every boot, and a deterministic boot order can give a
	// new process the same PID at the same tick, so a record from another
	// boot is stale whatever its ticks say.
	BootID string
}

// maxPID is PID_MAX_LIMIT on 64-bit Linux; no kernel hands out a larger PID,
// so a larger number in a pidfile can only be garbage.
const maxPID = 1 << 22

// Started returns StartTime as a time.Time.
func (r Record) Started() time.Time {
	return time.UnixMilli(r.StartTime)
}

// Lookup returns the record of the live process pid. It fails with an error
// satisfying errors.Is(err, os.ErrProcessDone) when pid has exited.
func Lookup(pid int) (Record, error) {
	if err := validPID(pid); err != nil {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, err)
	}
	boot, err := bootID()
	if err != nil {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, err)
	}
	before, err := ReadStat(pid)
	if err != nil {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, err)
	}
	if before.Exited() {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, os.ErrProcessDone)
	}
	p, err := process.NewProcess(int32(pid))
	if errors.Is(err, process.ErrorProcessNotRunning) {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, os.ErrProcessDone)
	}
	if err != nil {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, err)
	}
	ms, err := p.CreateTime()
	if err != nil {
		if _, serr := ReadStat(pid); errors.Is(serr, os.ErrProcessDone) {
			err = os.ErrProcessDone // it exited under gopsutil's read
		}
		return Record{}, fmt.Errorf("look up pid %d: start time: %w", pid, err)
	}
	// gopsutil reads /proc on its own; if pid exited and was reused between
	// our read and its read, StartTime would describe another process.
	// Reading the ticks again brackets its read.
	after, err := ReadStat(pid)
	if err != nil {
		return Record{}, fmt.Errorf("look up pid %d: %w", pid, err)
	}
	if after.StartTicks != before.StartTicks {
		return Record{}, fmt.Errorf("look up pid %d: exited while being looked up: %w", pid, os.ErrProcessDone)
	}
	return Record{PID: pid, StartTime: ms, StartTicks: before.StartTicks, BootID: boot}, nil
}

// Check returns nil when the recorded process is alive, and an error
// wrapping ErrStale when it has exited (a zombie counts as exited: only its
// exit status is left), when its PID now names another process, or when the
// record is from another boot. Check never signals anything.
func (r Record) Check() error {
	if err := r.valid(); err != nil {
		return fmt.Errorf("check pid %d: %w", r.PID, err)
	}
	return r.verify()
}

// verify compares the live process behind r.PID with r. It is shared by
// Check and Open so that both always agree.
func (r Record) verify() error {
	boot, err := bootID()
	if err != nil {
		return fmt.Errorf("check pid %d: %w", r.PID, err)
	}
	if boot != r.BootID {
		return fmt.Errorf("pid %d: %w: recorded during boot %s, this is boot %s", r.PID, ErrStale, r.BootID, boot)
	}
	st, err := ReadStat(r.PID)
	if errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pid %d: %w: the process has exited", r.PID, ErrStale)
	}
	if err != nil {
		return fmt.Errorf("check pid %d: %w", r.PID, err)
	}
	if st.StartTicks != r.StartTicks {
		return fmt.Errorf("pid %d: %w: now a different process (started at tick %d, recorded %d)", r.PID, ErrStale, st.StartTicks, r.StartTicks)
	}
	if st.Exited() {
		return fmt.Errorf("pid %d: %w: the process has exited (state %c)", r.PID, ErrStale, st.State)
	}
	return nil
}

// valid reports whether r could have come from Lookup; Read and Write hold
// files to the same rule, so whatever is written can be read back.
func (r Record) valid() error {
	if err := validPID(r.PID); err != nil {
		return err
	}
	if r.StartTime <= 0 {
		return invalidError(fmt.Sprintf("start time %d is not after the epoch", r.StartTime))
	}
	if !validBootID(r.BootID) {
		return invalidError(fmt.Sprintf("boot id %q is not a lowercase uuid", r.BootID))
	}
	return nil
}

func validPID(pid int) error {
	switch {
	case pid == 1:
		return invalidError("pid 1 is init, which is never recorded or signalled")
	case pid < 2 || pid > maxPID:
		return invalidError(fmt.Sprintf("pid %d is outside 2..%d", pid, maxPID))
	}
	return nil
}

// invalidError is a record that no process could have: errors.Is matches
// it to os.ErrInvalid for callers of Write, Check and Open, while Read
// reports the same text under ErrGarbage alone.
type invalidError string

func (e invalidError) Error() string        { return string(e) }
func (e invalidError) Is(target error) bool { return target == os.ErrInvalid }
