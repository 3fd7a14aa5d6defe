package server

import (
	"fmt"
	"regexp"
	"strings"
)

// pySource is what reading a Python file as text tells about it, without
// importing it: importing would run it, and the file in question may
// exec() another program or start a server. It is the module's structure
// by indentation only — enough to tell a WSGI module from a program, and to
// see which names its module level binds.
type pySource struct {
	// bound are the names the module level binds by def, class, assignment
	// or from-import, in order, each once; outside def and class bodies and
	// outside the __main__ block, which an import does not run.
	bound []string
	// star: a module-level `from M import *` may bind any name.
	star bool
	// starts is the first module-level call that starts a server or
	// replaces the process (os.exec*, serve_forever, make_server, .run(,
	// run_simple); mainStarts, the first in the __main__ block.
	starts, mainStarts *pyCall
	// hasMain: there is a module-level `if __name__ == "__main__":`.
	hasMain bool
}

// pyCall is a call found in the source, as written, and the line it is on.
type pyCall struct {
	what string
	line int
}

func (c pyCall) String() string { return fmt.Sprintf("%s, line %d", c.what, c.line) }

func (p pySource) binds(name string) bool {
	for _, n := range p.bound {
		if n == name {
			return true
		}
	}
	return false
}

// pyLine is one logical line: physical lines joined where brackets are
// open or a backslash ends them, comments dropped, and each string literal
// replaced by "" — or by "TEXT" when its text is a plain dotted name, so
// that `__name__ == '__main__'` can still be recognized.
type pyLine struct {
	num    int // the line its first physical line is
	indent int // columns before its first token, a tab to the next multiple of 8
	code   string
}

// pyLines splits src into logical lines. It never fails: text that is not
// Python still gives lines, just meaningless ones.
func pyLines(src string) []pyLine {
	var (
		lines []pyLine
		code  strings.Builder
		num   = 1
		cur   = pyLine{indent: -1} // indent -1: no token yet
		col   int
		depth int
	)
	emit := func() {
		if cur.indent >= 0 {
			cur.code = strings.TrimSpace(code.String())
			lines = append(lines, cur)
		}
		code.Reset()
		cur, col, depth = pyLine{indent: -1}, 0, 0
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if cur.indent < 0 {
			switch c {
			case ' ':
				col++
				continue
			case '\t':
				col = col/8*8 + 8
				continue
			case '\r', '\f':
				continue
			case '\n':
				num++
				col = 0
				continue
			}
			if c != '#' {
				cur.indent, cur.num = col, num
			}
		}
		switch {
		case c == '#':
			for i+1 < len(src) && src[i+1] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i++
			num++
			code.WriteByte(' ')
		case c == '\n':
			num++
			if depth > 0 {
				code.WriteByte(' ')
				continue
			}
			emit()
		case c == '\'' || c == '"':
			end, lines := stringEnd(src, i)
			code.WriteString(literal(src[i:end]))
			num += lines
			i = end - 1
		case c == '(' || c == '[' || c == '{':
			depth++
			code.WriteByte(c)
		case c == ')' || c == ']' || c == '}':
			depth = max(depth-1, 0)
			code.WriteByte(c)
		default:
			code.WriteByte(c)
		}
	}
	emit()
	return lines
}

// stringEnd returns the index just past the string literal that starts at
// src[i] (a quote) and how many newlines it holds. A backslash always keeps
// the next character from ending it, raw strings included, as in Python; an
// unterminated single-quoted string ends at its line's end.
func stringEnd(src string, i int) (end, newlines int) {
	q := src[i : i+1]
	if strings.HasPrefix(src[i:], q+q+q) {
		q += q + q
	}
	for j := i + len(q); j < len(src); j++ {
		switch {
		case src[j] == '\\':
			if j+1 < len(src) && src[j+1] == '\n' {
				newlines++
			}
			j++
		case strings.HasPrefix(src[j:], q):
			return j + len(q), newlines
		case src[j] == '\n':
			if len(q) == 1 {
				return j, newlines
			}
			newlines++
		}
	}
	return len(src), newlines
}

var dottedText = regexp.MustCompile(`^['"][A-Za-z0-9_.]*['"]$`)

// literal is how a string literal appears in a pyLine's code.
func literal(s string) string {
	if dottedText.MatchString(s) {
		return `"` + s[1:len(s)-1] + `"`
	}
	return `""`
}

var (
	mainHeader = regexp.MustCompile(`^if\s*\(?\s*(__name__\s*==\s*"__main__"|"__main__"\s*==\s*__name__)\s*\)?\s*:`)
	defHeader  = regexp.MustCompile(`^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)`)
	// starter finds the calls that make a module a program: each
	// alternative's group 1 is what is named.
	starter = regexp.MustCompile(`\b((?:os\s*\.\s*)?exec(?:l|le|lp|lpe|v|ve|vp|vpe))\s*\(` +
		`|\b(serve_forever)\s*\(` +
		`|\b(make_server)\s*\(` +
		`|\b(run_simple)\s*\(` +
		`|((?:[A-Za-z_]\w*\s*\.\s*)*[A-Za-z_]\w*\s*\.\s*run)\s*\(`)
	spaces = regexp.MustCompile(`\s+`)
)

