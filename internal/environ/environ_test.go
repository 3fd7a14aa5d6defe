package environ

import (
	"slices"
	"testing"
)

func TestGetHasSet(t *testing.T) {
	env := []string{"A=1", "B=", "A=2"}
	if got := Get(env, "A"); got != "2" {
		t.Errorf("Get A = %q; want 2, the later entry", got)
	}
	if !Has(env, "B") || Has(env, "C") {
		t.Errorf("Has B %v, C %v; want true, false", Has(env, "B"), Has(env, "C"))
	}
	got := Set(env, "A", "3")
	if want := []string{"B=", "A=3"}; !slices.Equal(got, want) {
		t.Errorf("Set = %q; want %q", got, want)
	}
	if env[0] != "A=1" {
		t.Errorf("Set changed its argument: %q", env)
	}
}

func TestCheck(t *testing.T) {
	for _, kv := range []string{"A=x", "_a1=", " PATH =/bin", "A=b=c"} {
		if err := Check(kv); err != nil {
			t.Errorf("Check(%q) = %v; want accepted", kv, err)
		}
	}
	for _, kv := range []string{"NOEQ", "=x", "1A=x", "A-B=x", "Ä=x", "A.B=x"} {
		if err := Check(kv); err == nil {
			t.Errorf("Check(%q) accepted; want refused", kv)
		}
	}
}

func TestUnquoteNames(t *testing.T) {
	for in, want := range map[string]string{`"a b"`: "a b", `'x'`: "x", `"x'`: `"x'`, `"`: `"`, "": ""} {
		if got := Unquote(in); got != want {
			t.Errorf("Unquote(%q) = %q; want %q", in, got, want)
		}
	}
	if got := Names([]string{"A=1", "B=x=y"}); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("Names = %q", got)
	}
}
