// Package testenv owns what tests need from the machine: a real component
// (a server, haproxy, a tool, root) that a test cannot run without. In CI
// (CI=true) a missing one fails the test, since a skipped test there would
// pass for a tested one; elsewhere it skips, and scripts/test lists every
// skip with its reason.
package testenv

import (
	"os"
	"testing"
)

// Need stops t when err says the component what is missing (err says what
// and how to install it): it fails in CI and skips elsewhere. A nil err
// lets the test go on.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is missing: %v", what, err)
	}
	t.Skipf("skipped: %s is missing: %v", what, err)
}
