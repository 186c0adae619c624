package database

import (
	"crypto/rand"
	"time"

	"github.com/oklog/ulid/v2"
)

// NewPublicID returns a new public id for a row made at t: a ULID with 80 random bits, so ids
// cannot be guessed from one another. Every public_id column holds one.
func NewPublicID(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), rand.Reader).String()
}

// Optional returns nil for the zero value and a pointer to v otherwise: how the domain's
// "empty means unknown" becomes SQL NULL in sqlc's nullable parameters.
func Optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// Value returns *p, or the zero value for NULL (nil).
func Value[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