// scanPython reads src as Python text. A line at column 0 starts a
// module-level statement; what is indented below a def, class or
// `if __name__ == "__main__":` belongs to it. Other indented code (under
// if, try, with) runs at import and counts as module level.
func scanPython(src string) pySource {
	var p pySource
	defIndent := -1 // the indent of the def or class whose body this is
	inMain := false
	for _, l := range pyLines(src) {
		if defIndent >= 0 && l.indent > defIndent {
			continue
		}
		defIndent = -1
		code := l.code
		if l.indent == 0 {
			inMain = false
			if m := mainHeader.FindString(code); m != "" {
				inMain, p.hasMain = true, true
				code = code[len(m):] // a body on the header's own line
			}
		}
		if call := findStarter(code, l.num); call != nil {
			switch {
			case inMain && p.mainStarts == nil:
				p.mainStarts = call
			case !inMain && p.starts == nil && !defHeader.MatchString(code):
				p.starts = call
			}
		}
		if inMain {
			continue
		}
		if m := defHeader.FindStringSubmatch(code); m != nil {
			p.bind(m[1])
			defIndent = l.indent
			continue
		}
		for _, stmt := range statements(code) {
			p.bindStatement(stmt)
		}
	}
	return p
}

func findStarter(code string, line int) *pyCall {
	m := starter.FindStringSubmatch(code)
	if m == nil {
		return nil
	}
	for _, g := range m[1:] {
		if g != "" {
			what := spaces.ReplaceAllString(g, "")
			if !strings.HasPrefix(what, "os.") {
				what += "()"
			}
			return &pyCall{what: what, line: line}
		}
	}
	return nil
}

func (p *pySource) bind(name string) {
	if !p.binds(name) {
		p.bound = append(p.bound, name)
	}
}

// statements splits a logical line at its top-level semicolons, and takes
// the body of a compound statement written on its header's line (`try:
// import x`) as a statement of its own.
func statements(code string) []string {
	var out []string
	for _, s := range splitTop(code, ';') {
		s = strings.TrimSpace(s)
		if kw := firstWord(s); compoundKeywords[kw] {
			if parts := splitTop(s, ':'); len(parts) > 1 {
				out = append(out, statements(strings.Join(parts[1:], ":"))...)
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

var compoundKeywords = map[string]bool{"if": true, "elif": true, "else": true, "try": true, "except": true,
	"finally": true, "for": true, "while": true, "with": true}

func firstWord(s string) string {
	end := strings.IndexFunc(s, func(r rune) bool { return !isNameRune(r) })
	if end < 0 {
		return s
	}
	return s[:end]
}

// isNameRune reports whether r may be part of a Python name: an ASCII
// letter, digit or '_', or any non-ASCII character, which Python accepts
// when it is a letter (not checked here: the interpreter has the last
// word).
func isNameRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 0x7f
}

// isIdentifier is Python's str.isidentifier, as far as isNameRune goes.
func isIdentifier(s string) bool {
	return s != "" && !(s[0] >= '0' && s[0] <= '9') && !strings.ContainsFunc(s, func(r rune) bool { return !isNameRune(r) })
}

// splitTop splits s at sep where no bracket is open (strings are already
// blanked out in a pyLine's code).
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth = max(depth-1, 0)
		case sep:
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// bindStatement adds the names one simple statement binds: the targets of
// an assignment (annotated, chained or unpacked) and the names a
// from-import brings. `import M` binds a module, never a WSGI callable.
func (p *pySource) bindStatement(s string) {
	if rest, ok := strings.CutPrefix(s, "from "); ok {
		_, names, ok := strings.Cut(rest, " import ")
		if !ok {
			return
		}
		for _, n := range strings.Split(strings.Trim(strings.TrimSpace(names), "()"), ",") {
			f := strings.Fields(n)
			switch {
			case len(f) == 1 && f[0] == "*":
				p.star = true
			case len(f) == 1:
				p.bindName(f[0])
			case len(f) == 3 && f[1] == "as":
				p.bindName(f[2])
			}
		}
		return
	}
	targets := assignTargets(s)
	for _, t := range targets {
		if i := strings.IndexByte(t, ':'); i >= 0 && len(targets) == 1 {
			t = t[:i] // an annotation: `app: Flask = Flask(__name__)`
		}
		for _, n := range strings.Split(strings.Trim(strings.TrimSpace(t), "()[]"), ",") {
			p.bindName(strings.TrimPrefix(strings.TrimSpace(n), "*"))
		}
	}
}

// bindName binds n when it is a plain name: an attribute, a subscript or
// anything else a target can be binds none at module level.
func (p *pySource) bindName(n string) {
	if identifier.MatchString(n) {
		p.bind(n)
	}
}

// assignTargets returns the parts of s before each top-level '=' that
// assigns: not ==, <=, >=, != or :=, nor an augmented assignment, which
// binds nothing new. None when s is not an assignment.
func assignTargets(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth = max(depth-1, 0)
		case c == '=' && depth == 0:
			if i+1 < len(s) && s[i+1] == '=' {
				i++
				continue
			}
			if i > 0 && strings.IndexByte("=!<>:+-*/%&|^@", s[i-1]) >= 0 {
				continue
			}
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
