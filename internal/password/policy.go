package password

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/text/unicode/norm"

	"github.com/alumnid/alumnid/internal/derrors"
)

const (
	// minLength and maxLength bound a password's length in Unicode code points after NFC
	// normalization (ASVS 6.2.1, 6.2.9: at least 64 must be allowed).
	minLength = 12
	maxLength = 128
	// minScore is the lowest zxcvbn score accepted: 3 means zxcvbn estimates at least 10^8
	// guesses.
	minScore = 3
	// maxRepeatUnit is the longest unit whose repetition makes a password trivial ("abab…").
	maxRepeatUnit = 4
	// minUserInputLength is the shortest user input (or email local part) a password may not
	// contain; shorter ones ("al", "bob") would refuse ordinary words and only weigh in the
	// zxcvbn estimate.
	minUserInputLength = 4
)

// The messages Check reports; each completes a sentence whose subject is the field.
const (
	msgInvalid   = "must be valid text"
	msgTooShort  = "must be at least 12 characters"
	msgTooLong   = "must be at most 128 characters"
	msgTrivial   = "must not be a repeated character or pattern, or a simple sequence such as abcd or 1234"
	msgEmail     = "must not contain your email address or the part of it before the @"
	msgPersonal  = "must not contain your personal details, such as your name"
	msgCommon    = "is too common; choose a longer phrase that others are unlikely to use"
	msgGuessable = "is too easy to guess; avoid common words, names, dates and keyboard patterns, or choose a longer phrase that others are unlikely to use"
)

// Check applies the password policy (OWASP ASVS 5.0 level 2, section 6.2) to a new password. It
// returns nil, or a *derrors.Error of kind derrors.Invalid with one derrors.FieldError for field
// whose message is safe to show to the user. userInputs are the user's own details, such as their
// email address or name.
//
// The password is refused, in this order, when:
//
//   - it is not valid UTF-8;
//   - it has fewer than 12 or more than 128 characters, counted as Unicode code points after NFC
//     normalization (so "é" counts once however it was typed);
//   - it is a single character repeated, a unit of at most 4 characters repeated ("abab…",
//     "ab12ab12…"), or a run of consecutive letters or digits, up or down ("abcd…", "9876…",
//     wrapping from 9 to 0 and z to a);
//   - it contains, ignoring case, one of userInputs, or the local part of an email address among
//     them (before the @, also without a +tag), or either of these without spaces and
//     punctuation: for "jane.doe+alumni@example.org" any of "jane.doe+alumni@example.org",
//     "jane.doe+alumni", "jane.doe" and "janedoe", for "Jane Doe" any of "jane doe" and
//     "janedoe". Only those of at least 4 characters count; shorter ones, and the single words
//     of each input ("jane", "doe", "example"), weigh in the zxcvbn estimate below instead;
//   - it is, ignoring case, one of the 30,000 most common passwords of zxcvbn's list (drawn from
//     breached password sets);
//   - zxcvbn scores it below 3 out of 4, that is, estimates that an attacker who tries common
//     passwords, words, names, dates, keyboard patterns, repeats, sequences and the user's
//     own details first would need fewer than 10^8 guesses. This catches what the list alone
//     does not: common passwords with digits or years appended ("sunshine1234",
//     "football2023"), keyboard walks ("qwertyuiopas"), leetspeak ("p4ssw0rdp4ss") and short
//     pairs of common words ("correcthorse", "fishing boat"), while phrases of three or more
//     words ("correct horse battery staple", "horsebatterystaple") typically score 4.
//
// There are no composition rules (ASVS 6.2.5): no required digits, symbols or mixed case.
func Check(field, password string, userInputs ...string) error {
	if msg := check(password, userInputs); msg != "" {
		var fs derrors.Fields
		fs.Add(field, msg)
		return fs.Err()
	}
	return nil
}

func check(password string, userInputs []string) string {
	if !utf8.ValidString(password) {
		return msgInvalid
	}
	password = norm.NFC.String(password)
	switch n := utf8.RuneCountInString(password); {
	case n < minLength:
		return msgTooShort
	case n > maxLength:
		return msgTooLong
	}
	lower := strings.ToLower(password)
	if isTrivial([]rune(lower)) {
		return msgTrivial
	}
	var zxInputs []string
	for _, in := range userInputs {
		in = strings.ToLower(norm.NFC.String(strings.TrimSpace(in)))
		if in == "" {
			continue
		}
		// For "jane.doe+alumni@example.org": itself, "jane.doe+alumni", "jane.doe" and
		// "janedoe"; for "Jane Doe": itself and "janedoe".
		candidates := []string{in}
		name := in
		email := false
		if at := strings.LastIndexByte(in, '@'); at > 0 {
			email = true
			name = in[:at]
			candidates = append(candidates, name)
			if plus := strings.IndexByte(name, '+'); plus > 0 {
				name = name[:plus]
				candidates = append(candidates, name)
			}
		}
		candidates = append(candidates, strings.Join(strings.FieldsFunc(name, isSeparator), ""))
		for _, c := range candidates {
			if utf8.RuneCountInString(c) >= minUserInputLength && strings.Contains(lower, c) {
				if email {
					return msgEmail
				}
				return msgPersonal
			}
		}
		// zxcvbn also weighs the pieces ("jane", "doe", "example"), which are not refused
		// outright but make a password built from them score low.
		zxInputs = append(zxInputs, candidates...)
		for _, piece := range strings.FieldsFunc(in, isSeparator) {
			if utf8.RuneCountInString(piece) >= 3 {
				zxInputs = append(zxInputs, piece)
			}
		}
	}
	if _, ok := commonPasswords()[lower]; ok {
		return msgCommon
	}
	if zxcvbn.PasswordStrength(password, zxInputs).Score < minScore {
		return msgGuessable
	}
	return ""
}

// isSeparator reports whether r separates the words of a user input ("jane.doe@example.org").
func isSeparator(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// commonPasswords holds the entries of zxcvbn's password list that are long enough to pass the
// length rule; the shorter ones are refused by it already.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{})
	for _, p := range frequency.FrequencyLists["passwords"] {
		if utf8.RuneCountInString(p) >= minLength {
			set[strings.ToLower(p)] = struct{}{}
		}
	}
	return set
})

// isTrivial reports whether r is a unit of at most maxRepeatUnit code points repeated (the last
// repetition may be partial), or a run of consecutive letters or digits.
func isTrivial(r []rune) bool {
	if len(r) < 2 {
		return true
	}
	for unit := 1; unit <= maxRepeatUnit && unit < len(r); unit++ {
		if repeats(r, unit) {
			return true
		}
	}
	dir := step(r[0], r[1])
	if dir == 0 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if step(r[i-1], r[i]) != dir {
			return false
		}
	}
	return true
}

func repeats(r []rune, unit int) bool {
	for i := unit; i < len(r); i++ {
		if r[i] != r[i-unit] {
			return false
		}
	}
	return true
}

// step returns 1 when b follows a, -1 when b precedes a, and 0 otherwise. ASCII digits and
// lowercase letters wrap around (9 to 0, z to a); other code points follow each other by value.
func step(a, b rune) int {
	var d, n rune
	switch {
	case '0' <= a && a <= '9' && '0' <= b && b <= '9':
		d, n = b-a, 10
	case 'a' <= a && a <= 'z' && 'a' <= b && b <= 'z':
		d, n = b-a, 26
	default:
		switch b - a {
		case 1:
			return 1
		case -1:
			return -1
		}
		return 0
	}
	switch (d + n) % n {
	case 1:
		return 1
	case n - 1:
		return -1
	}
	return 0
}
