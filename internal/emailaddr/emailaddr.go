// Package emailaddr decides what the service accepts as an email address, for alumni records
// and for user accounts alike.
package emailaddr

import (
	"net/mail"
	"strings"
)

// MaxLen is the longest address accepted (RFC 5321's path limit, and the columns' size).
const MaxLen = 254

// Valid reports whether s is a bare email address (no display name, no angle brackets) of at
// most MaxLen bytes whose domain has a dot. Callers compare and store addresses lower-case.
func Valid(s string) bool {
	if len(s) > MaxLen {
		return false
	}
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}
