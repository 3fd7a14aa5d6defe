package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// --static under each server, with real HTTP: files with their type and
// validators, HEAD, 304, and no way out of the directory.

// staticSecret is in files outside the served directories: no answer may
// carry it.
const staticSecret = "SECRET-OUTSIDE-THE-STATIC-DIR"

const staticCSS = "body { color: #123456 }\n"

// staticApp is the example application with a served directory at
// assets (for --static /static=assets) and at wsgi/static (OpenShift's
// default), each holding site.css, a subdirectory and symlinks out of it.
// wsgi/static has a sibling named like it, wsgi/static-private, which
// uWSGI's own check would let a symlink reach.
func staticApp(t *testing.T) string {
	t.Helper()
	dir := appDir(t, map[string]string{"secret.txt": staticSecret + "\n"})
	for _, d := range []string{"assets/sub", "wsgi/static/sub", "wsgi/static-private"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "wsgi", "static-private", "secret.txt"), staticSecret+"\n")
	for _, d := range []string{"assets", "wsgi/static"} {
		writeFile(t, filepath.Join(dir, d, "site.css"), staticCSS)
	}
	for link, target := range map[string]string{
		"assets/link.css":      "../secret.txt",
		"assets/dirlink":       "..",
		"wsgi/static/link.css": "../static-private/secret.txt",
		"wsgi/static/dirlink":  "../static-private",
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestStatic serves a directory under gunicorn, uWSGI, Apache and wsgiref,
// given with --static and by OpenShift's default.
func TestStatic(t *testing.T) {
	t.Parallel()
	for _, s := range servers {
		if s.name == "mod_wsgi-express" {
			continue // its live tests are TestModWSGIExpress*
		}
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			_, err := lookExe(s.exe)
			need(t, s.name, err)
			t.Run("flag", func(t *testing.T) {
				t.Parallel()
				testStatic(t, s, "--static", "/static/=assets")
			})
			t.Run("wsgi-static", func(t *testing.T) {
				t.Parallel()
				testStatic(t, s)
			})
		})
	}
}

func testStatic(t *testing.T, s server, args ...string) {
	g, _ := startServing(t, s, staticApp(t), args...)
	port := g.port

	resp, body := rawRequest(t, port, "GET", "/static/site.css")
	if resp.StatusCode != 200 || body != staticCSS || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("GET /static/site.css: %d %s %q; want 200 text/css %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, staticCSS)
	}
	etag, modified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" && modified == "" {
		t.Errorf("GET /static/site.css has neither ETag nor Last-Modified")
	}

	resp, body = rawRequest(t, port, "HEAD", "/static/site.css")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len(staticCSS)) {
		t.Errorf("HEAD /static/site.css: %d, Content-Length %d, body %q; want 200, %d, none", resp.StatusCode, resp.ContentLength, body, len(staticCSS))
	}

	for _, validator := range [][2]string{{"If-None-Match", etag}, {"If-Modified-Since", modified}} {
		if validator[1] == "" {
			continue
		}
		resp, body = rawRequest(t, port, "GET", "/static/site.css", validator[0]+": "+validator[1])
		if resp.StatusCode != 304 || body != "" {
			t.Errorf("GET /static/site.css with %s: %s: %d %q; want 304, no body", validator[0], validator[1], resp.StatusCode, body)
		}
	}

	// Apache follows no symlink in the directory and answers 403 for one;
	// every other way out, and with every other server, is 404.
	symlink := 404
	if s.name == "apache" {
		symlink = 403
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/static/../wsgi.py", 404},
		{"/static/%2e%2e/wsgi.py", 404},
		{"/static/%2e%2e%2fwsgi.py", 404},
		{"/static/%2E%2E%2Fsecret.txt", 404},
		{"/static/%2E%2E/secret.txt", 404},
		{"/static/..%5csecret.txt", 404},
		{"/static/site.css%00", 404},
		{"/static/link.css", symlink},
		{"/static/dirlink/secret.txt", symlink},
		{"/static/nope.css", 404},
		{"/static/sub", 404},
		{"/static/sub/", 404},
		{"/static", 404},
	} {
		resp, body := rawRequest(t, port, "GET", c.path)
		if resp.StatusCode != c.want || strings.Contains(body, staticSecret) || strings.Contains(body, "def application") {
			t.Errorf("GET %s: %d %q; want %d without the files outside", c.path, resp.StatusCode, body, c.want)
		}
	}
	if resp, _ := rawRequest(t, port, "POST", "/static/site.css"); resp.StatusCode != 405 {
		t.Errorf("POST /static/site.css: %d; want 405", resp.StatusCode)
	}

	// The application keeps its own pages, /staticx included.
	for _, p := range []string{"/", "/staticx"} {
		if resp, body := rawRequest(t, port, "GET", p); resp.StatusCode != 200 || !helloRE.MatchString(body) {
			t.Errorf("GET %s: %d %q; want the application's hello", p, resp.StatusCode, body)
		}
	}
	g.stop(syscall.SIGTERM)
}

// TestStaticBadInput: a --static gearctl cannot serve is refused in one
// line, exit status 2, before anything starts.
func TestStaticBadInput(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		value string
		want  []string
	}{
		{"/s=nodir", []string{`--static "/s=nodir": no such directory `, "accepted: URL=DIR, DIR an existing directory"}},
		{"static=wsgi.py", []string{"--static", "does not start with /"}},
		{"/s/../x=.", []string{"--static", ".. segment"}},
	} {
		t.Run(c.value, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			g := runGearctl(t, appDir(t, nil), port, nil, "--static", c.value)
			assertBadInput(t, g, c.want, nil)
		})
	}
}

// rawRequest sends the request line as written, so that no client cleans
// the path, with extra header lines, and returns the response and its body.
func rawRequest(t *testing.T, port int, method, path string, header ...string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitLine))
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, addr(port))
	for _, h := range header {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp, string(body)
}
