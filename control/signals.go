package control

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// relayed are passed to the server's master as they are.
var relayed = []os.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGTTIN, unix.SIGTTOU, unix.SIGWINCH}

// RelaySignals makes this process's signals the gear's, for `run`: TERM and
// INT stop it gracefully and a second TERM or INT kills (the operator's
// Ctrl-C twice, or a container runtime's escalation), HUP reloads the server, and
// USR1, USR2, TTIN, TTOU and WINCH go to the server's master as they are.
// It returns when Run has returned.
func (s *Supervisor) RelaySignals() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, append([]os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP}, relayed...)...)
	defer signal.Stop(ch)
	stops := 0
	for {
		select {
		case <-s.quit:
			return
		case sig := <-ch:
			switch sig {
			case unix.SIGTERM, unix.SIGINT:
				stops++
				if stops == 1 {
					s.log.Info("got {signal}: stopping", "signal", sig.String())
					s.Stop()
				} else {
					s.log.Warn("got {signal} again: killing", "signal", sig.String())
					s.Kill()
				}
			case unix.SIGHUP:
				go func() {
					if err := s.Reload(context.Background()); err != nil {
						s.log.Warn("reload: " + err.Error())
					}
				}()
			default:
				if err := s.Signal(sig.(syscall.Signal)); err != nil {
					s.log.Warn("relay {signal}: {err}", "signal", sig.String(), "err", err)
				}
			}
		}
	}
}
