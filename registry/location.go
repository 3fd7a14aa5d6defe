package registry

import (
	"os"
	"path/filepath"
	"strconv"
)

// Variable names the registry directory instead of the default: for tests
// and for hosts whose runtime directory is elsewhere.
const Variable = "GEARCTL_REGISTRY"

// Location is the registry directory of user uid, with getenv reading
// the environment. Root's is /run/gearctl whatever XDG_RUNTIME_DIR says:
// a login shell has one and a system service does not, and both must see
// the same gears. Without XDG_RUNTIME_DIR another user's is
// /tmp/gearctl-UID, whose owner and mode Open checks: /tmp is everyone's.
func Location(uid int, getenv func(string) string) string {
	if dir := getenv(Variable); dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			return abs
		}
		return dir
	}
	if uid == 0 {
		return "/run/gearctl"
	}
	if run := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(run) {
		return filepath.Join(run, "gearctl")
	}
	return "/tmp/gearctl-" + strconv.Itoa(uid)
}

// Default is this process's registry.
func Default() Registry {
	return Registry{Dir: Location(os.Geteuid(), os.Getenv)}
}
