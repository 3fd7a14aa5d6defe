package test

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstall runs scripts/install into a DESTDIR as a packager would:
// the binary is static and says the commit it was built from, the manual
// page and the bash completion are in place.
func TestInstall(t *testing.T) {
	t.Parallel()
	dest := tempDir(t)
	cmd := exec.Command("bash", "../scripts/install")
	cmd.Env = append(os.Environ(), "DESTDIR="+dest, "PREFIX=/usr/local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/install: %v\n%s", err, out)
	}
	bin := filepath.Join(dest, "usr/local/bin/gearctl")
	version, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(version), "commit "+strings.TrimSpace(string(head))) {
		t.Errorf("installed gearctl says %q; want the commit %s", version, head)
	}
	if flag, _ := exec.Command(bin, "--version").Output(); string(flag) != string(version) {
		t.Errorf("--version says %q, version %q; want the same", flag, version)
	}
	if f, err := elf.Open(bin); err != nil {
		t.Error(err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("the installed binary asks for a dynamic loader: it is not static")
			}
		}
		f.Close()
	}
	page, err := os.ReadFile(filepath.Join(dest, "usr/local/share/man/man1/gearctl.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH gearctl 1", "\n.SS start", "\n.SS status", "--start-timeout"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/share/bash-completion/completions/gearctl")); err != nil {
		t.Error(err)
	}
}

// TestCompletion loads `gearctl completion bash` into a real bash and
// completes as a user pressing Tab would: verbs, then a verb's flags.
func TestCompletion(t *testing.T) {
	t.Parallel()
	complete := func(words ...string) []string {
		t.Helper()
		script := `eval "$("$GEARCTL" completion bash)"
COMP_WORDS=("$GEARCTL" "$@"); COMP_CWORD=$#
_gearctl_complete
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", append([]string{"-c", script, "bash"}, words...)...)
		cmd.Env = append(os.Environ(), "GEARCTL="+gearctlBin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("completing %q: %v", words, err)
		}
		return strings.Fields(string(out))
	}
	if got := complete("st"); strings.Join(got, " ") != "start stop status" {
		t.Errorf("gearctl st<Tab> offers %q; want start stop status", got)
	}
	got := complete("start", "--start")
	if strings.Join(got, " ") != "--start-timeout" {
		t.Errorf("gearctl start --start<Tab> offers %q; want --start-timeout", got)
	}
	for _, shell := range []string{"zsh", "fish"} {
		if out, err := exec.Command(gearctlBin, "completion", shell).Output(); err != nil || !strings.Contains(string(out), "gearctl") {
			t.Errorf("completion %s: %v\n%s", shell, err, out)
		}
	}
	var ee *exec.ExitError
	if err := exec.Command(gearctlBin, "completion", "tcsh").Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("completion tcsh: %v; want exit 2", err)
	}
}
