package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Sign-in throttling. Failures are counted in fixed windows in the database, so every replica
// sees the same counts, under three keys:
//
//   - the account together with the client address: a handful of guesses, then that address
//     waits for the window to end. An attacker elsewhere does not affect the real user here.
//   - the client address alone: one address guessing at many accounts (password spraying).
//   - the account alone: guesses at one account from many addresses. When it trips, only
//     addresses that have not signed in to this account successfully in the last 90 days are
//     refused, so an attack cannot lock the real user out of their usual places.
//
// A window lasts ThrottleWindow; a blocked caller is told when it ends (Retry-After). Counts
// expire with their window: no lockout outlives the attack by more than one window.
const (
	ThrottleWindow       = 15 * time.Minute
	pairLimit            = 5
	addressLimit         = 50
	accountLimit         = 20
	knownClientRetention = 90 * 24 * time.Hour
)

type bucket struct {
	key   []byte
	limit int
	// exemptKnown: the limit does not apply to clients known to this account.
	exemptKnown bool
}

func hashKey(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// buckets returns the throttle buckets of a sign-in by account (a normalized email or a user
// id) from address.
func buckets(account, address string) []bucket {
	return []bucket{
		{key: hashKey("pair", account, address), limit: pairLimit},
		{key: hashKey("address", address), limit: addressLimit},
		{key: hashKey("account", account), limit: accountLimit, exemptKnown: true},
	}
}

func knownKey(account, address string) []byte { return hashKey("known", account, address) }

// checkThrottle returns a Throttled error when any bucket of (account, address) is full.
func (s *Service) checkThrottle(ctx context.Context, account, address string, now time.Time) error {
	q := db.New(s.db)
	floor := now.Add(-ThrottleWindow)
	var wait time.Duration
	for _, b := range buckets(account, address) {
		row, err := q.GetThrottle(ctx, b.key)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read sign-in throttle: %w", err)
		}
		if row.WindowStart.Before(floor) || int(row.Failures) < b.limit {
			continue
		}
		if b.exemptKnown {
			since, err := q.KnownClientSince(ctx, knownKey(account, address))
			if err == nil && since.After(now.Add(-knownClientRetention)) {
				continue
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read known clients: %w", err)
			}
		}
		wait = max(wait, row.WindowStart.Add(ThrottleWindow).Sub(now))
	}
	if wait > 0 {
		return &derrors.Error{Kind: derrors.Throttled, Detail: "Too many failed attempts; try again later.", RetryAfter: wait}
	}
	return nil
}

// countFailure adds a failure to every bucket of (account, address).
func countFailure(ctx context.Context, q *db.Queries, account, address string, now time.Time) error {
	for _, b := range buckets(account, address) {
		if err := q.CountFailure(ctx, db.CountFailureParams{Bucket: b.key, Now: now, WindowFloor: now.Add(-ThrottleWindow)}); err != nil {
			return fmt.Errorf("count sign-in failure: %w", err)
		}
	}
	return nil
}

// countSuccess clears the account-and-address count and remembers the address as known.
func countSuccess(ctx context.Context, q *db.Queries, account, address string, now time.Time) error {
	if err := q.ClearThrottle(ctx, buckets(account, address)[0].key); err != nil {
		return fmt.Errorf("clear sign-in throttle: %w", err)
	}
	if err := q.RememberClient(ctx, db.RememberClientParams{Bucket: knownKey(account, address), Now: now}); err != nil {
		return fmt.Errorf("remember client: %w", err)
	}
	return nil
}
