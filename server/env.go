package server

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gearctl/gearctl/control"
	"github.com/gearctl/gearctl/internal/environ"
)

const readyStatusForms = "LO-HI within 100-599, such as 200-499 or 200-399"

// ParseReadyStatus reads --ready-status, "LO-HI" or a single code; empty is
// control.DefaultReady.
func ParseReadyStatus(value string) (control.StatusRange, error) {
	if value == "" {
		return control.DefaultReady, nil
	}
	lo, hi, ok := strings.Cut(value, "-")
	if !ok {
		hi = lo
	}
	r := control.StatusRange{Lo: atoiOr(lo, -1), Hi: atoiOr(hi, -1)}
	if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
		return r, &InputError{Flag: "--ready-status", Value: value, Msg: "not a range of HTTP statuses", Accepted: readyStatusForms}
	}
	return r, nil
}

func atoiOr(s string, bad int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return bad
	}
	return n
}

// ReadyHint is a warning for a gear that was found ready on a 4xx: the
// application runs, but the probe's request was not what it serves, which
// users should hear about rather than read later in an access log. "" for
// other statuses.
func ReadyHint(code int, path string) string {
	switch {
	case code == http.StatusBadRequest:
		return fmt.Sprintf("the application answered %s with 400 Bad Request: with Django this is usually ALLOWED_HOSTS not naming the host it is reached by (add it, or the gear's host, to ALLOWED_HOSTS)", path)
	case code == http.StatusNotFound:
		return fmt.Sprintf("the application answered %s with 404 Not Found: set --ready-path to a page it serves", path)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Sprintf("the application answered %s with %d %s: set --ready-path to a page that needs no login", path, code, http.StatusText(code))
	case code >= 400 && code < 500:
		return fmt.Sprintf("the application answered %s with %d %s; --ready-status 200-399 would not count that as ready", path, code, http.StatusText(code))
	}
	return ""
}

// gearVars are the variables --env and --env-file add, files first and
// --env last, each later one winning.
func gearVars(chdir string, vars, files []string) ([]string, error) {
	var out []string
	for _, f := range files {
		kv, err := readEnvFile(chdir, f)
		if err != nil {
			return nil, err
		}
		out = append(out, kv...)
	}
	for _, kv := range vars {
		if err := environ.Check(kv); err != nil {
			return nil, &InputError{Flag: "--env", Value: kv, Msg: err.Error(), Accepted: "KEY=VALUE, KEY a shell variable name"}
		}
		out = append(out, kv)
	}
	return out, nil
}

// readEnvFile reads KEY=VALUE lines, as systemd's EnvironmentFile= and
// docker's --env-file have them: blank lines and lines starting with # are
// skipped, "export " before a line is allowed, and a value in matching
// single or double quotes loses them.
func readEnvFile(chdir, path string) ([]string, error) {
	const accepted = "a file of KEY=VALUE lines"
	if !filepath.IsAbs(path) {
		path = filepath.Join(chdir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{Flag: "--env-file", Value: path, Msg: err.Error(), Accepted: accepted}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, _ := strings.Cut(line, "=")
		kv := strings.TrimSpace(k) + "=" + environ.Unquote(v)
		if err := environ.Check(line); err != nil {
			return nil, &InputError{Flag: "--env-file", Value: path, Msg: fmt.Sprintf("line %d: %v", n, err), Accepted: accepted}
		}
		out = append(out, kv)
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{Flag: "--env-file", Value: path, Msg: err.Error(), Accepted: accepted}
	}
	return out, nil
}
