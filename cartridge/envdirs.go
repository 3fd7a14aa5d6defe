package cartridge

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/gearctl/gearctl/internal/environ"
)

// OpenShift v2 keeps a gear's variables as directories of files, one file
// per variable named after it and holding its value: the gear's .env/, each
// cartridge's env/, and the variables users set (`rhc env set`) in
// .env/user_vars/. Its node loads them in that order, later ones winning,
// and runs bin/control with the result.

// envDirs are the env directories env names, in OpenShift's load order.
func envDirs(env []string) []string {
	var dirs []string
	home := environ.Get(env, "OPENSHIFT_HOMEDIR")
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".env"))
	}
	if d := environ.Get(env, "OPENSHIFT_PYTHON_DIR"); d != "" {
		dirs = append(dirs, filepath.Join(d, "env"))
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".env", "user_vars"))
	}
	return dirs
}

// WithEnvDirs is env with the variables of the gear's OpenShift env
// directories added, for a `control` run by hand rather than by the node.
// A variable env already sets keeps its value: whoever called control
// named it on purpose. Files that are not a variable name (templates such
// as NAME.erb, which the platform renders into the gear's .env/) are
// passed over.
func WithEnvDirs(env []string) []string {
	vars := map[string]string{}
	var order []string
	for _, dir := range envDirs(env) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // not there on this gear
		}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || environ.Check(name+"=") != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			if _, ok := vars[name]; !ok {
				order = append(order, name)
			}
			vars[name] = envFileValue(name, string(b))
		}
	}
	out := append([]string(nil), env...)
	for _, name := range order {
		if !environ.Has(env, name) {
			out = append(out, name+"="+vars[name])
		}
	}
	return out
}

// envFileValue is a variable file's value: its content without the final
// newline, or, in the older format OpenShift also wrote, what follows
// "export NAME=" with its quotes removed.
func envFileValue(name, content string) string {
	v := strings.TrimSuffix(content, "\n")
	if rest, ok := strings.CutPrefix(v, "export "+name+"="); ok {
		return environ.Unquote(rest)
	}
	return v
}
