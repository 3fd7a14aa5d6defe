package server

import (
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"

	"github.com/gearctl/gearctl/control"
)

//go:embed apache_httpd.conf.tmpl
var apacheConfText string

var apacheConf = template.Must(template.New("httpd.conf").
	Funcs(template.FuncMap{"q": apacheQuote}).
	Parse(apacheConfText))

// apacheExe is the httpd binary: apache2 on Debian, httpd elsewhere; both
// live in sbin, which an unprivileged PATH often lacks.
func apacheExe(c Config) (string, error) {
	for _, name := range []string{"apache2", "httpd"} {
		if p, err := lookExe(c, name); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
			if p := filepath.Join(dir, name); isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("apache2 or httpd: %w (not on PATH nor in /usr/sbin)", ErrNotInstalled)
}

// apacheModuleDir is the directory holding mod_wsgi.so: the one apxs
// reports when apxs is installed, else the distributions' usual places.
func apacheModuleDir(c Config, exe string) (string, error) {
	var dirs []string
	for _, apxs := range []string{"apxs", "apxs2"} {
		if p, err := lookExe(c, apxs); err == nil {
			if out, err := exec.Command(p, "-q", "LIBEXECDIR").Output(); err == nil {
				dirs = append(dirs, strings.TrimSpace(string(out)))
			}
		}
	}
	dirs = append(dirs,
		"/usr/lib/apache2/modules", // Debian, Ubuntu
		"/usr/lib64/httpd/modules", // Fedora, RHEL
		"/usr/lib/httpd/modules",
		"/usr/lib/apache2",                                        // Alpine
		filepath.Join(filepath.Dir(filepath.Dir(exe)), "modules"), // a source build
	)
	for _, d := range dirs {
		if d != "" && fileExists(filepath.Join(d, "mod_wsgi.so")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("mod_wsgi.so: %w (Debian: apt-get install libapache2-mod-wsgi-py3)", ErrNotInstalled)
}

func apacheInstalled(c Config) bool {
	exe, err := apacheExe(c)
	if err != nil {
		return false
	}
	_, err = apacheModuleDir(c, exe)
	return err == nil
}

type apacheModule struct{ Name, Path string }

// apacheConfData fills apache_httpd.conf.tmpl.
type apacheConfData struct {
	Root, PidFile, Mutex, SocketPrefix string
	Modules                            []apacheModule
	Listen, ServerName                 string
	User, Group                        string
	StopTimeout                        string
	Processes, Threads                 int
	Home, PythonPath, PythonHome       string
	Script, Callable                   string
	// Static is the section serving --static (apacheStaticSection).
	Static string
}

func buildApache(c Config, s *control.Spec) error {
	exe, err := apacheExe(c)
	if err != nil {
		return err
	}
	modDir, err := apacheModuleDir(c, exe)
	if err != nil {
		return err
	}
	// One server root per port: during a restart that moves the gear to
	// another port (to hand haproxy's traffic over), two Apaches run side
	// by side, and each refuses to start on the other's PidFile.
	// mod_wsgi runs the application in the Python it is built for, with
	// python-home naming the virtualenv (or installation) to use.
	py, err := embedFor(c, "mod_wsgi", embeddedVersion(filepath.Join(modDir, "mod_wsgi.so")))
	if err != nil {
		return err
	}
	root := filepath.Join(c.Dir, "apache-"+strconv.Itoa(c.Port))
	for _, p := range []string{root, c.Chdir, c.App.File, py.home} {
		if _, err := apacheQuote(p); err != nil {
			return err
		}
	}
	// mod_wsgi names its sockets PREFIX.PID.GENERATION.N.sock, and a unix
	// socket path is at most 107 bytes: a long --dir fails at the first
	// request, with only a log line to say why.
	prefix := filepath.Join(root, "wsgi")
	if len(prefix)+len(".4194304.999.99.sock") > 107 {
		return fmt.Errorf("--dir %s is too long: mod_wsgi's unix sockets under it would pass the 107-byte limit of a socket path", c.Dir)
	}
	workers, threads := workersThreads(c)
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	d := apacheConfData{
		Root:         root,
		PidFile:      filepath.Join(root, "httpd.pid"),
		Mutex:        "file:" + root,
		SocketPrefix: prefix,
		Modules:      apacheModules(modDir),
		Listen:       addr,
		ServerName:   addr,
		StopTimeout:  seconds(c.StopTimeout),
		Processes:    workers,
		Threads:      threads,
		Home:         c.Chdir,
		PythonPath:   c.Chdir,
		PythonHome:   py.home,
		Script:       c.App.File,
	}
	if dir := fileAppDir(c); dir != "" {
		d.PythonPath += ":" + dir
	}
	if c.App.File != "" && appCallable(c.App) != "application" {
		d.Callable = appCallable(c.App)
	}
	if d.Static, err = apacheStaticSection(c, modDir); err != nil {
		return err
	}
	// mod_wsgi runs script files only; a module:callable goes through the
	// shim, which is a script exposing "application".
	var shim map[string]string
	if c.App.Module != "" {
		d.Script = shimPath(root)
		shim = map[string]string{d.Script: shimSource(c.App)}
	}

	if a := c.User; a != nil {
		d.User, d.Group = a.User, a.Group
		if err := a.prepare(c, root, s); err != nil {
			return err
		}
		// An installation's prefix as the home must be readable too (the
		// virtualenv was checked with the application), or every request
		// fails on import.
		if py.home != c.Venv {
			if err := a.check(py.home, 5); err != nil {
				return fmt.Errorf("%w; choose an interpreter %s can read", err, a.User)
			}
		}
		// Not Files, which are private to root: the account reads it.
		s.SharedFiles, s.SharedGroup = shim, a.GIDs[0]
	} else {
		for p, content := range shim {
			s.Files[p] = content
		}
	}

	var conf strings.Builder
	if err := apacheConf.Execute(&conf, d); err != nil {
		return err
	}
	s.Files[filepath.Join(root, "httpd.conf")] = conf.String()
	s.Path = exe
	s.Interpreter = py.interpreter
	// -DFOREGROUND: the spawned PID is the Apache parent for its whole
	// life, no daemonizing fork.
	s.Args = []string{exe, "-f", filepath.Join(root, "httpd.conf"), "-DFOREGROUND"}
	// Apache binds its own socket: it cannot take one as a file descriptor.
	s.TakesFD = false
	// TERM would kill in-flight requests. WINCH is Apache's graceful stop;
	// USR1 its graceful restart (same parent PID, children and mod_wsgi
	// daemon processes replaced, code re-imported).
	s.Signals = control.Signals{Stop: syscall.SIGWINCH, Reload: syscall.SIGUSR1}
	return nil
}

// apacheModules are the modules this configuration needs, by absolute
// path. Each is loaded only when not compiled in (Debian builds unixd and
// log_config in); an MPM that is compiled in needs no file.
func apacheModules(dir string) []apacheModule {
	var mods []apacheModule
	for _, mpm := range []string{"event", "worker"} {
		if p := filepath.Join(dir, "mod_mpm_"+mpm+".so"); fileExists(p) {
			mods = append(mods, apacheModule{"mpm_" + mpm + "_module", p})
			break
		}
	}
	for _, m := range []string{"unixd", "authz_core", "log_config"} {
		if p := filepath.Join(dir, "mod_"+m+".so"); fileExists(p) {
			mods = append(mods, apacheModule{m + "_module", p})
		}
	}
	return append(mods, apacheModule{"wsgi_module", filepath.Join(dir, "mod_wsgi.so")})
}

// apacheQuote quotes a configuration argument. Apache has no escape for
// every character, so those it would misread are refused at execution.
func apacheQuote(s string) (string, error) {
	if strings.ContainsAny(s, "\"\\\n\r") || strings.Contains(s, "${") {
		return "", fmt.Errorf("%q cannot be written in an Apache configuration (quote, backslash, newline or ${)", s)
	}
	return `"` + s + `"`, nil
}

// prepare has s make what the account must reach reachable at spawn.
// Apache's children connect to mod_wsgi's sockets in dir, and the daemon
// processes read the shims there: dir is to be enterable (0711, root's:
// the account must not be able to replace the configuration root reads),
// and so is the gear directory above it (see reach).
func (a *Account) prepare(c Config, dir string, s *control.Spec) error {
	if err := a.reach(c, s); err != nil {
		return err
	}
	if s.Dirs == nil {
		s.Dirs = map[string]os.FileMode{}
	}
	s.Dirs[dir] = 0o711
	return nil
}
