package server

import (
	"time"

	"github.com/gearctl/gearctl/control"
)

// Config is everything that decides how one gear's application is served,
// gathered from flags and environment by the CLI.
type Config struct {
	// Server is a catalog name (see Names); "auto" or "" picks one with
	// Auto.
	Server string
	App    App
	// Chdir is the application's directory (absolute).
	Chdir string
	Host  string
	Port  int
	// Workers is the number of server processes, Threads the threads in each.
	Workers int
	Threads int
	// Python is the interpreter to run (absolute path); Venv the
	// virtualenv directory it belongs to, or "" for none.
	Python string
	Venv   string
	// Command is the --command line, for Server "command".
	Command   string
	ReadyPath string

	StartTimeout time.Duration
	StopTimeout  time.Duration
	// ProbeInterval and ProbeFailures drive the liveness probe of a ready
	// server.
	ProbeInterval time.Duration
	ProbeFailures int

	// Dir is the gear's state directory (absolute): generated configs,
	// runner scripts and server roots go below it.
	Dir string
	// ExtraArgs are appended to the server's argv (`-- extra args`).
	ExtraArgs []string
	// Env is the environment the server gets (os.Environ() plus gear vars).
	Env []string
	// Static are the URL prefixes served from directories (--static).
	Static []Static
	// ReadyStatus is the range of probe statuses that mean ready.
	ReadyStatus control.StatusRange
	// User is who the application runs as (--user), nil for gearctl's
	// own user; Spec sets it for the servers that must switch as root.
	User *Account
}

// App is the WSGI entry point, or the program that serves (Program).
// Exactly one of File and Module is set.
type App struct {
	// File is the absolute path of a Python source file (wsgi.py, or the
	// OpenShift-style wsgi/application without an extension).
	File string
	// Module is an importable dotted module name, relative to Chdir.
	Module string
	// Callable is the WSGI callable's name in it ("application" by default).
	Callable string
	// Program: File is not imported but run, `PYTHON -u app.py`, as the
	// OpenShift cartridge ran an app.py that starts its own server.
	Program bool
	// Why says in one sentence how the entry was chosen, for the user.
	Why string
	// Env are KEY=VALUE defaults the application needs, set for the server
	// where the environment does not set KEY (DJANGO_SETTINGS_MODULE from
	// manage.py); PythonPath is a directory put first on PYTHONPATH (a
	// Django project below Chdir). See environ.
	Env        []string
	PythonPath string
}
