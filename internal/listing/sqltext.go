package listing

import "strings"

// The few statements of this package that sqlc cannot write (a list of keys of any length, an
// optional condition) are built with sqlText: only fixed SQL text and placeholders go into a
// statement; every value is an argument.

// sqlText is a statement being built: text with ? placeholders and their arguments.
type sqlText struct {
	b    strings.Builder
	args []any
}

// add appends text and its arguments.
func (s *sqlText) add(text string, args ...any) *sqlText {
	s.b.WriteString(text)
	s.args = append(s.args, args...)
	return s
}

func (s *sqlText) String() string { return s.b.String() }
