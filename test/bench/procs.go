package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// groups are the process groups this program created. Every command it
// starts leads a group of its own, so that a terminal's Ctrl-C reaches only
// this program, and so that what a command leaves behind (the server a
// stop-then-start script puts in the background) can be found and killed:
// a group outlives its leader while any member lives.
type groups struct {
	mu  sync.Mutex
	ids []int
}

// command is exec.CommandContext for a child that leads its own group and
// whose group is killed when ctx ends.
func (g *groups) command(ctx context.Context, env []string, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// start starts cmd and remembers its group.
func (g *groups) start(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	g.mu.Lock()
	g.ids = append(g.ids, cmd.Process.Pid)
	g.mu.Unlock()
	return nil
}

// run runs argv to its end and returns what it printed. The output goes
// through a file, not a pipe: a server that a script leaves running inherits
// it, and Wait would wait for that server to close a pipe.
func (g *groups) run(ctx context.Context, env []string, dir string, argv ...string) (string, error) {
	f, err := os.CreateTemp(dir, "out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := g.command(ctx, env, argv...)
	cmd.Stdout, cmd.Stderr = f, f
	if err = g.start(cmd); err == nil {
		err = cmd.Wait()
	}
	out, _ := os.ReadFile(f.Name())
	text := strings.TrimSpace(string(out))
	if err != nil {
		return text, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, lastLine(text))
	}
	return text, nil
}

// killAll kills every group this program created that still has a live
// member. A group with none left is skipped: its number may belong to
// someone else by now.
func (g *groups) killAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	live := map[int]bool{}
	for _, p := range procTable() {
		live[p.pgrp] = true
	}
	for _, id := range g.ids {
		if live[id] {
			syscall.Kill(-id, syscall.SIGKILL)
		}
	}
	g.ids = nil
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// proc is what /proc/PID/stat says about one live (not zombie) process.
type proc struct {
	pid, ppid, pgrp int
}

// procTable lists the live processes of the machine. Zombies are left out:
// this sandbox's PID 1 reaps orphans only every few seconds, and an exited
// process is gone for every purpose here.
func procTable() []proc {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ps []proc
	for _, d := range dirs {
		f, err := statFields(d)
		if err != nil || f[0] == "Z" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		ps = append(ps, proc{pid, ppid, pgrp})
	}
	return ps
}

// statFields are the fields of a /proc/PID/stat file after the command
// name (which may hold spaces and parentheses): f[0] is the state, field 3
// of proc(5).
func statFields(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("%s: no command name", path)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// family is pid and every live descendant of it.
func family(pid int) map[int]bool {
	fam := map[int]bool{pid: true}
	ps := procTable()
	for grew := true; grew; {
		grew = false
		for _, p := range ps {
			if fam[p.ppid] && !fam[p.pid] {
				fam[p.pid], grew = true, true
			}
		}
	}
	return fam
}

// firstChild is the lowest live child PID of pid, or 0.
func firstChild(pid int) int {
	child := 0
	for _, p := range procTable() {
		if p.ppid == pid && (child == 0 || p.pid < child) {
			child = p.pid
		}
	}
	return child
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	f, err := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && f[0] != "Z"
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture, whatever the kernel's HZ.
const clockTicks = 100

// cpuTime is the user plus system CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	f, err := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// utime and stime are fields 14 and 15 of proc(5); f starts at field 3.
	if len(f) < 13 {
		return 0, fmt.Errorf("pid %d: short stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// mem is what /proc/PID/smaps_rollup says of a process's memory, in bytes.
type mem struct {
	rss  int64 // Rss: VmRSS, counted page by page
	pss  int64 // Pss: each resident page divided among the processes that map it
	anon int64 // Anonymous: the pages no file backs (heap, stacks)
}

func (m mem) plus(o mem) mem { return mem{m.rss + o.rss, m.pss + o.pss, m.anon + o.anon} }

// larger is the larger of m and o, field by field.
func (m mem) larger(o mem) mem {
	return mem{max(m.rss, o.rss), max(m.pss, o.pss), max(m.anon, o.anon)}
}

// memory reads pid's smaps_rollup.
func memory(pid int) (mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return mem{}, err
	}
	var m mem
	fields := map[string]*int64{"Rss": &m.rss, "Pss": &m.pss, "Anonymous": &m.anon}
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		key, v, _ := strings.Cut(line, ":")
		dst, ok := fields[key]
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return mem{}, fmt.Errorf("pid %d: smaps_rollup %s: %w", pid, key, err)
		}
		*dst = kb << 10
		found++
	}
	if found != len(fields) {
		return mem{}, fmt.Errorf("pid %d: no Rss, Pss or Anonymous in its smaps_rollup", pid)
	}
	return m, nil
}
