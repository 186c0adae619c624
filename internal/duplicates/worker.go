package duplicates

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
)

// The queue follows changes through marks: the write path marks a record in duplicate_work
// when a change touches what the score reads (or moves it to or from the trash), and a worker
// on every replica scores the marked records' pairs again. A worker claims a batch of marks
// (so that replicas share the work), scores, replaces the batch's open pairs and deletes its
// claimed marks in one transaction. A record marked again while claimed loses the claim and
// stays marked, so the newer change is scored too; a claim not finished within claimTimeout
// (a replica that stopped) is taken over.

const (
	// batchSize is the number of records a worker scores at once.
	batchSize = 500
	// claimTimeout is how long a claim holds before another worker may take the marks over.
	claimTimeout = 5 * time.Minute
)

// pairColumns are the duplicate_pairs columns the worker writes, in order, and pairScores
// those it replaces on a stored pair (a dismissed pair keeps its status and decision).
var (
	pairColumns = []string{"low_id", "high_id", "score", "reasons", "scored_at"}
	pairScores  = []string{"score", "reasons", "scored_at"}
)

// Work scores the pairs of up to batchSize marked records again and returns how many it
// scored (0: none waiting).
func (s *Store) Work(ctx context.Context) (int, error) {
	q := db.New(s.db)
	now := s.now()
	stale := now.Add(-claimTimeout)
	waiting, err := q.ListDuplicateWork(ctx, db.ListDuplicateWorkParams{Stale: &stale, Limit: batchSize})
	if err != nil || len(waiting) == 0 {
		return 0, wrap("read duplicate work", err)
	}
	claim := rand.Int64() //nolint:gosec // a claim's name, not a secret
	if _, err := q.ClaimDuplicateWork(ctx, db.ClaimDuplicateWorkParams{Claim: &claim, Now: &now, AlumnusIds: waiting, Stale: &stale}); err != nil {
		return 0, fmt.Errorf("claim duplicate work: %w", err)
	}
	claimed, err := q.ListClaimedDuplicateWork(ctx, &claim)
	if err != nil || len(claimed) == 0 {
		return 0, wrap("read claimed duplicate work", err)
	}
	err = s.rescore(ctx, claimed, func(tq *db.Queries) error {
		return wrap("end duplicate work", tq.DeleteClaimedDuplicateWork(ctx, &claim))
	})
	if err != nil {
		return 0, err
	}
	return len(claimed), nil
}

// Run works through the marks until ctx ends: at once while a full batch was scored, else
// every interval. Failures (a database away) are logged and tried again.
func (s *Store) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	for {
		n, err := s.Work(ctx)
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "scoring duplicates failed", slog.String("error", err.Error()))
		}
		if n == batchSize {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Rebuild scores every live record's pairs again, batch by batch, and drops the open pairs
// it did not score (of records in the trash): after a restore, or when the rules change.
// progress, if not nil, is told the records done so far after each batch.
func (s *Store) Rebuild(ctx context.Context, progress func(done int)) error {
	q := db.New(s.db)
	start := s.now()
	var after int64
	done := 0
	for {
		ids, err := q.ListLiveAlumniIDsAfter(ctx, db.ListLiveAlumniIDsAfterParams{After: after, Limit: batchSize})
		if err != nil {
			return fmt.Errorf("read alumni: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		if err := s.rescore(ctx, ids, nil); err != nil {
			return err
		}
		after, done = ids[len(ids)-1], done+len(ids)
		if progress != nil {
			progress(done)
		}
	}
	for {
		n, err := q.DeleteOpenPairsScoredBefore(ctx, start)
		if err != nil {
			return fmt.Errorf("delete stale pairs: %w", err)
		}
		if n < 1000 {
			return nil
		}
	}
}

// rescore scores the pairs of records ids again: each record's open pairs are replaced by
// its likely pairs now (none for a record in the trash or gone); a dismissed pair keeps its
// decision and gets the new score. also, if not nil, runs in the same transaction.
func (s *Store) rescore(ctx context.Context, ids []int64, also func(*db.Queries) error) error {
	q := db.New(s.db)
	live, err := load(ctx, q, ids)
	if err != nil {
		return err
	}
	subjects := make([]*record, 0, len(live))
	for _, id := range ids {
		if r := live[id]; r != nil {
			subjects = append(subjects, r)
		}
	}
	pairs, _, err := likely(ctx, q, subjects)
	if err != nil {
		return err
	}
	now := s.now()
	rows := make([][]any, len(pairs))
	for i, p := range pairs {
		rows[i] = []any{p.low, p.high, storedScore(p.score), storedReasons(p.reasons), now}
	}
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		tq := db.New(tx)
		if err := tq.DeleteOpenPairsByLow(ctx, ids); err != nil {
			return fmt.Errorf("delete pairs: %w", err)
		}
		if err := tq.DeleteOpenPairsByHigh(ctx, ids); err != nil {
			return fmt.Errorf("delete pairs: %w", err)
		}
		if err := database.UpsertRows(ctx, tx, "duplicate_pairs", pairColumns, pairScores, rows); err != nil {
			return err
		}
		if also != nil {
			return also(tq)
		}
		return nil
	}, database.RetryDeadlocks())
}

// wrap returns err with what failed, or nil.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
