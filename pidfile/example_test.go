package pidfile_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gearctl/gearctl/pidfile"
)

// A new supervisor takes the directory's lock, then adopts the server a
// killed predecessor left running, or finds there is none.
func Example_adopt() {
	dir := "/run/gear"
	lock, err := pidfile.TryLock(filepath.Join(dir, "gearctl.lock"))
	if errors.Is(err, pidfile.ErrLocked) {
		log.Fatal("another supervisor runs on ", dir)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock()

	rec, err := pidfile.Read(filepath.Join(dir, "server.pid"))
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, pidfile.ErrGarbage):
		fmt.Println("no server recorded; start one")
		return
	case err != nil:
		log.Fatal(err)
	}
	p, err := pidfile.Open(rec)
	if errors.Is(err, pidfile.ErrStale) {
		fmt.Println("recorded server is gone; start one")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	// Stop the adopted server and wait for it, though it is not our child.
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		log.Fatal(err)
	}
	if err := p.Wait(context.Background()); err != nil {
		log.Fatal(err)
	}
}
