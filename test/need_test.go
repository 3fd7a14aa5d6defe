package test

import (
	"os"
	"testing"
)

// need stops a test whose real component is missing (err, saying what and
// how to install it): in CI (CI=true) it fails, since a skipped test there
// would pass for a tested one; elsewhere it skips, and scripts/test lists
// every skip with its reason.
func need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is missing: %v", what, err)
	}
	t.Skipf("skipped: %s is missing: %v", what, err)
}
