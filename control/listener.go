package control

import (
	"net"
	"os"
	"strconv"

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
