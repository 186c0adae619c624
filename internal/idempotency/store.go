// Package idempotency keeps the Idempotency-Key claims of requests and the answers they
// stored, in the database, so that every replica sees them and the database alone decides
// which of several concurrent requests with the same key runs.
package idempotency

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
)

const (
	// Retention is how long a key and its answer are kept after the key was first used.
	Retention = 24 * time.Hour
	// MaxKeyLength is the longest key accepted, in bytes.
	MaxKeyLength = 255
)

// States of a key.
const (
	statePending = "pending"
	stateDone    = "done"
)

// ValidKey reports whether key is 1 to MaxKeyLength printable ASCII characters (space to ~).
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLength {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Scope names one key: the user who sent it, the operation it was sent with, and the key.
type Scope struct {
	UserID, Operation, Key string
}

// Answer is a stored response: its status, the headers a retry needs, and its body.
type Answer struct {
	Status      int
	Location    string
	ETag        string
	ContentType string
	Body        []byte
}

// Prior is what an earlier request with the same key left: a claim still running (Pending),
// or its answer and the fingerprint of the request that got it.
type Prior struct {
	Pending     bool
	Fingerprint []byte
	Answer      Answer
}

// Claim is a key held by one request until it completes or releases it.
type Claim struct {
	scope Scope
	token []byte
}

// Store reads and writes keys.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// NewStore returns the store of keys in sqlDB.
func NewStore(sqlDB *sql.DB) *Store {
	return &Store{db: sqlDB, now: time.Now}
}

// Claim claims the key of scope for a request until leaseUntil (by then the request has
// completed or released it, or its replica stopped: then the next request with the key takes
// the claim over). It returns the claim when the caller holds the key; otherwise what the
// earlier request left (a pending claim, or its answer). It fails with the database's error.
func (s *Store) Claim(ctx context.Context, scope Scope, leaseUntil time.Time) (_ *Claim, _ *Prior, err error) {
	defer database.ClassifyErr(&err)
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	now := s.now().UTC()
	q := db.New(s.db)
	// Three rounds: the row found by one round can be released (deleted) before it is read.
	for range 3 {
		err := q.ClaimIdempotencyKey(ctx, db.ClaimIdempotencyKeyParams{
			UserID: scope.UserID, Operation: scope.Operation, IdemKey: scope.Key, ClaimToken: token,
			LeaseUntil: leaseUntil.UTC(), CreatedAt: now, ExpiresAt: now.Add(Retention),
		})
		if err == nil {
			return &Claim{scope: scope, token: token}, nil, nil
		}
		if _, dup := database.DuplicateKey(err); !dup {
			return nil, nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		row, err := q.GetIdempotencyKey(ctx, db.GetIdempotencyKeyParams{UserID: scope.UserID, Operation: scope.Operation, IdemKey: scope.Key})
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read idempotency key: %w", err)
		}
		if (row.State == statePending && row.LeaseUntil.Before(now)) || row.ExpiresAt.Before(now) {
			// Left by a request whose replica stopped, or expired and not purged yet.
			n, err := q.TakeOverIdempotencyKey(ctx, db.TakeOverIdempotencyKeyParams{
				ClaimToken: token, LeaseUntil: leaseUntil.UTC(), CreatedAt: now, ExpiresAt: now.Add(Retention),
				UserID: scope.UserID, Operation: scope.Operation, IdemKey: scope.Key, Now: now,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("take over idempotency key: %w", err)
			}
			if n == 1 {
				return &Claim{scope: scope, token: token}, nil, nil
			}
			continue
		}
		if row.State == statePending {
			return nil, &Prior{Pending: true}, nil
		}
		return nil, &Prior{Fingerprint: row.Fingerprint, Answer: Answer{
			Status: int(ptr.Deref(row.Status)), Location: ptr.Deref(row.Location), ETag: ptr.Deref(row.Etag),
			ContentType: ptr.Deref(row.ContentType), Body: row.Body,
		}}, nil
	}
	return nil, &Prior{Pending: true}, nil // others are claiming and releasing it right now
}

// Complete stores the answer to the request that holds c, with the request's fingerprint.
// It fails when the claim is no longer the caller's (it ran past its lease and another request
// took it over) and with the database's errors.
func (s *Store) Complete(ctx context.Context, c *Claim, fingerprint []byte, a Answer) (err error) {
	defer database.ClassifyErr(&err)
	n, err := db.New(s.db).CompleteIdempotencyKey(ctx, db.CompleteIdempotencyKeyParams{
		Fingerprint: fingerprint, Status: ptr.NonZero(int16Of(a.Status)),
		Location: ptr.NonZero(a.Location), Etag: ptr.NonZero(a.ETag), ContentType: ptr.NonZero(a.ContentType),
		Body:   a.Body,
		UserID: c.scope.UserID, Operation: c.scope.Operation, IdemKey: c.scope.Key, ClaimToken: c.token,
	})
	if err != nil {
		return fmt.Errorf("store idempotent answer: %w", err)
	}
	if n != 1 {
		return errors.New("store idempotent answer: the claim was taken over (the request outlived its lease)")
	}
	return nil
}

// Release gives up c, so that the next request with the key runs. It fails with the
// database's errors (the claim then lasts until its lease ends).
func (s *Store) Release(ctx context.Context, c *Claim) (err error) {
	defer database.ClassifyErr(&err)
	err = db.New(s.db).ReleaseIdempotencyKey(ctx, db.ReleaseIdempotencyKeyParams{
		UserID: c.scope.UserID, Operation: c.scope.Operation, IdemKey: c.scope.Key, ClaimToken: c.token,
	})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

func int16Of(n int) int16 {
	return int16(max(min(n, 999), 0)) //nolint:gosec // an HTTP status, clamped
}

// Purge deletes the keys that expired before now, a thousand at a time (along the expiry
// index, so it never holds locks for long); it is safe to run on every replica at once.
func Purge(ctx context.Context, sqlDB *sql.DB, now time.Time) error {
	q := db.New(sqlDB)
	for {
		n, err := q.PurgeIdempotencyKeys(ctx, now.UTC())
		if err != nil {
			return fmt.Errorf("purge idempotency keys: %w", err)
		}
		if n < 1000 {
			return nil
		}
	}
}
