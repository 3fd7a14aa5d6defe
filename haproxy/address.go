package haproxy

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// acceptedAddresses is named in every address error so a user knows what
// to type instead.
const acceptedAddresses = "want unix:/path/to/admin.sock or host:port (e.g. 127.0.0.1:9999)"

// maxSocketPath is what fits in sun_path on Linux (108 bytes, NUL
// included): a longer path cannot be dialled at all.
const maxSocketPath = 107

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
		// Relative paths would resolve against whatever directory the
		// background supervisor runs in, not the caller's.
		if !filepath.IsAbs(rest) {
			return "", "", fmt.Errorf("%w %q: socket path is not absolute; %s", ErrBadAddress, s, acceptedAddresses)
		}
		if len(rest) > maxSocketPath {
			return "", "", fmt.Errorf("%w %q: socket path longer than %d bytes; %s", ErrBadAddress, s, maxSocketPath, acceptedAddresses)
		}
		return "unix", rest, nil
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok {
		return "", "", fmt.Errorf("%w %q: unknown scheme %q; %s", ErrBadAddress, s, scheme, acceptedAddresses)
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
