package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gearctl/gearctl/pidfile"
	"golang.org/x/sys/unix"
)

// Gear is a gear's state directory: the supervisor's lock, socket and
// pidfile, the current server's pidfile and spec, and the logs.
type Gear struct {
	Dir string
	// LogDir holds server.log; Dir/logs when empty.
	LogDir string
	// Rebuild, when set, makes the spec of a server a dead supervisor left
	// from the settings recorded in it: the argv and signal map on disk
	// are never used as they are, so a forged record cannot run or signal
	// what the caller could not have named on its own command line.
	Rebuild func(recorded Spec) (Spec, error)
}

// ErrAlreadyRunning is returned by Run when another supervisor holds the
// gear's lock.
var ErrAlreadyRunning = errors.New("a supervisor already runs for this gear")

// maxSocketPath is what fits in sun_path with its terminating NUL.
var maxSocketPath = len(unix.RawSockaddrUnix{}.Path) - 1

func (g Gear) path(name string) string { return filepath.Join(g.Dir, name) }

// Socket is the control socket's path.
func (g Gear) Socket() string { return g.path("control.sock") }

func (g Gear) lockFile() string       { return g.path("gearctl.lock") }
func (g Gear) supervisorFile() string { return g.path("gearctl.pid") }

// The server slots that pidfiles record: the current server, and the new
// instance of a restart in progress — which a supervisor killed in the
// middle of the restart leaves running too.
const (
	current   = "server"
	candidate = "next"
)

func (g Gear) pidFile(slot string) string  { return g.path(slot + ".pid") }
func (g Gear) specFile(slot string) string { return g.path(slot + ".json") }

// Logs is the directory of the gear's logs.
func (g Gear) Logs() string {
	if g.LogDir != "" {
		return g.LogDir
	}
	return g.path("logs")
}

// ServerLog is the server's output, rotated as server.log.1 … .N.
func (g Gear) ServerLog() string { return filepath.Join(g.Logs(), "server.log") }

// SupervisorOut receives a background supervisor's own stderr.
func (g Gear) SupervisorOut() string { return filepath.Join(g.Logs(), "supervisor.out") }

// Check refuses a directory whose socket path cannot be bound.
func (g Gear) Check() error {
	if n := len(g.Socket()); n > maxSocketPath {
		return fmt.Errorf("%s is %d bytes long, over the %d a unix socket path can have: use a shorter --dir", g.Socket(), n, maxSocketPath)
	}
	return nil
}

// maxSpec bounds what is read of a spec file: a recorded spec is a few
// KiB; more is not one.
const maxSpec = 1 << 20

// Trust refuses a state or log directory that another user owns or may
// write (pidfile.ErrUntrusted): the pidfiles and specs in it decide what
// is signalled and run. A log directory not made yet is created later,
// by this user. A log that is a symlink or another user's file is refused
// too, so that start says so before any supervisor is launched.
func (g Gear) Trust() error {
	if err := pidfile.CheckDir(g.Dir); err != nil {
		return err
	}
	// A log dir that is missing or not a directory holds nothing to trust;
	// the log reports it (log_error) and start refuses it.
	if fi, err := os.Stat(g.Logs()); err != nil || !fi.IsDir() {
		return nil
	}
	if err := pidfile.CheckDir(g.Logs()); err != nil {
		return err
	}
	for _, log := range []string{g.ServerLog(), g.SupervisorOut()} {
		if err := pidfile.CheckAppend(log); err != nil {
			return err
		}
	}
	return nil
}

// Client talks to the gear's supervisor.
func (g Gear) Client() *Client { return NewClient(g.Socket()) }

// Orphan finds a server that a dead supervisor left running: the server
// pidfile names a live process with the recorded start time. It returns nil
// when there is none, pidfile.ErrStale (wrapped) when the PID now belongs to
// another process — which is never signalled — and pidfile.ErrGarbage for a
// file that cannot be read as a pidfile.
func (g Gear) Orphan() (*pidfile.Process, Spec, error) {
	return g.orphan(current)
}

