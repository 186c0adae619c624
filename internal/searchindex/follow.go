package searchindex

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Follower keeps an Index current with the database. Every change of a record goes through
// the one write path, which records an audit event naming the record in the same transaction:
// the follower reads the events it has not seen and reads their records again. Reading the
// record (not applying the event) makes following idempotent and order-free: an event whose
// id was skipped because its transaction committed late is read when it appears, and a
// record changed twice is read once. Records inserted without events (alumnid seed) are found
// by their keys, which only grow.
type Follower struct {
	db  *sql.DB
	x   *Index
	cfg FollowConfig

	mu       sync.Mutex // one Sync at a time
	synced   time.Time  // when the last completed Sync started reading
	after    int64      // every audit id up to this one is applied (or given up)
	seen     map[int64]bool
	missing  map[int64]time.Time // ids not seen although later ones were, since when
	late     map[int64]time.Time // missing ids given up, still looked for until LateTimeout
	maxKey   int64               // the highest record key read
	ready    atomic.Bool         // Start has loaded the records
	syncedMu sync.RWMutex        // guards synced, read without mu
}

// FollowConfig tunes a Follower.
type FollowConfig struct {
	// GapTimeout is how long an audit id that is missing while later ones exist is waited for
	// (a transaction that has not committed yet) before it is given up (one rolled back).
	GapTimeout time.Duration
	// LateTimeout is how long an id given up is still looked for, in case its transaction
	// commits after all.
	LateTimeout time.Duration
}

// NewFollower returns the follower of x on the database sqlDB. Call Start before anything else.
func NewFollower(sqlDB *sql.DB, x *Index, cfg FollowConfig) *Follower {
	if cfg.GapTimeout <= 0 {
		cfg.GapTimeout = 5 * time.Second
	}
	if cfg.LateTimeout <= 0 {
		cfg.LateTimeout = time.Hour
	}
	return &Follower{db: sqlDB, x: x, cfg: cfg, seen: map[int64]bool{}, missing: map[int64]time.Time{},
		late: map[int64]time.Time{}}
}

// Open returns a follower of a new index on sqlDB, started: for tools and tests that read the
// records a few times and do not run the follower.
func Open(ctx context.Context, sqlDB *sql.DB) (*Follower, error) {
	f := NewFollower(sqlDB, New(), FollowConfig{})
	if err := f.Start(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// Start loads every record. Events from the moment before the load on are applied by the
// next Sync, so that a change made during the load is not missed.
func (f *Follower) Start(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	began := time.Now()
	after, err := f.lastEvent(ctx)
	if err != nil {
		return err
	}
	if err := f.x.Load(ctx, f.db); err != nil {
		return err
	}
	maxKey, err := f.lastKey(ctx)
	if err != nil {
		return err
	}
	f.after, f.maxKey = after, maxKey
	f.ready.Store(true)
	f.setSynced(began)
	return nil
}

// Ready reports whether Start has loaded the records.
func (f *Follower) Ready() bool { return f.ready.Load() }

// Index returns the index f keeps current.
func (f *Follower) Index() *Index { return f.x }

// ErrLoading is Sync's answer until Start has loaded the records: the replica cannot answer
// a search yet (its /readyz says so too, so a load balancer sends it none).
var ErrLoading = &derrors.Error{Kind: derrors.Unavailable, Detail: "The search index of this server is still loading; try again shortly.",
	RetryAfter: 5 * time.Second}

func (f *Follower) setSynced(t time.Time) {
	f.syncedMu.Lock()
	f.synced = t
	f.syncedMu.Unlock()
}

// Sync applies the changes committed before it was called: a caller that has just written
// reads its write. Concurrent callers share one pass over the database: a caller waiting for
// another's Sync that started after it was called returns without a pass of its own. A pass
// made for a request reads at most requestBatches batches of changes: a backlog (a large
// import, a bulk load) is left to Run, so that no request waits for it.
//
// A context marked by AsOf syncs to that moment instead of the call's: the several reads of
// one request then share a single pass.
func (f *Follower) Sync(ctx context.Context) error { return f.sync(ctx, requestBatches) }

type asOfKey struct{}

// AsOf returns ctx marked so that Sync(ctx) applies the changes committed before t (a request's
// arrival) rather than before the call.
func AsOf(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, asOfKey{}, t)
}

// requestBatches is how many batches of events, and of new keys, a pass for a request reads.
const requestBatches = 1

func (f *Follower) sync(ctx context.Context, batches int) error {
	if !f.Ready() {
		return ErrLoading
	}
	called, ok := ctx.Value(asOfKey{}).(time.Time)
	if !ok {
		called = time.Now()
	}
	covered := func() bool {
		f.syncedMu.RLock()
		defer f.syncedMu.RUnlock()
		return f.synced.After(called)
	}
	if covered() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if covered() {
		return nil
	}
	began := time.Now()
	complete, err := f.pass(ctx, began, batches)
	if err != nil {
		return err
	}
	if complete {
		f.setSynced(began)
	}
	return nil
}

// Run syncs every interval until ctx ends, so that the index stays close to the database
// when no one reads.
func (f *Follower) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.sync(ctx, 0); err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
		}
	}
}

