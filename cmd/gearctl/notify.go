package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/gearctl/gearctl/control"
	"golang.org/x/sys/unix"
)

// notifier tells systemd (Type=notify) about each state change; nil when
// not started by systemd. MAINPID is the supervisor: it is what systemd must
// watch and signal.
func notifier(log *slog.Logger) func(control.Status) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return nil
	}
	return func(st control.Status) {
		status := fmt.Sprintf("STATUS=%s %s", st.Server, st.State)
		if st.PID != 0 {
			status += fmt.Sprintf(" pid %d", st.PID)
		}
		if st.Detail != "" {
			status += ": " + st.Detail
		}
		msg := status
		switch st.State {
		case control.Ready:
			msg = fmt.Sprintf("READY=1\nMAINPID=%d\n%s", st.SupervisorPID, status)
		case control.Reloading:
			var ts unix.Timespec
			unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
			msg = fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d\n%s", ts.Nano()/1000, status)
		case control.Stopping:
			msg = "STOPPING=1\n" + status
		}
		if _, err := daemon.SdNotify(false, msg); err != nil {
			log.Warn("sd_notify: " + err.Error())
		}
	}
}
