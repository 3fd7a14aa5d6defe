package cartridge

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gearctl/gearctl/internal/relay"
)

// hookDir is an application directory with the hooks name -> shell script.
func hookDir(t *testing.T, hooks map[string]string) Hooks {
	t.Helper()
	app := t.TempDir()
	dir := filepath.Join(app, HooksDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, script := range hooks {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Hooks{Dir: dir, WorkDir: app, Env: append(os.Environ(), "HOOK_TEST=yes"), Timeout: time.Minute}
}

func TestHookRuns(t *testing.T) {
	h := hookDir(t, map[string]string{"pre_start": `echo "env=$HOOK_TEST cwd=$PWD"; echo to stderr >&2`})
	var out bytes.Buffer
	var log []string
	h.Out, h.Log = &out, func(s string) { log = append(log, s) }
	if err := h.Run(context.Background(), "pre_start"); err != nil {
		t.Fatal(err)
	}
	want := "env=yes cwd=" + h.WorkDir + "\nto stderr\n"
	if out.String() != want {
		t.Errorf("output %q; want %q", out.String(), want)
	}
	if len(log) != 1 || !strings.Contains(log[0], "running pre_start hook") {
		t.Errorf("log %q; want one line saying the hook runs", log)
	}
}

func TestHookMissingOrNotExecutable(t *testing.T) {
	h := hookDir(t, map[string]string{"post_start": "echo ran\n"})
	if err := os.Chmod(h.Path("post_start"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var log []string
	h.Out, h.Log = &out, func(s string) { log = append(log, s) }
	for _, name := range []string{"pre_start", "post_start"} {
		if err := h.Run(context.Background(), name); err != nil {
			t.Errorf("%s: %v; want nil", name, err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("output %q; neither hook should have run", out.String())
	}
	if len(log) != 1 || !strings.Contains(log[0], "post_start") || !strings.Contains(log[0], "not executable") {
		t.Errorf("log %q; want one notice that post_start is not executable", log)
	}
	if !h.Has("post_start") || h.Has("pre_start") {
		t.Errorf("Has: post_start %v, pre_start %v; want true, false", h.Has("post_start"), h.Has("pre_start"))
	}
}

func TestHookFails(t *testing.T) {
	h := hookDir(t, map[string]string{"pre_build": "for i in $(seq 1 50); do echo line $i; done\nexit 7\n"})
	var out bytes.Buffer
	h.Out = &out
	err := h.Run(context.Background(), "pre_build")
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("%v; want a *StepError", err)
	}
	if se.Code != 7 || se.ExitCode() != 7 || se.Error() != "pre_build hook: exit status 7" {
		t.Errorf("%q code %d exit code %d; want exit status 7", se.Error(), se.Code, se.ExitCode())
	}
	if len(se.Tail) != relay.TailLines || se.Tail[0] != "line 11" || se.Tail[relay.TailLines-1] != "line 50" {
		t.Errorf("tail %q; want lines 11 to 50", se.Tail)
	}
	if strings.Count(out.String(), "\n") != 50 {
		t.Errorf("output has %d lines; want all 50", strings.Count(out.String(), "\n"))
	}
}

// procGone waits until pid has exited (a zombie has), within a bound.
func procGone(pid int) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// waitPID reads the PID a hook wrote to path, waiting for it to appear;
// 0 when it does not within a bound.
func waitPID(path string) int {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && strings.HasSuffix(string(b), "\n") {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	pid := waitPID(path)
	if pid == 0 {
		t.Fatalf("no pid in %s", path)
	}
	return pid
}

// A hook that outlives its timeout is stopped with everything it started,
// and the stop is said to be a timeout (exit status 124, as timeout(1)).
func TestHookTimeout(t *testing.T) {
	h := hookDir(t, map[string]string{"deploy": `sleep 60 & echo $! > "$PIDFILE"; echo started; wait` + "\n"})
	pidfile := filepath.Join(t.TempDir(), "pid")
	h.Env = append(h.Env, "PIDFILE="+pidfile)
	h.Timeout = 300 * time.Millisecond
	err := h.Run(context.Background(), "deploy")
	var se *StepError
	if !errors.As(err, &se) || se.Timeout != h.Timeout || se.ExitCode() != 124 {
		t.Fatalf("%v; want a timeout after %s, exit code 124", err, h.Timeout)
	}
	if len(se.Tail) != 1 || se.Tail[0] != "started" {
		t.Errorf("tail %q; want [started]", se.Tail)
	}
	if pid := readPID(t, pidfile); !procGone(pid) {
		t.Errorf("the hook's child pid %d still runs", pid)
	}
}

// A hook that ignores SIGTERM gets SIGKILL once stopGrace has passed.
func TestHookIgnoresTerm(t *testing.T) {
	defer func(g time.Duration) { stopGrace = g }(stopGrace)
	stopGrace = 200 * time.Millisecond
	h := hookDir(t, map[string]string{"deploy": "trap '' TERM\necho $$ > \"$PIDFILE\"\nwhile :; do sleep 1; done\n"})
	pidfile := filepath.Join(t.TempDir(), "pid")
	h.Env = append(h.Env, "PIDFILE="+pidfile)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitPID(pidfile)
		cancel()
	}()
	err := h.Run(ctx, "deploy")
	var se *StepError
	if !errors.As(err, &se) || !se.Canceled || se.ExitCode() != 130 {
		t.Fatalf("%v; want an interrupted hook, exit code 130", err)
	}
	if pid := readPID(t, pidfile); !procGone(pid) {
		t.Errorf("the hook pid %d still runs", pid)
	}
}

// A hook that leaves a process holding its output ends when the hook
// does, not when that process does.
func TestHookLeavesProcessBehind(t *testing.T) {
	h := hookDir(t, map[string]string{"post_start": `sleep 60 & echo $! > "$PIDFILE"; echo done` + "\n"})
	pidfile := filepath.Join(t.TempDir(), "pid")
	h.Env = append(h.Env, "PIDFILE="+pidfile)
	var out bytes.Buffer
	h.Out = &out
	err := h.Run(context.Background(), "post_start")
	pid := readPID(t, pidfile)
	defer func() {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "done\n" {
		t.Errorf("output %q; want \"done\\n\"", out.String())
	}
}

func TestHookNotFoundInterpreter(t *testing.T) {
	h := hookDir(t, nil)
	if err := os.WriteFile(h.Path("build"), []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := h.Run(context.Background(), "build")
	var se *StepError
	if !errors.As(err, &se) || se.Err == nil || se.ExitCode() != 127 {
		t.Fatalf("%v; want a hook that could not be started, exit code 127", err)
	}
}
