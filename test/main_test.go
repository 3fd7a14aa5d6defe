// Package test holds gearctl's end-to-end tests: the built binary drives
// real WSGI servers (gunicorn, uWSGI, Apache with mod_wsgi, wsgiref) with
// real HTTP and real signals, and the tests assert what a user sees: lines
// of output, status codes, PIDs in /proc, exit statuses, processes left.
package test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	// gearctlBin is the binary under test, built once by TestMain.
	gearctlBin string
	// scratch holds every directory the tests create (see tempDir).
	scratch string
	// helloSource is the bundled example application, examples/hello/wsgi.py.
	helloSource string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gearctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Apache run by root serves as an unprivileged account, which must be
	// able to enter the application and gear directories below this one.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	scratch = dir

	gearctlBin = filepath.Join(dir, "gearctl")
	build := exec.Command("go", "build", "-o", gearctlBin, "github.com/gearctl/gearctl/cmd/gearctl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gearctl:", err)
		return 1
	}
	src, err := os.ReadFile(filepath.Join("..", "examples", "hello", "wsgi.py"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	helloSource = string(src)

	// The tests spend their time waiting on servers, not computing: run
	// more of them at once than the default of one per CPU, unless
	// -parallel was given.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "8")
	}
	return m.Run()
}
