package control

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/gearctl/gearctl/pidfile"
)

// Run supervises spec in this gear, whose lock the caller holds, until it
// is stopped for good: it adopts a server a dead supervisor left, serves
// the control socket and relays this process's signals. It releases the
// lock when it returns.
func (g Gear) Run(lock *pidfile.Lock, spec Spec, opt Options, api APIOptions) error {
	defer lock.Unlock()
	// The new instance of a restart its supervisor died in: the current one
	// still serves, and is the one to adopt.
	if _, _, err := g.stopLeft(candidate, opt.Logger); err != nil && !errors.Is(err, pidfile.ErrStale) {
		return err
	}
	orphan, orphanSpec, err := g.Orphan()
	switch {
	case errors.Is(err, pidfile.ErrStale):
		g.forget(current)
	case err != nil:
		if orphan != nil {
			orphan.Close()
			err = fmt.Errorf("pid %d of this gear runs, but %w: stop it by hand", orphan.PID(), err)
		}
		return err
	case orphan != nil:
		// The server keeps the spec it was started with; a restart with
		// the new one is the caller's choice.
		spec, opt.Adopt = orphanSpec, orphan
	}
	// PID 1 has no start time to tell it from a later PID 1; the lock and
	// the socket speak for it.
	if os.Getpid() != 1 {
		if err := pidfile.Write(g.supervisorFile(), os.Getpid()); err != nil {
			return err
		}
		defer os.Remove(g.supervisorFile())
	}
	opt.Gear = &g
	sup := New(spec, opt)
	a, err := ServeAPI(sup, g.Socket(), api)
	if err != nil {
		return err
	}
	defer a.Close()
	go sup.RelaySignals()
	go g.keep(a, sup, opt.Logger)
	return sup.Run()
}

// keepEvery is how often a supervisor makes sure its state dir and socket
// are still there.
const keepEvery = 2 * time.Second

// keep recreates what this supervisor owns when the state dir or the
// control socket is removed under it — the dir (0700), its lock, its
// pidfile, the server's pidfile and spec as last seen, and the socket — so
// that status and stop find the gear again. It returns when sup is done.
func (g Gear) keep(a *API, sup *Supervisor, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	seen := map[string][]byte{}
	// The lock Run holds locks a file no other command can find once the
	// dir is gone: each recreated dir gets a lock of its own.
	var lock *pidfile.Lock
	defer func() {
		if lock != nil {
			lock.Unlock()
		}
	}()
	for {
		select {
		case <-sup.Done():
			return
		case <-t.C:
		}
		if _, err := os.Stat(g.Dir); errors.Is(err, fs.ErrNotExist) {
			if err := g.restore(&lock, seen); err != nil {
				log.Warn("state dir: " + err.Error())
				continue
			}
			log.Warn("state dir {dir} was removed: recreated", "dir", g.Dir)
		} else {
			g.remember(seen)
		}
		if err := a.KeepSocket(); err != nil {
			log.Warn(err.Error())
		}
	}
}

// remember notes the server's pidfile and spec as this supervisor wrote
// them last, to write them again if the dir is removed.
func (g Gear) remember(seen map[string][]byte) {
	for _, path := range []string{g.pidFile(current), g.specFile(current)} {
		f, err := pidfile.OpenTrusted(path)
		if err != nil {
			delete(seen, path)
			continue
		}
		if b, err := io.ReadAll(io.LimitReader(f, maxSpec)); err == nil {
			seen[path] = b
		}
		f.Close()
	}
}

// restore recreates the removed state dir: the lock, the supervisor
// pidfile, and the server records last seen, spec first as record writes
// them.
func (g Gear) restore(lock **pidfile.Lock, seen map[string][]byte) error {
	if err := os.MkdirAll(g.Dir, 0o700); err != nil {
		return err
	}
	fresh, err := pidfile.TryLock(g.lockFile())
	if err != nil {
		return err
	}
	if *lock != nil {
		(*lock).Unlock()
	}
	*lock = fresh
	if os.Getpid() != 1 {
		if err := pidfile.Write(g.supervisorFile(), os.Getpid()); err != nil {
			return err
		}
	}
	for _, path := range []string{g.specFile(current), g.pidFile(current)} {
		if b, ok := seen[path]; ok {
			if err := writeFileAtomic(path, string(b), 0o600, -1); err != nil {
				return err
			}
		}
	}
	return nil
}
