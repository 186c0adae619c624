package listing_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// TestMeasure times what a request of each shape costs below HTTP — the index sync, the match,
// the record reads, the counts — on a seeded database, one call at a time (service time), so
// that the HTTP figures of docs/PERFORMANCE.md can be split into the listing's part and the
// rest. Run (with -cpuprofile to see where the time goes):
//
//	LISTING_BENCH_DSN='root@tcp(127.0.0.1:3306)/alumni_1m' go test ./internal/listing/ -run TestMeasure -v -timeout 30m
func TestMeasure(t *testing.T) {
	dsn := os.Getenv("LISTING_BENCH_DSN")
	if dsn == "" {
		t.Skip("LISTING_BENCH_DSN is not set")
	}
	ctx := context.Background()
	sqlDB, err := database.Open(ctx, dsn, database.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	search, err := searchindex.Open(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	r := listing.NewReader(sqlDB, search)
	admin := auth.Principal{UserID: "measure", Role: auth.RoleAdmin}
	list := func(f listing.Filter, sort listing.Sort) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := r.List(ctx, admin, f, listing.ListOptions{Limit: 25, Sort: sort})
			return err
		}
	}
	facets := func(f listing.Filter) func(context.Context) error {
		return func(ctx context.Context) error { _, err := r.Facets(ctx, admin, f); return err }
	}
	for _, c := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"list, prefix jo", list(listing.Filter{Q: "jo"}, "")},
		{"list, prefix mar", list(listing.Filter{Q: "mar"}, "")},
		{"list, smith", list(listing.Filter{Q: "smith"}, "")},
		{"list, okonkwo", list(listing.Filter{Q: "okonkwo"}, "")},
		{"list, maria garcia", list(listing.Filter{Q: "maria garcia"}, "")},
		{"list, mar by name", list(listing.Filter{Q: "mar"}, listing.SortLastName)},
		{"list, country DE", list(listing.Filter{Country: "DE"}, "")},
		{"facets, none", facets(listing.Filter{})},
		{"facets, okonkwo", facets(listing.Filter{Q: "okonkwo"})},
		{"facets, smith", facets(listing.Filter{Q: "smith"})},
		{"facets, program History", facets(listing.Filter{Program: "History"})},
		{"report overview, country DE", func(ctx context.Context) error {
			_, err := r.Overview(ctx, admin, listing.Filter{Country: "DE"})
			return err
		}},
		{"report geography, from 2020", func(ctx context.Context) error {
			_, err := r.Geography(ctx, admin, listing.Filter{GraduationYearFrom: 2020})
			return err
		}},
	} {
		var took []time.Duration
		for i := range 40 {
			// A new request each time, as HTTP makes: each syncs the index once.
			ctx := searchindex.AsOf(ctx, time.Now())
			start := time.Now()
			if err := c.run(ctx); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if i >= 5 { // warm
				took = append(took, time.Since(start))
			}
		}
		slices.Sort(took)
		t.Logf("%-30s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms", c.name, ms(took[len(took)/2]), ms(took[len(took)*99/100]), ms(took[len(took)-1]))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
