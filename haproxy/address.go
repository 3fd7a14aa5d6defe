package haproxy

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// acceptedAddresses is named in every address error so a user knows what
// to type instead.
const acceptedAddresses = "want unix:/path/to/admin.sock or host:port (e.g. 127.0.0.1:9999)"

// parseAddress turns "unix:/path" or "host:port" into a network and an
// address for net.Dial. A bare path is refused rather than guessed at: the
// flag's contract is the explicit unix: form, and "localhost:9999" must
// never be mistaken for a file name.
func parseAddress(s string) (network, address string, err error) {
	if rest, ok := strings.CutPrefix(s, "unix:"); ok {
		if rest == "" {
			return "", "", fmt.Errorf("%w %q: empty socket path; %s", ErrBadAddress, s, acceptedAddresses)
		}
		if strings.ContainsAny(rest, "\x00\n") {
			return "", "", fmt.Errorf("%w %q: control character in socket path; %s", ErrBadAddress, s, acceptedAddresses)
		}
		return "unix", rest, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", "", fmt.Errorf("%w %q: %s", ErrBadAddress, s, acceptedAddresses)
	}
	if host == "" {
		return "", "", fmt.Errorf("%w %q: missing host; %s", ErrBadAddress, s, acceptedAddresses)
	}
	if strings.ContainsAny(host, " \t\n\x00/") {
		return "", "", fmt.Errorf("%w %q: bad host; %s", ErrBadAddress, s, acceptedAddresses)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("%w %q: port must be 1-65535; %s", ErrBadAddress, s, acceptedAddresses)
	}
	return "tcp", net.JoinHostPort(host, strconv.Itoa(n)), nil
}
