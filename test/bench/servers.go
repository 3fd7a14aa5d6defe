package main

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// servers are the WSGI servers every section measures, in swap order.
var servers = []string{"gunicorn", "uwsgi", "wsgiref"}

// Settings every contender runs its server with: gearctl's defaults.
const (
	workers     = 2
	threads     = 1
	stopTimeout = 30 // seconds a graceful stop may take
)

// rawArgv is the command line that runs srv on the app in directory app
// (its wsgi.py) bound to 127.0.0.1:port by itself: what the baselines run.
// It carries the options gearctl gives the same server, except that gearctl
// passes its own listening socket as fd 3 instead of an address.
func (b *bench) rawArgv(app, srv string, port int) []string {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	switch srv {
	case "gunicorn":
		return []string{"gunicorn", "--bind", addr,
			"--workers", strconv.Itoa(workers), "--threads", strconv.Itoa(threads),
			"--chdir", app, "--graceful-timeout", strconv.Itoa(stopTimeout),
			"--access-logfile", "-", "--error-logfile", "-",
			"wsgi:application"}
	case "uwsgi":
		return []string{"uwsgi", "--plugin", "python3", "--master", "--http-socket", addr, "--need-app",
			"--processes", strconv.Itoa(workers), "--threads", strconv.Itoa(threads), "--enable-threads",
			"--chdir", app, "--wsgi-file", filepath.Join(app, "wsgi.py"), "--callable", "application",
			// Without it uWSGI takes TERM as a brutal reload, not a stop.
			"--hook-master-start", "unix_signal:15 gracefully_kill_them_all",
			"--reload-mercy", strconv.Itoa(stopTimeout), "--worker-reload-mercy", strconv.Itoa(stopTimeout)}
	case "wsgiref":
		// gearctl's own standard-library runner is the wsgiref server: the
		// same program, bound by itself instead of given fd 3.
		return []string{b.python, b.runner, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--app", filepath.Join(app, "wsgi.py") + ":application", "--chdir", app,
			"--workers", strconv.Itoa(workers), "--threads", strconv.Itoa(threads)}
	}
	panic("unknown server " + srv)
}
