package control

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// addr is host:port as servers and probes use it.
func addr(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// listen opens a listening TCP socket for servers that take one. The
// supervisor never accepts on it: it only keeps it open, so connections wait
// in the kernel's backlog while one server replaces another. The file is in
// blocking mode, as servers expect an inherited socket to be.
func listen(address string) (*os.File, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// portFree checks that nothing listens on address, by binding it for a
// moment.
func portFree(address string) error {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return fmt.Errorf("%s is taken by another program: %w", address, err)
	}
	return l.Close()
}

// loopback is the loopback address of host's family: probes and private
// sockets never leave the machine.
func loopback(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "::1"
	}
	return "127.0.0.1"
}

// localAddr is the address a listening socket file is bound to.
func localAddr(f *os.File) string {
	sa, err := unix.Getsockname(int(f.Fd()))
	if err != nil {
		return ""
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return addr(net.IP(a.Addr[:]).String(), a.Port)
	case *unix.SockaddrInet6:
		return addr(net.IP(a.Addr[:]).String(), a.Port)
	}
	return ""
}

// takeListener duplicates the listening socket on address that process
// pid holds — the one an adopted server was given as fd 3, wherever the
// server moved it (gunicorn dups it elsewhere) — so that restarts of an
// adopted server keep connections waiting in the same backlog as for one
// we started.
func takeListener(pid int, address string) (*os.File, error) {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pfd)
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if link, _ := os.Readlink(dir + "/" + e.Name()); err != nil || !strings.HasPrefix(link, "socket:") {
			continue
		}
		fd, err := unix.PidfdGetfd(pfd, n, 0)
		if err != nil {
			return nil, fmt.Errorf("take the listening socket of pid %d: %w", pid, err)
		}
		f := os.NewFile(uintptr(fd), "listener")
		listening, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		if err == nil && listening == 1 && localAddr(f) == canonical(address) {
			return f, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("pid %d holds no socket listening on %s", pid, address)
}

// canonical spells address as localAddr does, so the two compare.
func canonical(address string) string {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return net.JoinHostPort(host, port)
}
