package duplicates_test

import (
	"context"
	"encoding/csv"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/db"
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
