package cartridge

import (
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/gearctl/gearctl/control"
)

var modWSGIExpressInstalled = installedExe("mod_wsgi-express")

func buildModWSGIExpress(c Config, s *control.Spec) error {
	exe, err := lookExe(c, "mod_wsgi-express")
	if err != nil {
		return err
	}
	// One server root per port, as for apache.
	root := filepath.Join(c.Dir, "mod_wsgi-express-"+strconv.Itoa(c.Port))
	workers, threads := workersThreads(c)
	s.Path = exe
	s.Args = []string{exe, "start-server"}
	if c.App.File != "" {
		s.Args = append(s.Args, c.App.File)
	}
	s.Args = append(s.Args,
		"--host", c.Host,
		"--port", strconv.Itoa(c.Port),
		// Its generated httpd.conf, apachectl and sockets go here instead
		// of /tmp/mod_wsgi-HOST:PORT:UID.
		"--server-root", root,
		"--log-to-terminal",
		"--access-log",
		"--processes", strconv.Itoa(workers),
		"--threads", strconv.Itoa(threads),
		// Its default is the script's directory.
		"--working-directory", c.Chdir,
		// mod_wsgi kills a daemon process this long after asking it to
		// stop, in-flight requests or not (5 s by default).
		"--shutdown-timeout", seconds(c.StopTimeout),
	)
	if d := fileAppDir(c); d != "" {
		s.Args = append(s.Args, "--python-path", d)
	}
	if c.App.Module != "" {
		s.Args = append(s.Args,
			"--application-type", "module",
			"--entry-point", c.App.Module,
			"--callable-object", appCallable(c.App))
	} else if appCallable(c.App) != "application" {
		s.Args = append(s.Args, "--callable-object", appCallable(c.App))
	}
	acct, err := runAccount(c)
	if err != nil {
		return err
	}
	if acct != nil {
		// It refuses to start as root without them: it is Apache
		// underneath, with Apache's and mod_wsgi's rules (see account).
		s.Args = append(s.Args, "--user", acct.user, "--group", acct.group)
		if err := acct.prepare(c, root); err != nil {
			return err
		}
	}
	// It binds its own socket; it exec()s through its generated apachectl
	// into httpd, so the spawned PID ends up as the Apache parent, and
	// Apache's signals apply.
	s.TakesFD = false
	s.Signals = control.Signals{Stop: syscall.SIGWINCH, Reload: syscall.SIGUSR1}
	return nil
}
