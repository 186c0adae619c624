package httpapi_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/seed"
)

// sqlBuckets runs a (value, count) query straight on the database.
func sqlBuckets(t *testing.T, db *sql.DB, query string, args ...any) []api.FacetBucket {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []api.FacetBucket{}
	for rows.Next() {
		var b api.FacetBucket
		if err := rows.Scan(&b.Value, &b.Count); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sqlCount(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Facet counts and totals on seeded data match counts written directly in SQL.
func TestFacetsMatchDirectCounts(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(t, apitest.DefaultConfig())
	if _, err := seed.Run(context.Background(), srv.DB, seed.Options{Count: 1500, RandSeed: 7}); err != nil {
		t.Fatal(err)
	}
	db := srv.DB
	var f api.Facets
	srv.Client.Get("/api/v1/alumni/facets", nil).JSON(t, &f)
	live := "SELECT COUNT(*) FROM alumni WHERE deleted_at IS NULL"
	if want := sqlCount(t, db, live); f.Total.Count != want || !f.Total.Exact {
		t.Errorf("total %+v, want %d", f.Total, want)
	}
	checks := []struct {
		name string
		got  []api.FacetBucket
		sql  string
	}{
		{"country", f.Country, "SELECT country, COUNT(*) FROM alumni WHERE deleted_at IS NULL AND country IS NOT NULL GROUP BY country ORDER BY 2 DESC, 1 LIMIT 50"},
		{"industry", f.Industry, "SELECT industry, COUNT(*) FROM alumni WHERE deleted_at IS NULL AND industry IS NOT NULL GROUP BY industry ORDER BY 2 DESC, 1 LIMIT 50"},
		{"status", deref(f.Status), "SELECT status, COUNT(*) FROM alumni WHERE deleted_at IS NULL GROUP BY status ORDER BY 2 DESC, 1"},
		{"graduationYear", f.GraduationYear, "SELECT graduation_year, COUNT(DISTINCT alumnus_id) FROM degrees GROUP BY graduation_year ORDER BY 1 DESC LIMIT 50"},
		{"program", f.Program, "SELECT program, COUNT(DISTINCT alumnus_id) FROM degrees GROUP BY program ORDER BY 2 DESC, 1 LIMIT 50"},
	}
	for _, c := range checks {
		if want := sqlBuckets(t, db, c.sql); !slices.Equal(c.got, want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, want)
		}
	}

	// With filters and a search: the same numbers as the list's total and a direct count.
	query := "q=" + url.QueryEscape("ma") + "&country=US&graduationYearFrom=2010"
	srv.Client.Get("/api/v1/alumni/facets?"+query, nil).JSON(t, &f)
	var page api.AlumnusPage
	srv.Client.Get("/api/v1/alumni?includeTotal=true&limit=1&"+query, nil).JSON(t, &page)
	all := listAll(t, srv.Client, query, 200)
	if page.Total == nil || page.Total.Count != len(all) || f.Total.Count != len(all) || !f.Total.Exact {
		t.Errorf("totals: list %+v, facets %+v, listed %d", page.Total, f.Total, len(all))
	}
	usCount := 0
	for _, b := range f.Country {
		if b.Value == "US" {
			usCount = b.Count
		} else {
			t.Errorf("country facet outside the filter: %v", b)
		}
	}
	if usCount != len(all) {
		t.Errorf("US count %d, want %d", usCount, len(all))
	}
	for _, b := range f.GraduationYear {
		if b.Value < "2010" {
			t.Errorf("graduation year facet outside the degree filter: %v", b)
		}
	}

	// A viewer's country counts hold only those who consented; alumni get no status counts.
	var vf api.Facets
	srv.As(t, auth.RoleViewer).Get("/api/v1/alumni/facets", nil).JSON(t, &vf)
	wantCountry := sqlBuckets(t, db, "SELECT country, COUNT(*) FROM alumni WHERE deleted_at IS NULL AND country IS NOT NULL AND directory_consent = TRUE GROUP BY country ORDER BY 2 DESC, 1 LIMIT 50")
	if !slices.Equal(vf.Country, wantCountry) {
		t.Errorf("viewer country facet %v, want %v", vf.Country, wantCountry)
	}
	var listed string
	if err := db.QueryRow("SELECT public_id FROM alumni WHERE directory_consent = TRUE AND status <> 'deceased' LIMIT 1").Scan(&listed); err != nil {
		t.Fatal(err)
	}
	alum := srv.AsAlumnus(t, listed)
	var af api.Facets
	alum.Get("/api/v1/alumni/facets", nil).JSON(t, &af)
	if af.Status != nil {
		t.Errorf("alumnus got status counts: %v", *af.Status)
	}
	if want := sqlCount(t, db, "SELECT COUNT(*) FROM alumni WHERE deleted_at IS NULL AND directory_consent = TRUE AND status <> 'deceased'"); af.Total.Count != want {
		t.Errorf("alumnus total %d, want %d (the directory)", af.Total.Count, want)
	}
	resp := alum.Get("/api/v1/alumni/facets?status=active", nil)
	assertProblem(t, resp, 403, "status")
}

// Totals stop counting at 10,000 and say so.
func TestListTotalIsBounded(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(t, apitest.DefaultConfig())
	if _, err := seed.Run(context.Background(), srv.DB, seed.Options{Count: 10050, RandSeed: 3, BatchSize: 2000}); err != nil {
		t.Fatal(err)
	}
	// The seed writes no audit events: the index finds its records by key, in the background.
	var page api.AlumnusPage
	for i := 0; page.Total == nil || page.Total.Count < 10000; i++ {
		if i == 1000 { // hang guard
			t.Fatalf("the index never caught up with the seed: total %+v", page.Total)
		}
		time.Sleep(10 * time.Millisecond)
		srv.Client.Get("/api/v1/alumni?includeTotal=true&limit=1", nil).JSON(t, &page)
	}
	if page.Total.Exact || page.Total.Count != 10000 {
		t.Errorf("total %+v, want a lower bound of 10000", page.Total)
	}
	srv.Client.Get("/api/v1/alumni?includeTotal=true&limit=1&country=DE", nil).JSON(t, &page)
	want := sqlCount(t, srv.DB, "SELECT COUNT(*) FROM alumni WHERE country = 'DE'")
	if page.Total == nil || !page.Total.Exact || page.Total.Count != want {
		t.Errorf("total %+v, want exactly %d", page.Total, want)
	}
	var plain api.AlumnusPage
	srv.Client.Get("/api/v1/alumni?limit=1", nil).JSON(t, &plain)
	if plain.Total != nil {
		t.Error(fmt.Sprint("total without includeTotal: ", *plain.Total))
	}
}

// Filtered reports and facets are answered by the search index, which reads the changes before
// each request: a change shows at once, counted as each role may see.
func TestFilteredCountsShowChangesAtOnce(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig())
	create := func(country string, consent bool) {
		t.Helper()
		r := s.Client.Post("/api/v1/alumni", map[string]any{"firstName": "Ada", "lastName": "King", "directoryConsent": consent,
			"address": map[string]any{"line1": "1 High Street", "city": "Town", "country": country}})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
	}
	facetsTotal := func(c *apitest.Client, query string) int {
		t.Helper()
		var f api.Facets
		r := c.Get("/api/v1/alumni/facets?"+query, nil)
		if r.Status != 200 {
			t.Fatalf("facets: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &f)
		return f.Total.Count
	}
	overview := func(c *apitest.Client, query string) int {
		t.Helper()
		var o api.AnalyticsOverview
		r := c.Get("/api/v1/analytics/overview?"+query, nil)
		if r.Status != 200 {
			t.Fatalf("overview: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &o)
		return o.Total
	}
	create("DE", false)
	create("DE", true)
	viewer := s.As(t, auth.RoleViewer)
	if got := overview(s.Client, "country=DE"); got != 2 {
		t.Fatalf("staff total %d, want 2", got)
	}
	if got := overview(viewer, "country=DE"); got != 1 {
		t.Fatalf("viewer total %d, want 1 (only who consented): the roles share an answer", got)
	}
	create("DE", true)
	if got := overview(s.Client, "country=DE"); got != 3 {
		t.Errorf("staff total %d after a create, want 3", got)
	}
	if got := overview(viewer, "country=DE"); got != 2 {
		t.Errorf("viewer total %d after a create, want 2", got)
	}
	if got := overview(s.Client, "country=DE&status=active"); got != 3 {
		t.Errorf("another filter: %d, want 3", got)
	}
	if got := overview(s.Client, ""); got != 3 {
		t.Errorf("unfiltered overview %d, want the exact 3", got)
	}
	if got, want := facetsTotal(s.Client, "country=DE"), 3; got != want {
		t.Errorf("facets total %d, want %d at once", got, want)
	}
	if got, want := facetsTotal(viewer, "country=DE"), 2; got != want {
		t.Errorf("viewer's facets total %d, want %d", got, want)
	}
}
