package gear

import (
	"errors"
	"net"
	"strconv"
	"syscall"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/server"
)

// movedPort is the port a gear registered with haproxy restarts on when the
// listening socket cannot pass from the old server to the new one (either
// binds its own port): the new instance starts beside the old one on
// another port, haproxy takes it in, then drains the old one. The gear
// moves between its home port and a free one; 0 means no move.
func movedPort(rep control.Report, base, set server.Settings, spec control.Spec) int {
	if rep.Balancer == nil || rep.Balancer.Backend == "" || set.Port != base.Port || set.Host != base.Host {
		return 0
	}
	if rep.SharesSocket && spec.TakesFD && spec.ProbeFD {
		return 0
	}
	if portOf(rep.Listen) != set.Port {
		return set.Port // back home
	}
	return freePort(set.Host)
}

// moveTries bounds the ports a moving restart tries.
const moveTries = 3

// onFreePort runs restart on port (0: the gear does not move). A free port
// is picked by binding and closing it, and the new server binds it
// itself, later: another process may take it in between. When the new
// server exited and its port is taken now, restart runs again on a fresh
// port, up to moveTries in all; any other failure is the result.
func onFreePort(host string, port int, restart func(port int) error) error {
	for try := 1; ; try++ {
		err := restart(port)
		var fe *control.FailError
		if port == 0 || try == moveTries || !errors.As(err, &fe) || fe.Reason != control.FailExited || !taken(host, port) {
			return err
		}
		if port = freePort(host); port == 0 {
			return err
		}
	}
}

// freePort is a port on host that nothing listens on now; 0 when none
// can be had.
func freePort(host string) int {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// taken reports whether another socket holds host:port, so that a server
// cannot bind it.
func taken(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err == nil {
		l.Close()
	}
	return errors.Is(err, syscall.EADDRINUSE)
}

func portOf(address string) int {
	_, p, _ := net.SplitHostPort(address)
	n, _ := strconv.Atoi(p)
	return n
}
