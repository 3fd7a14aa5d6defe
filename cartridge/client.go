package cartridge

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// The cartridge SDK's prefixes (client_result, client_message,
// client_error): the platform shows the user only lines that carry one.
const (
	ClientResult  = "CLIENT_RESULT"
	ClientMessage = "CLIENT_MESSAGE"
	ClientError   = "CLIENT_ERROR"
)

// clientOut writes text as the cartridge SDK's client_out does: each line
// behind "KIND: ", and one empty one for no text.
func clientOut(w io.Writer, kind, text string) {
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(w, "%s: %s\n", kind, line)
	}
}

// ClientWriter turns each line written to it into a line of kind, without
// the "gearctl: " the verbs start their lines with: what a verb says
// during an action reaches the platform's user.
func ClientWriter(w io.Writer, kind string) io.Writer {
	return &clientWriter{w: w, kind: kind}
}

type clientWriter struct {
	w    io.Writer
	kind string
	buf  []byte
}

func (cw *clientWriter) Write(p []byte) (int, error) {
	cw.buf = append(cw.buf, p...)
	for {
		i := bytes.IndexByte(cw.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		clientOut(cw.w, cw.kind, strings.TrimPrefix(string(cw.buf[:i]), "gearctl: "))
		cw.buf = cw.buf[i+1:]
	}
}
