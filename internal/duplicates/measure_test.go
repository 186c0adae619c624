package duplicates_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/duplicates"
)

// The finder on a seeded database with planted duplicates (docs/STEWARDSHIP.md): the time of a
// full pass in memory and, against the truth file, the precision of its first 1,000 pairs and
// its recall. Run:
//
//	./bin/alumnid --db-dsn 'root@tcp(127.0.0.1:3306)/alumni_dup1m' migrate up --create-database
//	./bin/alumnid --db-dsn 'root@tcp(127.0.0.1:3306)/alumni_dup1m' seed --alumni 1000000 --batch 2000 \
//	  --duplicates 0.02 --duplicates-truth bin/dup1m-truth.csv
//	DUPLICATES_BENCH_DSN='root@tcp(127.0.0.1:3306)/alumni_dup1m' DUPLICATES_TRUTH=$PWD/bin/dup1m-truth.csv \
//	  go test ./internal/duplicates/ -run TestMeasure -v -timeout 30m
func TestMeasure(t *testing.T) {
	dsn := os.Getenv("DUPLICATES_BENCH_DSN")
	if dsn == "" {
		t.Skip("DUPLICATES_BENCH_DSN is not set")
	}
	ctx := context.Background()
	sqlDB, err := database.Open(ctx, dsn, database.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	start := time.Now()
	records := readAll(ctx, t, db.New(sqlDB))
	read := time.Since(start)
	start = time.Now()
	pairs := duplicates.Find(records)
	took := time.Since(start)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	t.Logf("%d records read in %v; Find: %d likely pairs in %v (heap %d MiB at the end)", len(records), read.Round(time.Millisecond),
		len(pairs), took.Round(time.Millisecond), m.HeapInuse>>20)
	path := os.Getenv("DUPLICATES_TRUTH")
	if path == "" {
		return
	}
	planted := readTruth(t, path)
	top := pairs[:min(len(pairs), 1000)]
	right := 0
	for _, p := range top {
		if _, ok := planted[[2]string{p.A, p.B}]; ok {
			right++
		}
	}
	found := map[[2]string]bool{}
	for _, p := range pairs {
		found[[2]string{p.A, p.B}] = true
	}
	missed, wrong := map[string]int{}, map[string]int{}
	for k, v := range planted {
		if !found[k] {
			missed[v]++
		}
	}
	for _, p := range pairs {
		if _, ok := planted[[2]string{p.A, p.B}]; !ok {
			wrong[string(p.Reasons[0])]++
		}
	}
	t.Logf("%d planted pairs; precision of the first %d: %.3f; precision of all %d: %.3f (wrong, by first reason: %v); recall %.3f (missed by variation: %v)",
		len(planted), len(top), float64(right)/float64(len(top)), len(pairs), float64(len(pairs)-sum(wrong))/float64(len(pairs)), wrong,
		float64(len(planted)-sum(missed))/float64(len(planted)), missed)
}

// The stored queue on the same database: the time to score every record's pairs (what the
// workers do after migration 000026, or `alumnid reindex`), the queue's first page, a record's
// likely duplicates scored on demand (the check on create), and the precision and recall of
// the queue's first 1,000 pairs against the truth. Run after TestMeasure's seed:
//
//	DUPLICATES_BENCH_DSN=… DUPLICATES_TRUTH=… go test ./internal/duplicates/ -run TestMeasureQueue -v -timeout 60m
func TestMeasureQueue(t *testing.T) {
	dsn := os.Getenv("DUPLICATES_BENCH_DSN")
	if dsn == "" {
		t.Skip("DUPLICATES_BENCH_DSN is not set")
	}
	ctx := context.Background()
	sqlDB, err := database.Open(ctx, dsn, database.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	store := duplicates.NewStore(sqlDB)
	if os.Getenv("DUPLICATES_REBUILD") != "" {
		start := time.Now()
		done := 0
		if err := store.Rebuild(ctx, func(n int) {
			if n/100_000 != done/100_000 {
				t.Logf("%d records scored in %v", n, time.Since(start).Round(time.Second))
			}
			done = n
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("Rebuild: %d records in %v", done, time.Since(start).Round(time.Millisecond))
	}
	if os.Getenv("DUPLICATES_DRAIN") != "" { // as the workers do after a seed or migration 000026
		start := time.Now()
		done := 0
		for {
			n, err := store.Work(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if (done+n)/100_000 != done/100_000 {
				t.Logf("%d marked records scored in %v", done+n, time.Since(start).Round(time.Second))
			}
			done += n
		}
		t.Logf("Work: %d marked records scored in %v by one worker", done, time.Since(start).Round(time.Millisecond))
	}
	admin := auth.Principal{UserID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1A", Role: auth.RoleAdmin}
	var firstPage []time.Duration
	var top []duplicates.Pair
	for i := range 20 {
		start := time.Now()
		p, err := store.List(ctx, admin, duplicates.Open, 50, "")
		firstPage = append(firstPage, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			top = p.Items
		}
	}
	cursor := ""
	top = top[:0]
	start := time.Now()
	for len(top) < 1000 {
		p, err := store.List(ctx, admin, duplicates.Open, 200, cursor)
		if err != nil {
			t.Fatal(err)
		}
		top = append(top, p.Items...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	t.Logf("queue: first page of 50 (records included) %s; the first %d pairs in pages of 200: %v",
		durations(firstPage), len(top), time.Since(start).Round(time.Millisecond))

	// A record's likely duplicates scored on demand, for records spread over the table.
	q := db.New(sqlDB)
	var ids []string
	var after int64
	for len(ids) < 300 {
		rows, err := q.ReadAlumniAfter(ctx, db.ReadAlumniAfterParams{After: after, Limit: 1})
		if err != nil || len(rows) == 0 {
			break
		}
		ids = append(ids, rows[0].PublicID)
		after = rows[0].ID + 3331
	}
	var of []time.Duration
	found := 0
	for _, id := range ids {
		start := time.Now()
		pairs, err := store.Of(ctx, admin, id)
		of = append(of, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) > 0 {
			found++
		}
	}
	t.Logf("likely duplicates of one record (the create check), %d records (%d with some): %s", len(ids), found, durations(of))

	path := os.Getenv("DUPLICATES_TRUTH")
	if path == "" {
		return
	}
	planted := readTruth(t, path)
	right := 0
	for _, p := range top[:min(len(top), 1000)] {
		if _, ok := planted[[2]string{p.Records[0].ID, p.Records[1].ID}]; ok {
			right++
		}
	}
	var stored int
	if err := sqlDB.QueryRow("SELECT COUNT(*) FROM duplicate_pairs WHERE status = 'open'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	all, _ := readStored(ctx, t, sqlDB)
	hit := 0
	for k := range planted {
		if all[k] {
			hit++
		}
	}
	t.Logf("queue: %d open pairs; precision of the first %d: %.3f; recall of the %d planted: %.3f",
		stored, min(len(top), 1000), float64(right)/float64(min(len(top), 1000)), len(planted), float64(hit)/float64(len(planted)))
}

func readTruth(t *testing.T, path string) map[[2]string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read only
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	planted := map[[2]string]string{}
	for _, r := range rows[1:] {
		a, b := r[0], r[1]
		if b < a {
			a, b = b, a
		}
		planted[[2]string{a, b}] = r[2]
	}
	return planted
}

// readStored returns the open pairs of the queue by public ids.
func readStored(ctx context.Context, t *testing.T, sqlDB *sql.DB) (map[[2]string]bool, error) {
	t.Helper()
	rows, err := sqlDB.QueryContext(ctx, `SELECT a.public_id, b.public_id FROM duplicate_pairs p
		JOIN alumni a ON a.id = p.low_id JOIN alumni b ON b.id = p.high_id WHERE p.status = 'open'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close() //nolint:errcheck // read only
	out := map[[2]string]bool{}
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		if b < a {
			a, b = b, a
		}
		out[[2]string{a, b}] = true
	}
	return out, rows.Err()
}

// durations summarises ds: median, 99th percentile and maximum.
func durations(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		return s[min(len(s)-1, int(p*float64(len(s))))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("p50 %v, p99 %v, max %v (n=%d)", at(0.5), at(0.99), s[len(s)-1].Round(10*time.Microsecond), len(s))
}
