package cartridge

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// mod_wsgi-express is pip-only and not installable here: argv only.
func TestModWSGIExpressArgv(t *testing.T) {
	c := testConfig(t, "mod_wsgi-express")
	c.Venv = fakeVenv(t, "mod_wsgi-express")
	c.Port = 8081
	exe := filepath.Join(c.Venv, "bin", "mod_wsgi-express")
	root := filepath.Join(c.Dir, "mod_wsgi-express-"+strconv.Itoa(c.Port))
	common := []string{"--host", "127.0.0.1", "--port", "8081", "--server-root", root,
		"--log-to-terminal", "--access-log", "--processes", "2", "--threads", "2",
		"--working-directory", c.Chdir, "--shutdown-timeout", "5"}
	var asRoot []string
	if os.Geteuid() == 0 {
		// The application directory is root's: nobody serves it.
		asRoot = []string{"--user", "nobody", "--group", "nogroup"}
	}
	for _, tc := range []struct {
		app  App
		want []string
	}{
		{App{File: filepath.Join(c.Chdir, "wsgi.py")},
			join([]string{exe, "start-server", filepath.Join(c.Chdir, "wsgi.py")}, common, asRoot)},
		{App{File: filepath.Join(c.Chdir, "src", "site.py"), Callable: "serve"},
			join([]string{exe, "start-server", filepath.Join(c.Chdir, "src", "site.py")}, common,
				[]string{"--python-path", filepath.Join(c.Chdir, "src"), "--callable-object", "serve"}, asRoot)},
		{App{Module: "pkg.web", Callable: "app"},
			join([]string{exe, "start-server"}, common,
				[]string{"--application-type", "module", "--entry-point", "pkg.web", "--callable-object", "app"}, asRoot)},
	} {
		c.App = tc.app
		spec, err := c.Spec()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(spec.Args, "\x00") != strings.Join(tc.want, "\x00") {
			t.Errorf("%+v:\n got %q\nwant %q", tc.app, spec.Args, tc.want)
		}
		if spec.Path != exe || spec.TakesFD || spec.Signals.Stop != syscall.SIGWINCH || spec.Signals.Reload != syscall.SIGUSR1 {
			t.Errorf("%+v: Path %s TakesFD %v Signals %v", tc.app, spec.Path, spec.TakesFD, spec.Signals)
		}
	}
}

func join(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}
