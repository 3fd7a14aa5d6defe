package server

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzSplitCommand: any --command line is split or refused, never a
// panic; a split never yields an empty argv.
func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{
		`gunicorn -b {host}:{port} wsgi:application`,
		`python3 app.py "{host}" '{port}'`,
		`a\ b "c \"d\"" 'e'"f"`,
		`"unterminated`, `'`, `\`, ``, `   `, "tab\tsep\nnewline",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		argv, err := splitCommand(line)
		if err == nil && len(argv) == 0 {
			t.Fatalf("%q: empty argv without an error", line)
		}
	})
}

// FuzzSettings: whatever flags and variables say, Resolve gives a Config
// or an InputError naming a flag — never a panic, never another error.
func FuzzSettings(f *testing.F) {
	f.Add("auto", "", 8080, 2, 1, "/", "")
	f.Add("gunicorn", "wsgi.py:application", 1, 1, 1, "/health", "")
	f.Add("nosuch", "x.py", 0, 0, 0, "health", "")
	f.Add("command", "", 65535, 1024, 1024, "/", `python3 app.py {port} "unterminated`)
	f.Add("", "pkg.mod:app", 70000, -1, 2000, "/", "{app} {fd}")
	f.Add("wsgiref", "a:b:c", 80, 1, 1, "//", "")
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "wsgi.py"), []byte("def application(e, s): pass\n"), 0o644)
	f.Fuzz(func(t *testing.T, server, app string, port, workers, threads int, ready, command string) {
		in := Settings{Server: server, App: app, Chdir: dir, Host: "127.0.0.1", Port: port,
			Workers: workers, Threads: threads, Python: "", Command: command, ReadyPath: ready,
			StartTimeout: time.Second, StopTimeout: time.Second, Dir: t.TempDir()}
		c, err := in.Resolve()
		if err == nil && c.Server == "command" {
			// Where a bad --command line is caught.
			_, err = c.Spec()
		}
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("%+v: error %v is not an InputError", in, err)
		}
		if ie != nil && !strings.HasPrefix(ie.Flag, "--") {
			t.Fatalf("%+v: InputError names no flag: %v", in, err)
		}
	})
}
