package test

import (
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// statusSchema is the checked-in schema of status --json, compiled once,
// with "format" asserted (times are RFC 3339).
var statusSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	return c.Compile("../cmd/gearctl/status.schema.json")
})

// checkStatusJSON fails t when out, what a status --json printed, is not
// what status.schema.json says it prints: a field the schema (and so the
// README's list) does not know, a null list, a time that is not RFC 3339.
func checkStatusJSON(t testing.TB, out string) {
	t.Helper()
	sch, err := statusSchema()
	if err != nil {
		t.Fatalf("status.schema.json: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("status --json does not match status.schema.json: %v\n%s", err, out)
	}
}
