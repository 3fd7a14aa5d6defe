package cartridge

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestApache(t *testing.T) { testServer(t, "apache") }

// The generated configuration passes Apache's own check with spaces in
// every path, and, as root, names the unprivileged account.
func TestApacheConfig(t *testing.T) {
	t.Parallel()
	c := testConfig(t, "apache")
	if !Installed("apache", c) {
		t.Skip("apache2 with mod_wsgi is not installed")
	}
	spaced := filepath.Join(c.Chdir, "my app")
	if err := os.Mkdir(spaced, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hello.py", "wsgi.py"} {
		if err := os.Rename(filepath.Join(c.Chdir, name), filepath.Join(spaced, name)); err != nil {
			t.Fatal(err)
		}
	}
	c.Chdir = spaced
	c.App = App{File: filepath.Join(spaced, "wsgi.py"), Callable: "application"}
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.Dir = filepath.Join(c.Dir, "gear dir")
	if err := os.Mkdir(c.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c.Port = 8082
	spec, err := c.Spec()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(c.Dir, "apache-8082", "httpd.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(spec.Files[conf]), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(spec.Path, "-t", "-f", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Errorf("apache2 -t: %v\n%s\n%s", err, out, spec.Files[conf])
	}
	if strings.Contains(spec.Files[conf], "WSGICallableObject") {
		t.Errorf("WSGICallableObject for the default callable")
	}
	if got := strings.Contains(spec.Files[conf], "\nUser nobody\n"); got != (os.Geteuid() == 0) {
		t.Errorf("User nobody in the configuration: %v, running as root: %v", got, os.Geteuid() == 0)
	}
}

// As root, an application nobody can read is refused before anything
// starts, with a message that says who cannot read what.
func TestApacheUnreadableApp(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root switches Apache to another account")
	}
	c := testConfig(t, "apache")
	if !Installed("apache", c) {
		t.Skip("apache2 with mod_wsgi is not installed")
	}
	private := filepath.Join(c.Chdir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	c.Chdir = private
	c.App = App{Module: "web"}
	_, err := c.Spec()
	if err == nil || !strings.Contains(err.Error(), "nobody") || !strings.Contains(err.Error(), private) {
		t.Errorf("err = %v, want one naming nobody and %s", err, private)
	}
}