func (g Gear) orphan(slot string) (*pidfile.Process, Spec, error) {
	rec, err := pidfile.Read(g.pidFile(slot))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Spec{}, nil
	}
	if err != nil {
		return nil, Spec{}, err
	}
	p, err := pidfile.Open(rec)
	if err != nil {
		return nil, Spec{}, fmt.Errorf("%s names pid %d: %w", g.pidFile(slot), rec.PID, err)
	}
	var spec Spec
	f, err := pidfile.OpenTrusted(g.specFile(slot))
	if err == nil {
		err = json.NewDecoder(io.LimitReader(f, maxSpec)).Decode(&spec)
		f.Close()
	}
	if err == nil && g.Rebuild != nil {
		spec, err = g.Rebuild(spec)
	}
	if err != nil {
		// The server lives, but how to stop it is lost: hand it over
		// anyway, so that it is not mistaken for nothing.
		return p, spec, fmt.Errorf("%s: %w", g.specFile(slot), err)
	}
	return p, spec, nil
}

// record writes a slot's pidfile and its spec, spec first: a pidfile is
// only ever read with a spec that goes with it.
func (g Gear) record(slot string, spec Spec, pid int) error {
	b, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(g.specFile(slot), string(b), 0o600, -1); err != nil {
		return err
	}
	return pidfile.Write(g.pidFile(slot), pid)
}

func (g Gear) forget(slot string) {
	os.Remove(g.pidFile(slot))
	os.Remove(g.specFile(slot))
}

// stopLeft stops the server a dead supervisor left in slot, if any, the way
// a supervisor would: its own stop signal, SIGKILL to all that is left
// after the stop timeout, then what of the gear still holds its port.
// Returns its PID, 0 if none ran, and the address it served.
func (g Gear) stopLeft(slot string, log *slog.Logger) (int, string, error) {
	p, spec, err := g.orphan(slot)
	if p != nil {
		defer p.Close()
	}
	if errors.Is(err, pidfile.ErrStale) {
		g.forget(slot) // it names another process now: never signalled
	}
	if err != nil || p == nil {
		return 0, "", err
	}
	if log == nil {
		log = slog.Default()
	}
	// The new instance of a restart shares the listening socket with the
	// server that still runs: only after the server is what holds it
	// left over.
	var socks sockets
	if slot == current {
		socks = listenersOf(p.PID(), spec.Port)
	}
	adopt(nil, spec, p).stop(nil, func(msg string) { log.Warn(msg) })
	listen := addr(spec.Host, spec.Port)
	if left := socks.sweep(g.Dir, time.Now().Add(killWait)); len(left) > 0 {
		return p.PID(), listen, fmt.Errorf("processes of pid %d holding its port survived SIGKILL: %v", p.PID(), left)
	}
	g.forget(slot)
	return p.PID(), listen, nil
}

// Lock takes the gear's lock, which a supervisor holds for its whole life:
// ErrAlreadyRunning when another one has it.
func (g Gear) Lock() (*pidfile.Lock, error) {
	if err := os.MkdirAll(g.Dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := pidfile.TryLock(g.lockFile())
	if errors.Is(err, pidfile.ErrLocked) {
		if rec, err := pidfile.Read(g.supervisorFile()); err == nil {
			return nil, fmt.Errorf("%w (pid %d)", ErrAlreadyRunning, rec.PID)
		}
		return nil, ErrAlreadyRunning
	}
	return lock, err
}

// StopOrphan stops what a dead supervisor left running — the server, and
// the new instance of a restart it died in — the way a supervisor would.
// It takes the gear's lock, so that no supervisor adopts it meanwhile.
// Returns the server's PID, 0 if none ran, and the address it served.
func (g Gear) StopOrphan(log *slog.Logger) (pid int, listen string, err error) {
	lock, err := pidfile.TryLock(g.lockFile())
	if err != nil {
		return 0, "", err
	}
	defer lock.Unlock()
	if _, _, err := g.stopLeft(candidate, log); err != nil && !errors.Is(err, pidfile.ErrStale) {
		return 0, "", err
	}
	return g.stopLeft(current, log)
}
