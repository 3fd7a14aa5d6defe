package control

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/gearctl/gearctl/pidfile"
)

// A handoff is the spec a start resolved, passed to the background
// supervisor it launches as a file in the gear's directory rather than as
// argv: the supervisor runs exactly what was checked, without parsing and
// resolving the settings again, and the --env values in it are in a 0600
// file in a 0700 directory, not in a command line every user's ps shows.
// Each start has a file of its own, named by a random token, so that two
// starts at once cannot read each other's.

// handoffToken is the form of a handoff's token.
var handoffToken = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (g Gear) handoffFile(token string) string { return g.path("handoff-" + token + ".json") }

// Handoff writes spec for the background supervisor and returns the token
// that names it (run --handoff TOKEN), and drop, which removes the file
// if the supervisor never took it.
func (g Gear) Handoff(spec Spec) (token string, drop func(), err error) {
	b := make([]byte, 16)
	rand.Read(b)
	token = hex.EncodeToString(b)
	data, err := json.Marshal(spec)
	if err != nil {
		return "", nil, err
	}
	path := g.handoffFile(token)
	return token, func() { os.Remove(path) }, writeFileAtomic(path, string(data), 0o600, -1)
}

// TakeHandoff reads and removes the spec a start left under token. The
// file must be this user's, not a symlink, and writable by no one else.
func (g Gear) TakeHandoff(token string) (Spec, error) {
	if !handoffToken.MatchString(token) {
		return Spec{}, fmt.Errorf("handoff %q: not a token start made", token)
	}
	path := g.handoffFile(token)
	f, err := pidfile.OpenTrusted(path)
	if err != nil {
		return Spec{}, err
	}
	defer f.Close()
	defer os.Remove(path)
	var spec Spec
	if err := json.NewDecoder(io.LimitReader(f, maxSpec)).Decode(&spec); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return spec, spec.validate()
}
