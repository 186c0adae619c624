package auth

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/gen/db"
)

// sessionRetention is how long ended and expired sessions are kept (for /auth/me answers in
// flight and for investigating refresh-token reuse) before they are deleted.
const sessionRetention = 7 * 24 * time.Hour

// Purge deletes what no longer matters: sessions (with their refresh tokens) that ended or
// expired more than a week ago, throttle counts of past windows, expired sign-in challenges and
// single sign-ons, and client addresses not used for 90 days. It deletes in small batches, so
// it never holds locks for long, and it is safe to run on every replica at once.
func Purge(ctx context.Context, sqlDB *sql.DB, now time.Time) error {
	now = now.UTC()
	q := db.New(sqlDB)
	steps := []struct {
		what string
		run  func() (int64, error)
	}{
		{"sessions", func() (int64, error) {
			cutoff := now.Add(-sessionRetention)
			return q.PurgeSessions(ctx, db.PurgeSessionsParams{ExpiresAt: cutoff, EndedAt: &cutoff})
		}},
		{"login throttle", func() (int64, error) { return q.PurgeThrottle(ctx, now.Add(-ThrottleWindow)) }},
		{"sign-in challenges", func() (int64, error) { return q.PurgeLoginChallenges(ctx, now.Add(-challengeTTL)) }},
		{"passkey ceremonies", func() (int64, error) { return q.PurgeWebAuthnCeremonies(ctx, now.Add(-time.Hour)) }},
		{"single sign-ons", func() (int64, error) { return q.PurgeSSOLogins(ctx, now.Add(-time.Hour)) }},
		{"known clients", func() (int64, error) { return q.PurgeKnownClients(ctx, now.Add(-knownClientRetention)) }},
	}
	for _, step := range steps {
		for {
			n, err := step.run()
			if err != nil {
				return fmt.Errorf("purge %s: %w", step.what, err)
			}
			if n < 1000 {
				break
			}
		}
	}
	return nil
}
