package test

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// What the tests know of processes, read from /proc as a user would with
// ps: the tree below gearctl, and every process carrying a gear's tag.

// proc is one /proc entry; its PID and start time together name one
// process, whatever reuses the PID later.
type proc struct {
	pid, ppid int
	state     byte
	start     uint64
}

// readProc parses /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readProc(pid int) (proc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return proc{pid: pid, ppid: ppid, state: f[0][0], start: start}, true
}

func allProcs() []proc {
	ents, _ := os.ReadDir("/proc")
	var ps []proc
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, ok := readProc(pid); ok {
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// descendants lists the processes below root in the process tree.
func descendants(root int) []proc {
	children := map[int][]proc{}
	for _, p := range allProcs() {
		children[p.ppid] = append(children[p.ppid], p)
	}
	var out []proc
	var walk func(int)
	walk = func(pid int) {
		for _, c := range children[pid] {
			out = append(out, c)
			walk(c.pid)
		}
	}
	walk(root)
	return out
}

// descendsFrom reports whether ancestor is above pid in the process tree.
func descendsFrom(pid, ancestor int) bool {
	for range 64 {
		p, ok := readProc(pid)
		if !ok || p.ppid <= 1 {
			return false
		}
		if p.ppid == ancestor {
			return true
		}
		pid = p.ppid
	}
	return false
}

// stillThere returns the processes of ps that still exist (zombies too).
func stillThere(ps []proc) []proc {
	var out []proc
	for _, p := range ps {
		if now, ok := readProc(p.pid); ok && now.start == p.start {
			out = append(out, now)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// hasTag reports whether pid's environment carries tag. A zombie has no
// environment left, and is no longer running anything.
func hasTag(pid int, tag string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("\x00"+tagVar+"="+tag+"\x00")) ||
		bytes.HasPrefix(b, []byte(tagVar+"="+tag+"\x00"))
}

// tagged lists the running processes carrying tag.
func tagged(tag string) []int {
	var pids []int
	for _, p := range allProcs() {
		if p.pid != os.Getpid() && hasTag(p.pid, tag) {
			pids = append(pids, p.pid)
		}
	}
	return pids
}

// killTagged SIGKILLs pid if it still carries tag.
func killTagged(pid int, tag string) {
	killIf(pid, func() bool { return hasTag(pid, tag) })
}

// killProc SIGKILLs p if it still runs: same PID, same start.
func killProc(p proc) {
	killIf(p.pid, func() bool { return alive(p) })
}

// killIf SIGKILLs pid if still says so; the pidfd keeps the check and the
// kill about the same process.
func killIf(pid int, still func() bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if still() {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}
