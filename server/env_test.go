package server

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gearctl/gearctl/control"
)

func TestParseReadyStatus(t *testing.T) {
	for in, want := range map[string]control.StatusRange{
		"": control.DefaultReady, "200-499": {Lo: 200, Hi: 499}, "200-399": {Lo: 200, Hi: 399}, "204": {Lo: 204, Hi: 204}, "100-599": {Lo: 100, Hi: 599},
	} {
		got, err := ParseReadyStatus(in)
		if err != nil || got != want {
			t.Errorf("ParseReadyStatus(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"99-499", "200-600", "400-200", "abc", "200-", "-300", "2OO-300"} {
		if _, err := ParseReadyStatus(in); err == nil {
			t.Errorf("ParseReadyStatus(%q) accepted", in)
		}
	}
}

func TestGearVars(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.env"), []byte("# comment\n\nexport A='quoted value'\nB=\"x=y\"\n  C = spaced\nD=\n"), 0o600)
	got, err := gearVars(dir, []string{"B=from flag", "E=1,2"}, []string{"a.env"})
	want := []string{"A=quoted value", "B=x=y", "C= spaced", "D=", "B=from flag", "E=1,2"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("gearVars = %q, %v; want %q", got, err, want)
	}
	os.WriteFile(filepath.Join(dir, "bad.env"), []byte("A=1\nno assignment\n"), 0o600)
	for _, c := range []struct {
		vars, files []string
	}{
		{[]string{"NOEQ"}, nil}, {[]string{"=x"}, nil}, {[]string{"A-B=x"}, nil}, {[]string{"Ä=x"}, nil},
		{nil, []string{"bad.env"}}, {nil, []string{"missing.env"}},
	} {
		if _, err := gearVars(dir, c.vars, c.files); err == nil {
			t.Errorf("gearVars(%q, %q) accepted", c.vars, c.files)
		}
	}
}
