// Package search turns text into the words of the search index and a query into the prefixes
// to look up. Both sides fold the same way: lower case, accents and other marks removed, a few
// letters spelled out (ß → ss), so "José" is found by "jose" and "Müller" by "muller".
package search

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/alumnid/alumnid/internal/derrors"
)

const (
	// MaxTermLen is the longest word kept, in bytes; longer words are cut (on a rune boundary),
	// and a query word is cut the same way, so it still matches by prefix.
	MaxTermLen = 32
	// MaxQueryWords is the most words a query may have.
	MaxQueryWords = 8
	// minWordLen is the shortest word indexed; one-letter words ("J.", the "O" of O'Brien) are
	// left out, which keeps the index small. Joined forms ("obrien") are still indexed.
	minWordLen = 2
)

// spelled are letters that do not decompose into a base letter and a mark.
var spelled = strings.NewReplacer("ß", "ss", "æ", "ae", "œ", "oe", "ø", "o", "ł", "l", "đ", "d", "ð", "d", "þ", "th", "ı", "i")

// folders are transformers that take marks off (a chain keeps buffers: made once, reused).
var folders = sync.Pool{New: func() any {
	return transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// Fold returns s in lower case without marks, with the letters of spelled written out.
func Fold(s string) string {
	if isASCII(s) { // most names and words: nothing to take off
		return strings.ToLower(s)
	}
	t := folders.Get().(transform.Transformer) //nolint:errcheck // the pool holds only these
	defer folders.Put(t)
	t.Reset()
	out, _, err := transform.String(t, strings.ToLower(s))
	if err != nil {
		out = strings.ToLower(s)
	}
	return spelled.Replace(out)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Words returns the distinct index words of text: each run of letters and digits, and for a
// word joined by an apostrophe, hyphen or period ("O'Brien", "Jean-Luc", "J.P.") also the
// joined form ("obrien", "jeanluc"), so that either spelling finds it.
func Words(text string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(w string) {
		w = cut(w)
		if utf8.RuneCountInString(w) < minWordLen || seen[w] {
			return
		}
		seen[w] = true
		out = append(out, w)
	}
	for _, chunk := range strings.FieldsFunc(Fold(text), func(r rune) bool {
		return !isWordRune(r) && !isJoiner(r)
	}) {
		parts := strings.FieldsFunc(chunk, isJoiner)
		for _, p := range parts {
			add(p)
		}
		if len(parts) > 1 {
			add(strings.Join(parts, ""))
		}
	}
	return out
}

// Query returns the words of a search query, each to be matched as a prefix. Joined words
// ("O'Brien") are looked up in their joined form. It returns a Malformed error when q has no
// word or too many.
func Query(q string) ([]string, error) {
	var out []string
	for _, chunk := range strings.FieldsFunc(Fold(q), func(r rune) bool {
		return !isWordRune(r) && !isJoiner(r)
	}) {
		w := cut(strings.Join(strings.FieldsFunc(chunk, isJoiner), ""))
		if w != "" && !contains(out, w) {
			out = append(out, w)
		}
	}
	switch {
	case len(out) == 0:
		return nil, derrors.New(derrors.Malformed, "The search has no words.",
			derrors.FieldError{Field: "q", Message: "must contain at least one letter or digit"})
	case len(out) > MaxQueryWords:
		return nil, derrors.New(derrors.Malformed, "The search has too many words.",
			derrors.FieldError{Field: "q", Message: "must have at most 8 words"})
	}
	return out, nil
}

func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isJoiner(r rune) bool {
	switch r {
	case '\'', '’', '-', '.', '‐':
		return true
	}
	return false
}

// cut shortens w to MaxTermLen bytes on a rune boundary.
func cut(w string) string {
	if len(w) <= MaxTermLen {
		return w
	}
	n := MaxTermLen
	for n > 0 && !utf8.RuneStart(w[n]) {
		n--
	}
	return w[:n]
}

// Prefix returns the LIKE pattern matching every word that starts with w (w holds only
// letters and digits, so nothing needs escaping).
func Prefix(w string) string { return w + "%" }
