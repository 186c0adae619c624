package searchindex_test

import (
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/seed"
)

// TestLoad loads a seeded database (more records than one batch) and finds in the index what
// the database holds.
func TestLoad(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	const n = 12_000
	if _, err := seed.Run(t.Context(), sqlDB, seed.Options{Count: n, BatchSize: 2000, RandSeed: 7}); err != nil {
		t.Fatal(err)
	}
	x := searchindex.New()
	if err := x.Load(t.Context(), sqlDB); err != nil {
		t.Fatal(err)
	}
	if x.Len() != n {
		t.Fatalf("%d records loaded, want %d", x.Len(), n)
	}
	for _, c := range []struct {
		sql string
		q   searchindex.Query
	}{
		{"SELECT COUNT(*) FROM alumni WHERE deleted_at IS NULL AND country = 'US'", searchindex.Query{Country: "US"}},
		{"SELECT COUNT(DISTINCT alumnus_id) FROM degrees WHERE program = 'Law'", searchindex.Query{Program: "Law"}},
		{"SELECT COUNT(DISTINCT t.alumnus_id) FROM alumni_tags t JOIN alumni a ON a.id = t.alumnus_id WHERE a.deleted_at IS NULL AND t.tag = 'mentor'",
			searchindex.Query{Words: []string{"mentor"}, Kinds: []string{"t"}}},
	} {
		var want int
		if err := sqlDB.QueryRow(c.sql).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := x.Count(c.q); got != want || want == 0 {
			t.Errorf("%s: index %d, database %d", c.sql, got, want)
		}
	}
}
