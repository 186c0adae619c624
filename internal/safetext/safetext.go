// Package safetext decides which characters a person's text may hold: no control characters
// (line breaks only where a field is multi-line) and no bidirectional formatting characters,
// which make one name display as another ("Trojan Source", CVE-2021-42574).
package safetext

import (
	"strings"
	"unicode"
)

// Problem returns what is wrong with s as a message for a field error ("" when nothing is).
// multiline allows line breaks and tabs.
func Problem(s string, multiline bool) string {
	control := func(r rune) bool {
		lineBreak := r == '\n' || r == '\r' || r == '\t'
		return unicode.IsControl(r) && (!multiline || !lineBreak)
	}
	switch {
	case strings.ContainsFunc(s, control) && multiline:
		return "must not contain control characters"
	case strings.ContainsFunc(s, control):
		return "must not contain control characters or line breaks"
	case strings.ContainsFunc(s, isBidiControl):
		return "must not contain bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069)"
	}
	return ""
}

// isBidiControl reports whether r is one of Unicode's Bidi_Control characters: the marks,
// embeddings, overrides and isolates that reorder how text is displayed.
func isBidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }
