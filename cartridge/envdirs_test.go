package cartridge

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWithEnvDirs(t *testing.T) {
	home, py := t.TempDir(), t.TempDir()
	for path, content := range map[string]string{
		home + "/.env/A":               "gear\n",
		home + "/.env/B":               "export B='old format'\n",
		home + "/.env/T.erb":           "<%= template %>",
		home + "/.env/user_vars/A":     "user\n",
		home + "/.env/user_vars/SET":   "user\n",
		py + "/env/C":                  "cartridge\n",
		py + "/env/OPENSHIFT_X/nested": "a directory is not a variable",
	} {
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(content), 0o600)
	}
	env := []string{"OPENSHIFT_HOMEDIR=" + home, "OPENSHIFT_PYTHON_DIR=" + py, "SET=caller"}
	got := WithEnvDirs(env)
	want := append(env, "A=user", "B=old format", "C=cartridge")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("WithEnvDirs = %q; want %q", got, want)
	}
}
