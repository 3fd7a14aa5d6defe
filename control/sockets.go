package control

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sockets is a set of socket inodes: the listening sockets of a gear's
// server. A process that holds one after the server has stopped, and
// carries the gear's mark (GearVar), is a process of the gear whatever its
// parent, group and session: a daemon forked by the application inherits
// the socket it then keeps the port with. The mark keeps out who else may
// hold the socket: systemd, or another launcher that passed it in.
type sockets map[uint64]bool

// GearVar is set, to the gear's state directory, in the environment of
// every server a gear's supervisor starts, and so of what it starts.
const GearVar = "GEARCTL_GEAR"

// listening returns the TCP sockets (IPv4 and IPv6) listening on port in
// this network namespace.
func listening(port int) sockets {
	out := sockets{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			// sl local_address rem_address st ... inode: "0A" is LISTEN.
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); !ok || err != nil || int(p) != port {
				continue
			}
			if ino, err := strconv.ParseUint(fields[9], 10, 64); err == nil && ino != 0 {
				out[ino] = true
			}
		}
		f.Close()
	}
	return out
}

// socketsOf returns the inodes of the sockets pid has open. A process of
// another user is unreadable unless the caller is root: it holds none then.
func socketsOf(pid int) sockets {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := sockets{}
	for _, e := range ents {
		link, err := os.Readlink(dir + e.Name())
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				out[ino] = true
			}
		}
	}
	return out
}

// listenersOf returns the sockets listening on port that pid holds.
func listenersOf(pid, port int) sockets {
	on := listening(port)
	out := sockets{}
	for ino := range socketsOf(pid) {
		if on[ino] {
			out[ino] = true
		}
	}
	return out
}

// heldBy reports whether pid has one of s open.
func (s sockets) heldBy(pid int) bool {
	for ino := range socketsOf(pid) {
		if s[ino] {
			return true
		}
	}
	return false
}

// holders returns the processes other than this one that have one of s
// open; with dir, only those marked as of the gear in dir.
func (s sockets) holders(dir string) []int {
	if len(s) == 0 {
		return nil
	}
	var out []int
	for _, p := range processTable() {
		if p.pid != os.Getpid() && s.owns(p.pid, dir) {
			out = append(out, p.pid)
		}
	}
	return out
}

// owns reports whether pid holds one of s and, with dir, carries the mark
// of the gear in dir.
func (s sockets) owns(pid int, dir string) bool {
	return s.heldBy(pid) && (dir == "" || marked(pid, dir))
}

// marked reports whether pid's environment has GearVar set to dir. Only
// the process's own user and root can read it.
func marked(pid int, dir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(string(b), "\x00"), GearVar+"="+dir)
}

// sweep SIGKILLs what of the gear in dir still holds one of s, once the
// server they belong to has stopped: what is left of the gear outside the
// process tree. It returns the PIDs still there at the deadline.
func (s sockets) sweep(dir string, deadline time.Time) []int {
	return killAll(func() []int { return s.holders(dir) }, func(pid int) bool { return s.owns(pid, dir) }, deadline)
}

// inode is the inode of the socket f, if f is one.
func inode(f *os.File) (uint64, bool) {
	if f == nil {
		return 0, false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// PortHolders tells whether something listens on port in this network
// namespace, and which processes visible to the caller hold the sockets:
// a stop checks that the gear's port is free before it says so.
func PortHolders(port int) (listened bool, pids []int) {
	on := listening(port)
	return len(on) > 0, on.holders("")
}
