package server

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"gunicorn -b fd://{fd} {app}", []string{"gunicorn", "-b", "fd://{fd}", "{app}"}},
		{"  a\tb \n c  ", []string{"a", "b", "c"}},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}},
		{`'it''s' "x"'y'z`, []string{"its", "xyz"}},
		{`'$HOME \n "q"'`, []string{`$HOME \n "q"`}},
		{`"a \"b\" \\ \$x \n"`, []string{`a "b" \ $x \n`}},
		{`a\ b \'c \"d \\`, []string{"a b", "'c", `"d`, `\`}},
		{"a \\\nb", []string{"a", "b"}},
		{`'' ""`, []string{"", ""}},
		{`x;y | z # not a comment *`, []string{"x;y", "|", "z", "#", "not", "a", "comment", "*"}},
	} {
		got, err := splitCommand(tc.line)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") || len(got) != len(tc.want) {
			t.Errorf("%q:\n got %q\nwant %q", tc.line, got, tc.want)
		}
	}
	for _, line := range []string{"", "   ", "a 'b", `a "b`, `a "b\"`, `a \`} {
		if words, err := splitCommand(line); err == nil {
			t.Errorf("%q: %q, want an error", line, words)
		}
	}
}

func TestCommandSpec(t *testing.T) {
	c := testConfig(t, "command")
	c.Port = 9000
	c.Command = `python3 -c 'import sys; print(sys.argv)' --bind "{host}:{port}" --fd={fd} {app}`
	c.ExtraArgs = []string{"--extra"}
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"python3", "-c", "import sys; print(sys.argv)", "--bind", "127.0.0.1:9000", "--fd=3", c.App.File, "--extra"}
	if strings.Join(spec.Args, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv\n got %q\nwant %q", spec.Args, want)
	}
	if spec.Path != py || !spec.TakesFD || spec.Signals != termHup {
		t.Errorf("Path %s (want %s), TakesFD %v, Signals %v", spec.Path, py, spec.TakesFD, spec.Signals)
	}

	// No {fd}: the command binds its own socket.
	c.Command = "python3 -m http.server {port}"
	if spec, err = c.Spec(); err != nil || spec.TakesFD || spec.Args[3] != "9000" {
		t.Errorf("%s: TakesFD %v, argv %q, err %v", c.Command, spec.TakesFD, spec.Args, err)
	}

	// {app} in --app's forms.
	for _, tc := range []struct {
		app  App
		want string
	}{
		{App{File: "/srv/wsgi.py"}, "/srv/wsgi.py"},
		{App{File: "/srv/wsgi.py", Callable: "application"}, "/srv/wsgi.py"},
		{App{File: "/srv/wsgi.py", Callable: "app"}, "/srv/wsgi.py:app"},
		{App{Module: "pkg.web"}, "pkg.web:application"},
	} {
		if got := appArg(tc.app); got != tc.want {
			t.Errorf("appArg(%+v) = %s, want %s", tc.app, got, tc.want)
		}
	}

	// A relative program is the application directory's.
	c.Command = "./run --port {port}"
	if _, err := c.Spec(); !isInputError(err, "--command") || !strings.Contains(err.Error(), filepath.Join(c.Chdir, "run")) {
		t.Errorf("missing ./run: err = %v", err)
	}

	for _, bad := range []string{"", "gunicorn 'x", `gunicorn "x`, "no-such-program-anywhere {port}"} {
		c.Command = bad
		if _, err := c.Spec(); !isInputError(err, "--command") {
			t.Errorf("%q: err = %v, want an InputError for --command", bad, err)
		}
	}
	c.Command, c.App = "gunicorn {app}", App{}
	if _, err := c.Spec(); !isInputError(err, "--command") {
		t.Errorf("{app} without an application: err = %v", err)
	}
}

// isInputError says whether err is bad input about flag.
func isInputError(err error, flag string) bool {
	var in *InputError
	return errors.As(err, &in) && in.Flag == flag && strings.Contains(err.Error(), flag)
}
