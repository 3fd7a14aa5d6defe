package control

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// releaseText tells the kernel that this process no longer needs the
// pages of its own executable that it has touched so far. Go's start-up
// walks most of the binary (type links, the function table), which would
// otherwise stay in the supervisor's resident set for its whole life; a
// supervisor that waits on a server needs a small part of it. Only
// read-only, file-backed mappings of the executable are released: their
// pages come back from the page cache on the next touch, unchanged.
func releaseText() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_DONTNEED)
	}
}

// releaseAfter is how long after the last burst of work (a start, a status
// request) the pages are given back.
const releaseAfter = 250 * time.Millisecond

// releaser calls releaseText releaseAfter after the last call to soon:
// after a burst of work rather than during it.
type releaser struct {
	mu    sync.Mutex
	timer *time.Timer
}

func (r *releaser) soon() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer == nil {
		r.timer = time.AfterFunc(releaseAfter, releaseText)
		return
	}
	r.timer.Reset(releaseAfter)
}