// pass reads the new audit events and the new record keys and reads their records again, at
// most batches batches of each (0: all). It reports whether it read all there was.
func (f *Follower) pass(ctx context.Context, now time.Time, batches int) (bool, error) {
	const batch = 5000
	q := db.New(f.db)
	complete := true
	for n := 1; ; n++ {
		rows, err := q.ListAuditEntitiesAfter(ctx, db.ListAuditEntitiesAfterParams{After: f.after, Limit: batch})
		if err != nil {
			return false, fmt.Errorf("follow the audit trail: %w", err)
		}
		var publicIDs []string
		for _, r := range rows {
			if !f.seen[r.ID] && r.EntityType == "alumnus" {
				publicIDs = append(publicIDs, r.EntityID)
			}
		}
		if err := f.reload(ctx, publicIDs); err != nil {
			return false, err
		}
		for _, r := range rows {
			f.seen[r.ID] = true
		}
		f.advance(now)
		if len(rows) < batch {
			break
		}
		if n == batches {
			complete = false
			break
		}
	}
	if err := f.lookForLate(ctx, now); err != nil {
		return false, err
	}
	all, err := f.loadNewKeys(ctx, batches)
	return complete && all, err
}

// lookForLate reads the records of the ids given up that have appeared since.
func (f *Follower) lookForLate(ctx context.Context, now time.Time) error {
	if len(f.late) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(f.late))
	for id, since := range f.late {
		if now.Sub(since) > f.cfg.LateTimeout {
			delete(f.late, id)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := db.New(f.db).ListAuditEntitiesByIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("follow the audit trail: %w", err)
	}
	var publicIDs []string
	for _, r := range rows {
		delete(f.late, r.ID)
		if r.EntityType == "alumnus" {
			publicIDs = append(publicIDs, r.EntityID)
		}
	}
	return f.reload(ctx, publicIDs)
}

// advance moves after past the ids seen and the gaps waited for long enough.
func (f *Follower) advance(now time.Time) {
	for len(f.seen) > 0 {
		next := f.after + 1
		if f.seen[next] {
			delete(f.seen, next)
			delete(f.missing, next)
			f.after = next
			continue
		}
		// A later id was seen and this one not: its transaction has not committed yet, or
		// rolled back.
		first, ok := f.missing[next]
		if !ok {
			f.missing[next] = now
			return
		}
		if now.Sub(first) < f.cfg.GapTimeout {
			return
		}
		delete(f.missing, next) // given up: rolled back, or still running
		f.late[next] = now
		f.after = next
	}
}

// reload reads the records with publicIDs again and puts them in the index; those whose rows
// are gone (merged into another record) are taken out of it.
func (f *Follower) reload(ctx context.Context, publicIDs []string) error {
	slices.Sort(publicIDs)
	publicIDs = slices.Compact(publicIDs)
	q := db.New(f.db)
	var gone []string
	for len(publicIDs) > 0 {
		n := min(len(publicIDs), loadBatch)
		rows, err := q.ListAlumniByPublicIDs(ctx, publicIDs[:n])
		if err != nil {
			return fmt.Errorf("read changed alumni: %w", err)
		}
		if err := f.put(ctx, q, rows); err != nil {
			return err
		}
		if len(rows) < n {
			found := make(map[string]bool, len(rows))
			for _, r := range rows {
				found[r.PublicID] = true
			}
			for _, id := range publicIDs[:n] {
				if !found[id] {
					gone = append(gone, id)
				}
			}
		}
		publicIDs = publicIDs[n:]
	}
	f.x.RemovePublicIDs(gone...)
	return nil
}

// loadNewKeys reads the records whose keys are above the highest read — inserted without an
// audit event (a bulk load), or with one not reached yet — at most batches batches (0: all).
// It reports whether it read them all.
func (f *Follower) loadNewKeys(ctx context.Context, batches int) (bool, error) {
	q := db.New(f.db)
	for n := 1; ; n++ {
		rows, err := q.ReadAlumniAfter(ctx, db.ReadAlumniAfterParams{After: f.maxKey, Limit: loadBatch})
		if err != nil {
			return false, fmt.Errorf("read new alumni: %w", err)
		}
		if len(rows) == 0 {
			return true, nil
		}
		if err := f.put(ctx, q, rows); err != nil {
			return false, err
		}
		f.maxKey = rows[len(rows)-1].ID
		if len(rows) < loadBatch {
			return true, nil
		}
		if n == batches {
			return false, nil
		}
	}
}

func (f *Follower) put(ctx context.Context, q *db.Queries, rows []db.Alumni) error {
	records, err := alumni.WithChildren(ctx, q, rows)
	if err != nil {
		return fmt.Errorf("read changed alumni: %w", err)
	}
	docs := make([]*Doc, len(rows))
	for i, r := range rows {
		docs[i] = f.x.NewDoc(uint32(r.ID), records[i]) //nolint:gosec // keys are below 2^32 (docs/SEARCH.md)
		f.maxKey = max(f.maxKey, r.ID)
	}
	f.x.Put(docs...)
	return nil
}

func (f *Follower) lastEvent(ctx context.Context) (int64, error) {
	var id int64
	if err := f.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM audit_events").Scan(&id); err != nil {
		return 0, fmt.Errorf("read the audit trail: %w", err)
	}
	return id, nil
}

func (f *Follower) lastKey(ctx context.Context) (int64, error) {
	var id int64
	if err := f.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM alumni").Scan(&id); err != nil {
		return 0, fmt.Errorf("read the highest alumni key: %w", err)
	}
	return id, nil
}
