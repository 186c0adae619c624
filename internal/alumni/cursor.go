package alumni

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/alumnid/alumnid/internal/derrors"
)

// cursor is the keyset position after the last row of a page, bound to the filter it was
// made for so that it cannot be replayed against another filter.
type cursor struct {
	Version   int    `json:"v"`
	LastName  string `json:"l"`
	FirstName string `json:"f"`
	PublicID  string `json:"p"`
	Filter    string `json:"h"`
}

const cursorVersion = 1

// maxCursorLen bounds what decodeCursor reads; the contract allows 1024 characters.
const maxCursorLen = 1024

func errBadCursor(msg string) error {
	return derrors.New(derrors.Malformed, "The cursor is not valid for this list.",
		derrors.FieldError{Field: "cursor", Message: msg})
}

// encodeCursor returns the opaque form of the position after a.
func encodeCursor(a Alumnus, f Filter) string {
	b, err := json.Marshal(cursor{Version: cursorVersion, LastName: a.LastName, FirstName: a.FirstName, PublicID: a.ID, Filter: f.hash()})
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads s, made by encodeCursor for the same filter. It returns a Malformed error
// for anything else.
func decodeCursor(s string, f Filter) (cursor, error) {
	var c cursor
	if len(s) > maxCursorLen {
		return c, errBadCursor("is too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, errBadCursor("is not a cursor this server made")
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Version != cursorVersion || c.PublicID == "" {
		return c, errBadCursor("is not a cursor this server made")
	}
	if c.Filter != f.hash() {
		return c, errBadCursor("was made for other filters; start again without a cursor")
	}
	return c, nil
}

// hash identifies the filter's values (not the page size, which may change between pages).
func (f Filter) hash() string {
	b, err := json.Marshal(f)
	if err != nil {
		panic(fmt.Sprintf("marshal filter: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
