package cartridge

import (
	"os"
	"os/exec"
	"path/filepath"
)

// findPython resolves --python: a virtualenv directory, an interpreter, or
// python3 on PATH when empty.
func findPython(value string) (python, venv string, err error) {
	const accepted = "a virtualenv directory or a Python interpreter"
	if value == "" {
		p, err := exec.LookPath("python3")
		if err != nil {
			return "", "", &InputError{Flag: "--python", Msg: "no python3 on PATH", Accepted: accepted}
		}
		return p, "", nil
	}
	if fi, err := os.Stat(value); err == nil && fi.IsDir() {
		venv, _ = filepath.Abs(value)
		python = filepath.Join(venv, "bin", "python")
		if !isFile(python) {
			return "", "", &InputError{Flag: "--python", Value: value, Msg: "a directory without bin/python", Accepted: accepted}
		}
		return python, venv, nil
	}
	p, err := exec.LookPath(value)
	if err != nil {
		return "", "", &InputError{Flag: "--python", Value: value, Msg: "not found", Accepted: accepted}
	}
	p, _ = filepath.Abs(p)
	// An interpreter inside a virtualenv brings the virtualenv with it.
	if root := filepath.Dir(filepath.Dir(p)); isFile(filepath.Join(root, "pyvenv.cfg")) {
		venv = root
	}
	return p, venv, nil
}
