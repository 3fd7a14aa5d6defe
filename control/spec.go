package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Spec says how to run one instance of a server: what to exec, how to talk
// to it with signals, how its listening socket reaches it and how to tell it
// is ready. cartridge builds Specs; control knows no server by name.
type Spec struct {
	// Name is the server kind, used in messages ("gunicorn").
	Name string
	// Path is the executable, resolved; Args is the whole argv, Args[0]
	// included. The server is exec'ed directly, never through a shell.
	Path string
	Args []string
	// Env is the complete environment; Dir the working directory.
	Env []string
	Dir string
	// Credential, when set, is the uid, gid and groups the server is
	// exec'ed with: it runs as another user than the supervisor, which
	// stays root to hold the sockets, write the logs and reap.
	Credential *syscall.Credential `json:",omitempty"`
	// User is who the application runs as, USER:GROUP, for status: the
	// Credential's, or the account the server switches to itself (Apache
	// run as root). "" for the supervisor's own user.
	User string `json:",omitempty"`

	Signals Signals

	// Host and Port are where the server answers.
	Host string
	Port int
	// TakesFD: the server accepts on a listening socket the supervisor
	// opens and passes as file descriptor 3 (and Args already say so, e.g.
	// gunicorn --bind fd://3). When false the server binds Host:Port itself.
	TakesFD bool
	// ProbeFD: the server also accepts on a second listening socket, fd 4,
	// which only this instance has (Args say so too). Readiness is probed
	// there, so that during a restart the instance being replaced, which
	// shares fd 3, cannot answer for the new one. Only then can a restart
	// run the new instance beside the old one.
	ProbeFD bool

	// ReadyPath is requested on Host:Port; a status in ReadyStatus means
	// ready.
	ReadyPath   string
	ReadyStatus StatusRange
	// ReadyLine, when set, is part of a line the server prints once its
	// signals mean what Signals says; readiness also waits for it. (uWSGI
	// answers requests before its master installs the handler that makes
	// TERM graceful; a TERM before that is a brutal reload.)
	ReadyLine string

	StartTimeout time.Duration
	StopTimeout  time.Duration

	// ProbeInterval is how often a ready server is probed again, as
	// Kubernetes' liveness probe does; zero stops probing once it is
	// ready. ProbeFailures probes in a row that fail restart it.
	ProbeInterval time.Duration `json:",omitempty"`
	ProbeFailures int           `json:",omitempty"`

	// Interpreter names what runs the application ("/srv/venv/bin/python
	// (Python 3.11.2)"), for status: a server's own binary may hide it.
	Interpreter string `json:",omitempty"`
	// App says what application runs and why it was chosen ("app.py:
	// importing its \"app\" callable"), for status and start's first line.
	App string `json:",omitempty"`

	// Settings are the user's settings this spec was resolved from, opaque
	// here: status returns them, so that a restart can change only what it
	// is told to, even after a supervisor adopted the server.
	Settings json.RawMessage `json:",omitempty"`

	// Files are written before each spawn (generated configs, runner
	// scripts): path -> content, created with mode 0600.
	Files map[string]string
	// SharedFiles are written like Files but as root:SharedGroup, mode
	// 0640: what a server that drops privileges must still read (Apache's
	// WSGI script for a module:callable).
	SharedFiles map[string]string
	SharedGroup int
	// SharedDirs are made, or set, root:SharedGroup mode 0750 before each
	// spawn: where a server that runs as another user lists SharedFiles.
	SharedDirs []string `json:",omitempty"`
	// Dirs are made, or set to their mode, before each spawn: path ->
	// mode. Searchable are directories that others must be able to
	// enter (o+x is added): what a server that drops privileges must
	// reach. Building a spec changes nothing on disk; spawning it does.
	Dirs       map[string]os.FileMode `json:",omitempty"`
	Searchable []string               `json:",omitempty"`
}

// StatusRange is an inclusive range of HTTP status codes. The zero value is
// DefaultReady.
type StatusRange struct {
	Lo, Hi int
}

// DefaultReady: any answer of the application that is not a server error
// means it imported and runs.
var DefaultReady = StatusRange{Lo: 200, Hi: 499}

// Has says whether code is in r (in DefaultReady when r is zero).
func (r StatusRange) Has(code int) bool {
	if r == (StatusRange{}) {
		r = DefaultReady
	}
	return code >= r.Lo && code <= r.Hi
}

func (r StatusRange) String() string {
	if r == (StatusRange{}) {
		r = DefaultReady
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// Signals is a server's own signal map: what each request means to it.
type Signals struct {
	// Stop asks for a graceful stop: finish in-flight requests, then exit.
	Stop syscall.Signal
	// Reload asks for a graceful reload in place (same PID); 0 when the
	// server has none.
	Reload syscall.Signal
	// Worker, when set, is what the master's workers take as "finish and
	// exit". A worker forked just before the master relays a stop or a
	// reload still runs the master's inherited handlers and misses it, so
	// the master waits out its whole timeout for that worker; the
	// supervisor sends Worker again to the old workers until they are gone.
	Worker syscall.Signal
	// Group: Stop goes to the whole process group, and a stop waits for
	// every process of the group, not only the master, to exit. For a
	// program whose top process is a shell that may not exec the server
	// (app.py → bash app.sh → gunicorn): TERM ends the shell at once, and
	// the server must hear it too to finish its requests.
	Group bool
}

// validate refuses a spec that cannot be run, before anything is stopped.
func (s Spec) validate() error {
	switch {
	case s.Path == "" || len(s.Args) == 0:
		return errors.New("spec has no command")
	case s.Port < 1 || s.Port > 65535:
		return fmt.Errorf("spec port %d out of range", s.Port)
	case s.ReadyStatus != (StatusRange{}) && (s.ReadyStatus.Lo < 100 || s.ReadyStatus.Hi > 599 || s.ReadyStatus.Lo > s.ReadyStatus.Hi):
		return fmt.Errorf("spec ready status %s out of range", s.ReadyStatus)
	case s.StartTimeout <= 0 || s.StopTimeout <= 0:
		return errors.New("spec timeouts must be positive")
	case s.Signals.Stop <= 0 || s.Signals.Stop >= 65 || s.Signals.Reload < 0 || s.Signals.Reload >= 65 ||
		s.Signals.Worker < 0 || s.Signals.Worker >= 65:
		return errors.New("spec signals out of range")
	}
	return nil
}

// Prepare makes the spec's directories and writes its Files and
// SharedFiles, as each spawn does.
func (s Spec) Prepare() error {
	for _, dir := range s.Searchable {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if err := os.Chmod(dir, st.Mode().Perm()|0o001); err != nil {
			return err
		}
	}
	for dir, mode := range s.Dirs {
		if err := makeDir(dir, mode, -1); err != nil {
			return err
		}
	}
	for _, dir := range s.SharedDirs {
		if err := makeDir(dir, 0o750, s.SharedGroup); err != nil {
			return err
		}
	}
	for path, content := range s.Files {
		if err := writeFileAtomic(path, content, 0o600, -1); err != nil {
			return err
		}
	}
	for path, content := range s.SharedFiles {
		if err := writeFileAtomic(path, content, 0o640, s.SharedGroup); err != nil {
			return err
		}
	}
	return nil
}

// makeDir makes dir with mode, or sets the mode of the one there (MkdirAll
// obeys the umask and leaves an existing directory as it is), and its
// group unless gid is -1.
func makeDir(dir string, mode os.FileMode, gid int) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if gid >= 0 {
		if err := os.Chown(dir, -1, gid); err != nil {
			return err
		}
	}
	return os.Chmod(dir, mode)
}
