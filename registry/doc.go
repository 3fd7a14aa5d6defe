// Package registry owns the host's registry of gears: one directory per
// user in which every running supervisor has an entry — the gear's name,
// its state, application and log directories, and the supervisor's
// pidfile.Record, and the state the supervisor last published (Publish,
// at each change of state) — so that a gear can be found by its name or
// its application directory from anywhere, and `gearctl list` can show
// them all without waking every supervisor.
//
// Where it is (Location): $GEARCTL_REGISTRY when set; /run/gearctl for
// root; $XDG_RUNTIME_DIR/gearctl for other users; without
// XDG_RUNTIME_DIR, /tmp/gearctl-UID, made 0700 by the first gearctl of
// that user (as tmux does with /tmp/tmux-UID).
//
// Invariants:
//   - The registry never lies: an entry names its supervisor by a
//     pidfile.Record, so a supervisor that is gone (SIGKILL, a crash) is
//     told apart from a live one, even once its PID is reused; such an
//     entry is reported Gone until Tidy removes it.
//   - Nothing another user could have written is followed: a registry
//     directory that is a symlink, or that another user owns or may write,
//     and an entry that is not a regular file of this user (or root) that
//     only they may write, are refused with pidfile.ErrUntrusted.
//   - At most one live gear of the user has a name: Register refuses a
//     name that a live supervisor of another state directory holds, under
//     the registry's lock, so two concurrent starts cannot both take it.
//   - A reader never sees a partly written entry: entries are replaced by
//     rename (pidfile.WriteFile).
//
// An entry is the file NAME.json, mode 0600:
//
//	{"name":"hello","dir":"/srv/hello/.gearctl","app_dir":"/srv/hello",
//	 "log_dir":"/srv/hello/.gearctl/logs",
//	 "supervisor":{"PID":4240,"StartTime":1795773687210,"StartTicks":22012,"BootID":"0f3c…"},
//	 "state":{"state":"ready","server":"gunicorn","pid":4242,"listen":"127.0.0.1:8080",
//	          "started_at":"2026-12-08T00:55:48Z","restarts":0,"at":"2026-12-08T00:55:48.75Z"}}
package registry
