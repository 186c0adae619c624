package duplicates_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/duplicates"
	"github.com/alumnid/alumnid/internal/seed"
)

// storedPairs returns the open pairs of the queue as "A B score reasons" lines, sorted.
func storedPairs(t *testing.T, sqlDB *sql.DB, status string) []string {
	t.Helper()
	rows, err := sqlDB.Query(`SELECT a.public_id, b.public_id, p.score, p.reasons FROM duplicate_pairs p
		JOIN alumni a ON a.id = p.low_id JOIN alumni b ON b.id = p.high_id WHERE p.status = ?`, status)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close() //nolint:errcheck // read only
	var out []string
	for rows.Next() {
		var a, b, reasons string
		var score int
		if err := rows.Scan(&a, &b, &score, &reasons); err != nil {
			t.Fatal(err)
		}
		out = append(out, line(a, b, float64(score)/1000, reasons))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func line(a, b string, score float64, reasons string) string {
	if b < a {
		a, b = b, a
	}
	return fmt.Sprintf("%s %s %.3f %s", a, b, score, reasons)
}

func drain(ctx context.Context, t *testing.T, s *duplicates.Store) {
	t.Helper()
	for {
		n, err := s.Work(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestStoredQueueAgreesWithFind: the queue the workers keep from the marks the write path
// leaves is exactly the pairs the in-memory finder finds over the same records (the same
// candidates, scores and reasons); Rebuild makes the same queue again from damage, and keeps
// a dismissal.
func TestStoredQueueAgreesWithFind(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	if _, err := seed.Run(ctx, sqlDB, seed.Options{Count: 4000, RandSeed: 23, BatchSize: 1000, Duplicates: 0.03}); err != nil {
		t.Fatal(err)
	}
	store := duplicates.NewStore(sqlDB)
	drain(ctx, t, store)
	var want []string
	for _, p := range duplicates.Find(readAll(ctx, t, db.New(sqlDB))) {
		reasons := ""
		for i, r := range p.Reasons {
			if i > 0 {
				reasons += ","
			}
			reasons += string(r)
		}
		want = append(want, line(p.A, p.B, math.Round(p.Score*1000)/1000, reasons))
	}
	slices.Sort(want)
	if len(want) < 100 {
		t.Fatalf("only %d likely pairs among the seeded records", len(want))
	}
	got := storedPairs(t, sqlDB, "open")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("the stored queue differs from Find (-find +stored):\n%s", diff)
	}

	// A dismissal; then damage: pairs lost, a pair that is not likely, a score changed.
	admin := auth.Principal{UserID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1A", Role: auth.RoleAdmin}
	page, err := store.List(ctx, admin, duplicates.Open, 1, "")
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("first page: %v, %v", page, err)
	}
	dismissed := page.Items[0].ID
	if _, err := store.Decide(ctx, admin, dismissed, duplicates.Dismissed); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DELETE FROM duplicate_pairs WHERE status = 'open' ORDER BY low_id LIMIT 20",
		"UPDATE duplicate_pairs SET score = 999 WHERE status = 'open' ORDER BY high_id LIMIT 3",
		"INSERT INTO duplicate_pairs (low_id, high_id, score, reasons, status, scored_at) SELECT MIN(id), MAX(id), 700, 'same-name', 'open', UTC_TIMESTAMP(6) FROM alumni",
	} {
		if _, err := sqlDB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got = storedPairs(t, sqlDB, "open")
	wantOpen := slices.DeleteFunc(slices.Clone(want), func(l string) bool { return l[:len(dismissed)] == dismissedLine(dismissed) })
	if diff := cmp.Diff(wantOpen, got); diff != "" {
		t.Errorf("after Rebuild, the queue differs from Find (-find +stored):\n%s", diff)
	}
	if d := storedPairs(t, sqlDB, "dismissed"); len(d) != 1 || d[0][:len(dismissed)] != dismissedLine(dismissed) {
		t.Errorf("dismissed pairs after Rebuild = %v, want %s", d, dismissed)
	}
}

// dismissedLine is the start of a storedPairs line of pair id.
func dismissedLine(id string) string { return id[:26] + " " + id[27:] }
