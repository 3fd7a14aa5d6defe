package server

import "fmt"

// InputError is bad input from the user: a flag, variable or file that
// cannot be used, with what would be accepted.
type InputError struct {
	Flag     string // the flag, with its variables where they apply
	Value    string
	Msg      string
	Accepted string
}

func (e *InputError) Error() string {
	s := e.Flag
	if e.Value != "" {
		s += " " + fmt.Sprintf("%q", e.Value)
	}
	s += ": " + e.Msg
	if e.Accepted != "" {
		s += "; accepted: " + e.Accepted
	}
	return s
}
