package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/seed"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := seed.NewGenerator(7, 0, now), seed.NewGenerator(7, 0, now)
	other := seed.NewGenerator(8, 0, now)
	same := 0
	for i := 1; i <= 200; i++ {
		x, y, z := a.Next(i), b.Next(i), other.Next(i)
		if diff := cmp.Diff(x, y); diff != "" {
			t.Fatalf("person %d differs for the same seed:\n%s", i, diff)
		}
		if cmp.Equal(x, z) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d people are the same for different seeds", same)
	}
}

func TestGeneratedPeopleAreValidAndVaried(t *testing.T) {
	g := seed.NewGenerator(1, 0, now)
	countries, multiDegree, statuses := map[string]int{}, 0, map[alumni.Status]int{}
	const n = 3000
	for i := 1; i <= n; i++ {
		f := g.Next(i)
		if err := alumni.Normalize(&f, now); err != nil {
			t.Fatalf("person %d: %v", i, err)
		}
		countries[f.Address.Country]++
		if len(f.Degrees) > 1 {
			multiDegree++
		}
		statuses[f.Status]++
	}
	if len(countries) < 25 {
		t.Errorf("only %d countries", len(countries))
	}
	if countries["US"] < n/2 || countries["US"] > n*9/10 {
		t.Errorf("%d of %d in the US: the distribution should be skewed, not total", countries["US"], n)
	}
	if multiDegree < n/10 || multiDegree > n/3 {
		t.Errorf("%d people with several degrees", multiDegree)
	}
	if statuses[alumni.StatusDeceased] == 0 || statuses[alumni.StatusLostContact] == 0 {
		t.Errorf("statuses: %v", statuses)
	}
}

// Seeded rows read back through the store exactly as generated: the bulk path and the store
// agree on every column.
func TestRunLoadsWhatItGenerates(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	n, err := seed.Run(ctx, sqlDB, seed.Options{Count: 250, RandSeed: 3, BatchSize: 100, Now: now})
	if err != nil || n != 250 {
		t.Fatalf("Run: %d, %v", n, err)
	}
	// A second run continues the numbering: no clash on student ids or emails.
	if n, err := seed.Run(ctx, sqlDB, seed.Options{Count: 50, RandSeed: 3, Now: now}); err != nil || n != 50 {
		t.Fatalf("second Run: %d, %v", n, err)
	}
	store := alumni.NewStore(sqlDB)
	g := seed.NewGenerator(3, 0, now)
	byStudentID := map[string]alumni.Fields{}
	for i := 1; i <= 250; i++ {
		f := g.Next(i)
		if err := alumni.Normalize(&f, now); err != nil {
			t.Fatal(err)
		}
		byStudentID[f.StudentID] = f
	}
	search, err := searchindex.Open(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	page, err := listing.NewReader(sqlDB, search).List(ctx, auth.Principal{Role: auth.RoleAdmin}, listing.Filter{}, listing.ListOptions{Limit: page.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, a := range page.Items {
		want, ok := byStudentID[a.StudentID]
		if !ok {
			continue
		}
		got, err := store.Get(ctx, auth.Principal{Role: auth.RoleAdmin}, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got.Fields); diff != "" {
			t.Fatalf("%s read back differently (-generated +stored):\n%s", a.StudentID, diff)
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("checked only %d records", checked)
	}
}
