package searchindex_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/seed"
)

var staff = auth.Principal{UserID: "01J00000000000000000000001", Role: auth.RoleStaff}

// replica is one replica's index and follower, started on sqlDB.
func replica(t *testing.T, sqlDB *sql.DB, cfg searchindex.FollowConfig) (*searchindex.Index, *searchindex.Follower) {
	t.Helper()
	x := searchindex.New()
	f := searchindex.NewFollower(sqlDB, x, cfg)
	if f.Ready() {
		t.Fatal("ready before Start")
	}
	if err := f.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !f.Ready() {
		t.Fatal("not ready after Start")
	}
	return x, f
}

func found(t *testing.T, x *searchindex.Index, f *searchindex.Follower, word string, deleted bool) int {
	t.Helper()
	if err := f.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return x.Count(searchindex.Query{Words: []string{word}, Kinds: office, Deleted: deleted})
}

// A change written through one replica's store is read by another replica's index at its next
// Sync: create, update, delete, restore.
func TestFollowerSeesEveryChange(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	store := alumni.NewStore(sqlDB)
	ctx := t.Context()
	x, f := replica(t, sqlDB, searchindex.FollowConfig{})

	a, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Lovelace"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := found(t, x, f, "lovelace", false); n != 1 {
		t.Fatalf("created: %d", n)
	}
	if _, err := store.Update(ctx, staff, a.ID, func(alumni.Alumnus) bool { return true }, func(cur alumni.Alumnus) (alumni.Fields, error) {
		cur.LastName = "King"
		return cur.Fields, nil
	}); err != nil {
		t.Fatal(err)
	}
	if found(t, x, f, "lovelace", false) != 0 || found(t, x, f, "king", false) != 1 {
		t.Fatal("the update is not in the index")
	}
	if err := store.Delete(ctx, a.ID, func(int) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if found(t, x, f, "king", false) != 0 || found(t, x, f, "king", true) != 1 {
		t.Fatal("the delete is not in the index")
	}
	if _, err := store.Restore(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if found(t, x, f, "king", false) != 1 || found(t, x, f, "king", true) != 0 {
		t.Fatal("the restore is not in the index")
	}
	// A replica started now loads the same.
	y, g := replica(t, sqlDB, searchindex.FollowConfig{})
	if found(t, y, g, "king", false) != 1 {
		t.Fatal("a new replica does not find the record")
	}
}

// Records written without audit events (alumnid seed) are found by their keys. A request's
// Sync reads one batch of them; Run reads the rest.
func TestFollowerFindsBulkLoads(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	x, f := replica(t, sqlDB, searchindex.FollowConfig{})
	if _, err := seed.Run(t.Context(), sqlDB, seed.Options{Count: 12_000, RandSeed: 1, BatchSize: 2000}); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if x.Len() != 5000 {
		t.Fatalf("%d records after a request's sync, want one batch of 5,000", x.Len())
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx, time.Millisecond, func(err error) { t.Error(err) })
	for i := 0; x.Len() < 12_000; i++ {
		if i == 1000 { // hang guard
			t.Fatalf("%d records: Run never caught up", x.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An audit id that commits after a later one is applied when it appears — within the gap
// timeout, and after it too (then as a late id).
func TestFollowerWaitsForGaps(t *testing.T) {
	for _, c := range []struct {
		name    string
		timeout time.Duration
	}{{"within the gap timeout", time.Hour}, {"after it", time.Nanosecond}} {
		t.Run(c.name, func(t *testing.T) {
			sqlDB, _ := apitest.OpenDatabase(t)
			store := alumni.NewStore(sqlDB)
			ctx := t.Context()
			x, f := replica(t, sqlDB, searchindex.FollowConfig{GapTimeout: c.timeout})
			a, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Lovelace"}})
			if err != nil {
				t.Fatal(err)
			}
			// A transaction changes the record and takes an audit id, but does not commit yet.
			tx, err := sqlDB.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback() //nolint:errcheck // committed below
			mustExec(t, tx, "UPDATE alumni SET last_name = 'Byron' WHERE public_id = ?", a.ID)
			mustExec(t, tx, "INSERT INTO audit_events (occurred_at, action, entity_type, entity_id, changes) VALUES (NOW(6), 'alumnus.update', 'alumnus', ?, '[]')", a.ID)
			// Another change commits with a later id.
			if _, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Grace", LastName: "Hopper"}}); err != nil {
				t.Fatal(err)
			}
			if found(t, x, f, "hopper", false) != 1 || found(t, x, f, "byron", false) != 0 {
				t.Fatal("the later change is not applied, or the uncommitted one is")
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if found(t, x, f, "byron", false) != 1 || found(t, x, f, "lovelace", false) != 0 {
				t.Fatal("the change committed late is not applied")
			}
		})
	}
}

func mustExec(t *testing.T, tx *sql.Tx, query string, args ...any) {
	t.Helper()
	if _, err := tx.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

// Concurrent callers share a pass; each returns having seen what was committed before it.
// (The writes take turns: eight records with the same name written at once deadlock on the
// search words table, which this index is to replace — docs/SEARCH.md.)
func TestSyncConcurrently(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	store := alumni.NewStore(sqlDB)
	x, f := replica(t, sqlDB, searchindex.FollowConfig{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx, time.Millisecond, func(err error) { t.Error(err) })
	done := make(chan error)
	var writing sync.Mutex
	for range 8 {
		go func() {
			writing.Lock()
			_, err := store.Create(t.Context(), alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Lovelace"}})
			writing.Unlock()
			if err == nil {
				err = f.Sync(t.Context())
			}
			if err == nil && x.Count(searchindex.Query{Words: []string{"lovelace"}, Kinds: office}) == 0 {
				t.Error("a caller's own write is not in the index after its Sync")
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := found(t, x, f, "lovelace", false); n != 8 {
		t.Fatalf("%d of 8", n)
	}
}

// The reads of one request share a sync: a context marked with the request's arrival does not
// sync again for a write committed after it, a context marked later does.
func TestSyncAsOfRequestArrival(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	store := alumni.NewStore(sqlDB)
	x, f := replica(t, sqlDB, searchindex.FollowConfig{})

	arrived := searchindex.AsOf(t.Context(), time.Now())
	if err := f.Sync(arrived); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(t.Context(), alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Lovelace"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(arrived); err != nil {
		t.Fatal(err)
	}
	q := searchindex.Query{Words: []string{"lovelace"}, Kinds: office}
	if n := x.Count(q); n != 0 {
		t.Fatalf("the request's second read synced again: %d found", n)
	}
	if err := f.Sync(searchindex.AsOf(t.Context(), time.Now())); err != nil {
		t.Fatal(err)
	}
	if n := x.Count(q); n != 1 {
		t.Fatalf("a later request does not read the write: %d found", n)
	}
}

// A replica cut off from the database (its connections refused) misses nothing: while it is
// away, records are created, changed, deleted, restored, withdraw their consent and arrive by
// the thousand without audit events; once it can reach the database again, its follower
// catches up, and its index answers as a full rebuild (Load) of the same database does.
func TestReplicaCatchesUpAfterDowntimeAsARebuild(t *testing.T) {
	sqlDB, dsn := apitest.OpenDatabase(t)
	ctx := t.Context()
	store := alumni.NewStore(sqlDB)
	if _, err := seed.Run(ctx, sqlDB, seed.Options{Count: 500, RandSeed: 2, BatchSize: 500}); err != nil {
		t.Fatal(err)
	}
	proxy := apitest.NewProxy(t)
	replicaDB, err := database.Open(ctx, proxy.DSN(dsn), database.PoolConfig{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = replicaDB.Close() })
	x, f := replica(t, replicaDB, searchindex.FollowConfig{})

	proxy.Disable()
	if err := f.Sync(ctx); err == nil {
		t.Fatal("Sync succeeded with the database unreachable")
	}
	yes := true
	ada, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Lovelace"}, Consent: &yes})
	if err != nil {
		t.Fatal(err)
	}
	grace, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Grace", LastName: "Hopper"}, Consent: &yes})
	if err != nil {
		t.Fatal(err)
	}
	update := func(id string, change func(*alumni.Fields)) {
		t.Helper()
		if _, err := store.Update(ctx, staff, id, func(alumni.Alumnus) bool { return true }, func(cur alumni.Alumnus) (alumni.Fields, error) {
			change(&cur.Fields)
			return cur.Fields, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	update(ada.ID, func(f *alumni.Fields) { f.LastName = "Quibbleton" })
	update(grace.ID, func(f *alumni.Fields) { f.DirectoryConsent = false })
	if err := store.Delete(ctx, grace.ID, func(int) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, grace.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, sqlDB, seed.Options{Count: 6000, RandSeed: 3, BatchSize: 2000}); err != nil {
		t.Fatal(err)
	}

	proxy.Enable()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.Run(runCtx, time.Millisecond, func(error) {}) // errors until the pool reconnects
	rebuilt := searchindex.New()
	if err := rebuilt.Load(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	for i := 0; x.Len() < rebuilt.Len(); i++ {
		if i == 1000 { // hang guard
			t.Fatalf("%d records of %d: the replica never caught up", x.Len(), rebuilt.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	directory := func(w string) searchindex.Query {
		return searchindex.Query{Words: []string{w}, Kinds: office, DirectoryOnly: true}
	}
	for _, q := range []searchindex.Query{
		{}, {Deleted: true}, {ConsentOnly: true}, directory("quibbleton"), directory("lovelace"), directory("hopper"),
		{Words: []string{"hopper"}, Kinds: office}, {Words: []string{"ma"}, Kinds: office}, {Country: "US"}, {YearFrom: 2000},
	} {
		got, want := x.Keys(q), rebuilt.Keys(q)
		if !slices.Equal(got, want) {
			t.Errorf("%+v: %d records after catching up, %d rebuilt", q, len(got), len(want))
		}
		for _, o := range []searchindex.Order{searchindex.ByRelevance, searchindex.ByName, searchindex.ByYear} {
			if got, want := x.Page(q, o, false, nil, 25), rebuilt.Page(q, o, false, nil, 25); !slices.Equal(got, want) {
				t.Errorf("%+v, order %d: pages differ after catching up", q, o)
			}
		}
		count := []searchindex.Count{{Dim: searchindex.DimCountry}, {Dim: searchindex.DimProgram}, {Dim: searchindex.DimQuality}}
		_, got2 := x.Counts(q, count...)
		_, want2 := rebuilt.Counts(q, count...)
		for i := range got2 {
			if !slices.Equal(searchindex.Top(got2[i], 0), searchindex.Top(want2[i], 0)) {
				t.Errorf("%+v, count %d: %v after catching up, %v rebuilt", q, i, got2[i], want2[i])
			}
		}
	}
	words := func(w string) searchindex.Query { return searchindex.Query{Words: []string{w}, Kinds: office} }
	if x.Count(directory("quibbleton")) != 1 || x.Count(directory("lovelace")) != 0 || x.Count(directory("hopper")) != 0 || x.Count(words("hopper")) != 1 {
		t.Errorf("the changes made while the replica was away are not all in its index: quibbleton %d, lovelace %d, hopper %d (listed), %d",
			x.Count(directory("quibbleton")), x.Count(directory("lovelace")), x.Count(directory("hopper")), x.Count(words("hopper")))
	}
}

// A record merged into another is gone from the database, not moved to the trash: the next
// Sync takes it out of the index (its event names a public id no row has any more); undoing
// the merge brings it back under a new key.
func TestFollowerRemovesMergedRecords(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	store := alumni.NewStore(sqlDB)
	ctx := t.Context()
	x, f := replica(t, sqlDB, searchindex.FollowConfig{})
	survivor, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "King"}})
	if err != nil {
		t.Fatal(err)
	}
	absorbed, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Lovelace"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := found(t, x, f, "ada", false); n != 2 {
		t.Fatalf("before the merge: %d", n)
	}
	always := func(alumni.Alumnus) bool { return true }
	m, _, err := store.Merge(ctx, staff, alumni.MergeInput{SurvivorID: survivor.ID, AbsorbedID: absorbed.ID, SurvivorMatches: always, AbsorbedMatches: always})
	if err != nil {
		t.Fatal(err)
	}
	if found(t, x, f, "ada", false) != 1 || found(t, x, f, "lovelace", false) != 0 || found(t, x, f, "ada", true) != 0 {
		t.Fatal("the absorbed record is still in the index")
	}
	if x.Len() != 1 {
		t.Fatalf("index holds %d records, want 1", x.Len())
	}
	if _, _, err := store.UndoMerge(ctx, auth.Principal{Role: auth.RoleAdmin}, m.ID); err != nil {
		t.Fatal(err)
	}
	if found(t, x, f, "ada", false) != 2 || found(t, x, f, "lovelace", false) != 1 {
		t.Fatal("the returned record is not in the index")
	}
}
