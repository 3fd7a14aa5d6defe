package server

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gearctl/gearctl/control"
)

// buildCommand runs --command: any command line, split into words like a
// POSIX shell would but never run by one, so the spawned PID is the server
// itself and signals reach it. In each word {host}, {port}, {fd} and {app}
// are replaced, quoted or not; a substituted value stays inside its word.
// The server takes the supervisor's socket when {fd} appears (it becomes 3).
// It is assumed to stop gracefully on TERM and reload on HUP, as most do.
func buildCommand(c Config, s *control.Spec) error {
	words, err := splitCommand(c.Command)
	if err != nil {
		return &InputError{Flag: "--command", Value: c.Command, Msg: err.Error(),
			Accepted: "a command line, words quoted with ' \" or \\ as in a shell (none is run)"}
	}
	takesFD := slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, "{fd}") })
	usesApp := slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, "{app}") })
	if usesApp && c.App.File == "" && c.App.Module == "" {
		return &InputError{Flag: "--command", Value: c.Command, Msg: "uses {app} but there is no application", Accepted: "--app " + appForms}
	}
	r := strings.NewReplacer(
		"{host}", c.Host,
		"{port}", strconv.Itoa(c.Port),
		"{fd}", "3",
		"{app}", appArg(c.App),
	)
	for i, w := range words {
		words[i] = r.Replace(w)
	}
	exe, err := lookExe(c, words[0])
	if err != nil {
		return &InputError{Flag: "--command", Value: c.Command, Msg: err.Error(),
			Accepted: "a program in the virtualenv, on PATH, or a path"}
	}
	s.Path = exe
	s.Args = words
	s.TakesFD = takesFD
	s.Signals = termHup
	return nil
}

// appArg is App in --app's own form: FILE, FILE:callable for another
// callable than "application", module:callable.
func appArg(a App) string {
	switch {
	case a.Module != "":
		return a.Module + ":" + appCallable(a)
	case a.Callable != "" && a.Callable != "application":
		return a.File + ":" + a.Callable
	default:
		return a.File
	}
}

// splitCommand splits line into words with the POSIX shell's quoting
// rules and nothing else: whitespace separates words; 'single quotes' keep
// everything literal; "double quotes" keep everything but \" \\ \$ \` and
// \newline; a backslash outside quotes takes the next character literally
// (and drops a newline). No variables, globs, comments or operators: $, *,
// #, | and ; are ordinary characters.
func splitCommand(line string) ([]string, error) {
	var (
		words []string
		word  strings.Builder
		in    bool // inside a word (an empty '' is a word)
	)
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				words = append(words, word.String())
				word.Reset()
				in = false
			}
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("it ends with a backslash")
			}
			i++
			in = true
			if rs[i] != '\n' {
				word.WriteRune(rs[i])
			}
		case r == '\'':
			end := slices.Index(rs[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			word.WriteString(string(rs[i+1 : i+1+end]))
			i += end + 1
			in = true
		case r == '"':
			closed := false
			for i++; i < len(rs); i++ {
				if rs[i] == '"' {
					closed = true
					break
				}
				if rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`\n", rs[i+1]) {
					i++
					if rs[i] == '\n' {
						continue
					}
				}
				word.WriteRune(rs[i])
			}
			if !closed {
				return nil, errors.New("unterminated \" quote")
			}
			in = true
		default:
			word.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, word.String())
	}
	if len(words) == 0 {
		return nil, errors.New("it is empty")
	}
	return words, nil
}
