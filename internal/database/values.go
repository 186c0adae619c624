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

// The range of a DATETIME column (MySQL and MariaDB), in UTC.
var (
	minDatetime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDatetime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// ClampTime returns t in UTC, moved into the range a DATETIME column holds. A time a client
// sends to compare with such a column (RFC 3339 allows years 0000 to 9999 in any offset, so
// 10000 in UTC too) is sent this way: the server refuses one outside the range, while every
// stored time compares with the clamped time as it would with t.
func ClampTime(t time.Time) time.Time {
	switch t = t.UTC(); {
	case t.Before(minDatetime):
		return minDatetime
	case t.After(maxDatetime):
		return maxDatetime
	}
	return t
}
