// Package environ owns environment lists: the KEY=VALUE slices that
// os.Environ returns and exec.Cmd.Env takes, where a later entry of a key
// wins, as it does for execve's callers that scan from the end.
package environ

import (
	"fmt"
	"strings"
)

// Get is key's value in env, the last one when key is there twice; "" when
// it is not there.
func Get(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// Has reports whether env sets key, to anything, "" included.
func Has(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// Set is env with key set to value once, at the end; env is not changed.
func Set(env []string, key, value string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// Check accepts KEY=VALUE with KEY a shell variable name: ASCII letters,
// digits and underscores, not starting with a digit. Space around KEY is
// allowed, as env files have it.
func Check(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok {
		return fmt.Errorf("no '=' in %q", kv)
	}
	if !isName(k) {
		return fmt.Errorf("%q is not a variable name", k)
	}
	return nil
}

func isName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Unquote removes one pair of matching single or double quotes around v,
// as shells and env files write a value.
func Unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// Names are the keys of env, for reports that must not show values.
func Names(env []string) []string {
	names := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	return names
}
