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

// Outcomes of an admitted attempt, for settle.
const (
	attemptWrong    = iota // the password was wrong: a failure
	attemptRight           // the password was right
	attemptUnjudged        // the attempt ended before its password was judged
)

// checkThrottle returns a Throttled error when any bucket of (account, address) is full of
// failures. It counts nothing (invitations use it with countFailure).
func (s *Service) checkThrottle(ctx context.Context, account, address string, now time.Time) error {
	return s.checkLimits(ctx, account, address, now, false)
}

// admit lets an attempt by (account, address) be checked, or returns a Throttled error. It
// counts the attempt as pending in every bucket first and then checks that failures plus
// pending attempts stay within each limit, so however many attempts arrive at once, no more
// than a bucket's limit of passwords is ever checked in a window. Every admitted attempt must
// be settled. Each bucket is counted by its own single-row statement outside any transaction,
// so concurrent attempts never deadlock on the counters.
func (s *Service) admit(ctx context.Context, account, address string, now time.Time) error {
	if err := s.checkThrottle(ctx, account, address, now); err != nil {
		return err // full of failures: refused without counting
	}
	q := db.New(s.db)
	for _, b := range buckets(account, address) {
		if err := q.AdmitAttempt(ctx, db.AdmitAttemptParams{Bucket: b.key, Now: now, WindowFloor: now.Add(-ThrottleWindow)}); err != nil {
			s.settle(ctx, account, address, now, attemptUnjudged)
			return fmt.Errorf("count sign-in attempt: %w", err)
		}
	}
	if err := s.checkLimits(ctx, account, address, now, true); err != nil {
		s.settle(ctx, account, address, now, attemptUnjudged)
		return err
	}
	return nil
}

// settle ends an admitted attempt with its outcome: a wrong password becomes a failure; a right
// one also starts the account-and-address count again and makes the address known to the
// account. A failure to settle only leaves the counts slightly high until the window ends, so
// it is logged and not returned.
func (s *Service) settle(ctx context.Context, account, address string, now time.Time, outcome int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	q := db.New(s.db)
	bs := buckets(account, address)
	failed := int32(0)
	if outcome == attemptWrong {
		failed = 1
	}
	var err error
	for _, b := range bs {
		if err = q.SettleAttempt(ctx, db.SettleAttemptParams{Failed: failed, Bucket: b.key, WindowFloor: now.Add(-ThrottleWindow)}); err != nil {
			break
		}
	}
	if err == nil && outcome == attemptRight {
		err = q.ClearThrottle(ctx, bs[0].key)
		if err == nil {
			err = q.RememberClient(ctx, db.RememberClientParams{Bucket: knownKey(account, address), Now: now})
		}
	}
	if err != nil {
		s.log.WarnContext(ctx, "sign-in throttle settle failed", slog.String("error", err.Error()))
	}
}

// checkLimits returns a Throttled error when a bucket of (account, address) holds its limit of
// failures (wait for the window to end), or, with pending, when failures and the attempts being
// checked together exceed it (too many at once: wait a second).
func (s *Service) checkLimits(ctx context.Context, account, address string, now time.Time, pending bool) error {
	q := db.New(s.db)
	floor := now.Add(-ThrottleWindow)
	bs := buckets(account, address)
	keys := make([][]byte, len(bs))
	for i, b := range bs {
		keys[i] = b.key
	}
	rows, err := q.GetThrottles(ctx, keys)
	if err != nil {
		return fmt.Errorf("read sign-in throttle: %w", err)
	}
	counters := make(map[string]db.LoginThrottle, len(rows))
	for _, r := range rows {
		counters[string(r.Bucket)] = r
	}
	var wait time.Duration
	burst := false
	for _, b := range bs {
		row, ok := counters[string(b.key)]
		if !ok {
			continue
		}
		full := int(row.Failures) >= b.limit
		crowded := pending && int(row.Failures+row.Pending) > b.limit
		if row.WindowStart.Before(floor) || !full && !crowded {
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
		if full {
			wait = max(wait, row.WindowStart.Add(ThrottleWindow).Sub(now))
		} else {
			burst = true
		}
	}
	switch {
	case wait > 0:
		return &derrors.Error{Kind: derrors.Throttled, Detail: "Too many failed attempts; try again later.", RetryAfter: wait}
	case burst:
		return &derrors.Error{Kind: derrors.Throttled, Detail: "Too many sign-in attempts at once; try again in a moment.", RetryAfter: time.Second}
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
