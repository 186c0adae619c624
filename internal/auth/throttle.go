package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
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

// inviteAccount is the account under which invitation attempts are counted. It has no
// account bucket: a single account for every invitation would let anyone who sends 20 bad
// tokens block every invitation, and invitation tokens cannot be guessed anyway.
const inviteAccount = "invite"

// buckets returns the throttle buckets of a sign-in by account (a normalized email or a user
// id) from address.
func buckets(account, address string) []bucket {
	bs := []bucket{
		{key: hashKey("pair", account, address), limit: pairLimit},
		{key: hashKey("address", address), limit: addressLimit},
	}
	if account == inviteAccount {
		return bs
	}
	return append(bs, bucket{key: hashKey("account", account), limit: accountLimit, exemptKnown: true})
}

func knownKey(account, address string) []byte { return hashKey("known", account, address) }

// checkThrottle returns a Throttled error when any bucket of (account, address) is full.
func (s *Service) checkThrottle(ctx context.Context, account, address string, now time.Time) error {
	return s.checkLimits(ctx, account, address, now, 0)
}

// reserve counts an attempt by (account, address) as a failure before its password is
// checked, and returns a Throttled error when that makes it one attempt too many. Counting
// first makes check and count one step: attempts sent at once cannot all pass the check
// before any of them is counted, so no bucket lets more than its limit of passwords be tried
// in a window. An attempt that proves right, or cannot be judged, gives its count back with
// release; a refused one keeps it.
func (s *Service) reserve(ctx context.Context, account, address string, now time.Time) error {
	if err := s.checkThrottle(ctx, account, address, now); err != nil {
		return err // refused without counting
	}
	if err := database.InTx(ctx, s.db, func(q *db.Queries) error {
		return countFailure(ctx, q, account, address, now)
	}); err != nil {
		return err
	}
	return s.checkLimits(ctx, account, address, now, 1)
}

// release gives back the failure reserve counted for an attempt made at now. A failure to do
// so only leaves one failure too many counted, so it is logged and not returned.
func (s *Service) release(ctx context.Context, account, address string, now time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	q := db.New(s.db)
	for _, b := range buckets(account, address) {
		err := q.ReleaseFailure(ctx, db.ReleaseFailureParams{Bucket: b.key, WindowFloor: now.Add(-ThrottleWindow), Now: now})
		if err == nil {
			err = q.DropEmptyThrottle(ctx, b.key)
		}
		if err != nil {
			s.log.WarnContext(ctx, "sign-in throttle release failed", slog.String("error", err.Error()))
			return
		}
	}
}

// checkLimits returns a Throttled error when any bucket of (account, address) holds, besides
// the reserved failures of the caller itself, its limit of failures or more.
func (s *Service) checkLimits(ctx context.Context, account, address string, now time.Time, reserved int) error {
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
		if row.WindowStart.Before(floor) || int(row.Failures)-reserved < b.limit {
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
