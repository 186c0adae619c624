// Package page holds what every list of the API shares: the page sizes and the opaque keyset
// cursors, each bound to the filter of the list it was made for.
package page

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/alumnid/alumnid/internal/derrors"
)

// Page sizes (the contract says the same).
const (
	DefaultLimit = 25
	MaxLimit     = 200
)

// CheckLimit returns a Malformed error naming limit when it is not a page size.
func CheckLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return derrors.New(derrors.Malformed, "The page size is out of range.",
			derrors.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxLimit)})
	}
	return nil
}

// cursor is the wire form: the keyset position after the last item of a page and a hash of
// the filter, so that a cursor cannot be replayed against another filter.
type cursor struct {
	Version  int             `json:"v"`
	Position json.RawMessage `json:"p"`
	Filter   string          `json:"h"`
}

const cursorVersion = 2

// maxCursorLen bounds what Decode reads; the contract allows 2048 characters: a position holds
// two names of up to 100 characters, each up to 4 bytes in UTF-8, and JSON and base64 add a
// third (the fuzz test of listing's filters found 1024 too few).
const maxCursorLen = 2048

func errBadCursor(msg string) error {
	return derrors.New(derrors.Malformed, "The cursor is not valid for this list.",
		derrors.FieldError{Field: "cursor", Message: msg})
}

// Encode returns the opaque cursor for position pos (a struct of the keyset values) in a list
// filtered by filter.
func Encode(pos, filter any) string {
	p, err := json.Marshal(pos)
	if err != nil {
		panic(fmt.Sprintf("marshal cursor position: %v", err)) // positions are plain structs
	}
	b, err := json.Marshal(cursor{Version: cursorVersion, Position: p, Filter: hash(filter)})
	if err != nil {
		panic(fmt.Sprintf("marshal cursor: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads into pos (a pointer) the position of s, made by Encode for the same filter.
// It returns a Malformed error naming cursor for anything else; the caller checks that the
// position it got is complete.
func Decode(s string, filter, pos any) error {
	if len(s) > maxCursorLen {
		return errBadCursor("is too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return errBadCursor("is not a cursor this server made")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Version != cursorVersion || len(c.Position) == 0 {
		return errBadCursor("is not a cursor this server made")
	}
	if c.Filter != hash(filter) {
		return errBadCursor("was made for other filters; start again without a cursor")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Position))
	dec.DisallowUnknownFields()
	if err := dec.Decode(pos); err != nil {
		return errBadCursor("is not a cursor this server made")
	}
	return nil
}

// Invalid is the error for a cursor whose position turned out incomplete.
func Invalid() error { return errBadCursor("is not a cursor this server made") }

// hash identifies the filter's values (not the page size, which may change between pages).
func hash(filter any) string {
	b, err := json.Marshal(filter)
	if err != nil {
		panic(fmt.Sprintf("marshal filter: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// FetchLimit is the LIMIT of the query for a page of limit items: one row more, to tell
// whether another page follows. limit should have passed CheckLimit; anything else is read as
// MaxLimit.
func FetchLimit(limit int) int32 {
	if limit < 1 || limit > MaxLimit {
		limit = MaxLimit
	}
	return int32(limit) + 1
}

// Trim cuts rows, read with FetchLimit(limit), to one page of at most limit rows, and returns
// them with the cursor of the next page: the position pos gives of the page's last row, bound
// to filter; "" when no row follows.
func Trim[T any](rows []T, limit int, filter any, pos func(last T) any) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, Encode(pos(rows[len(rows)-1]), filter)
}
