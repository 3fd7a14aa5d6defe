package registry

import (
	"errors"
	"path/filepath"
	"strings"
)

// maxName bounds a name: it is a file name, and one column of a list.
const maxName = 64

// AcceptedName says what ValidName accepts, for messages.
const AcceptedName = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"

// ValidName refuses a name that is not a plain file name of the accepted
// characters: a name is an entry's file name, so "..", "/" and a leading
// dot (a hidden or temporary file) must never be one.
func ValidName(name string) error {
	if name == "" || len(name) > maxName {
		return errors.New("not a name: " + AcceptedName)
	}
	for i, r := range name {
		if !nameRune(r) || i == 0 && !alnum(r) {
			return errors.New("not a name: " + AcceptedName)
		}
	}
	return nil
}

// DefaultName is the name of a gear that was given none: the base name
// of its application directory, with every character a name cannot hold
// made '-' ("my app" is my-app), and "gear" for one that keeps nothing
// (the root directory).
func DefaultName(appDir string) string {
	base := filepath.Base(filepath.Clean(appDir))
	name := strings.Map(func(r rune) rune {
		if nameRune(r) {
			return r
		}
		return '-'
	}, base)
	name = strings.TrimLeftFunc(name, func(r rune) bool { return !alnum(r) })
	if len(name) > maxName {
		name = name[:maxName]
	}
	if name == "" {
		return "gear"
	}
	return name
}

func alnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func nameRune(r rune) bool { return alnum(r) || r == '.' || r == '_' || r == '-' }
