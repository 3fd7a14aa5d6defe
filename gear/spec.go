package gear

import (
	"encoding/json"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/server"
)

// Resolve checks settings and builds their Spec, on port instead of the
// settings' own when port is not 0 (the settings keep theirs). Bad input
// is a *server.InputError, or another error naming what was wrong. The
// settings come back with what was automatic pinned (directory,
// interpreter, server), as the Spec records them: later restarts and an
// adopting supervisor run what was checked here, wherever they are called
// from.
func Resolve(s server.Settings, port int) (control.Spec, server.Settings, error) {
	run := s
	if port != 0 {
		run.Port = port
	}
	cfg, err := run.Resolve()
	var spec control.Spec
	if err == nil {
		spec, err = cfg.Spec()
	}
	if err != nil {
		return spec, s, err
	}
	s.Chdir, s.Python = cfg.Chdir, cfg.Python
	if !cfg.App.Program {
		// A program app.py is left to detection: once the file imports as
		// WSGI, the next restart serves it on a WSGI server.
		s.Server = cfg.Server
	}
	spec.Settings, err = json.Marshal(s)
	return spec, s, err
}
