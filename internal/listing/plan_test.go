package listing_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/listing"
)

// Both ways of running a page (from the matches of a word or degree filter, or walking the
// order's index and checking each record) give the same pages.
func TestQueryPlansAgree(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	store := alumni.NewStore(sqlDB)
	reader := listing.NewReader(sqlDB)
	now := time.Now()
	firsts := []string{"Mara", "Mark", "Marta", "Ann", "Bo"}
	lasts := []string{"Marsh", "Smith", "Marquez", "Lee"}
	for i := range 60 {
		f := alumni.Fields{FirstName: firsts[i%len(firsts)], LastName: lasts[i%len(lasts)], Status: alumni.StatusActive,
			Degrees: []alumni.Degree{{Degree: "BA", Program: []string{"History", "Physics", "Art"}[i%3], GraduationYear: 2000 + i%7, Primary: true}}}
		if i%2 == 0 {
			f.Tags = []string{"donor"}
		}
		if err := alumni.Normalize(&f, now); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Create(ctx, alumni.NewRecord{Fields: f, Consent: &f.DirectoryConsent}); err != nil {
			t.Fatal(err)
		}
	}
	admin := auth.Principal{Role: auth.RoleAdmin}
	filters := []listing.Filter{
		{Q: "mar"},
		{Q: "mar smi"},
		{Program: "History"},
		{Q: "mar", Program: "physics", GraduationYearFrom: 2002},
		{GraduationYearFrom: 2003, GraduationYearTo: 2005},
		{Tag: "donor"},
		{Tag: "donor", Program: "art"},
	}
	for _, f := range filters {
		for _, sort := range []listing.Sort{listing.SortLastName, listing.SortGraduationYearDesc, listing.SortUpdatedAt} {
			var results [][]string
			for _, limit := range []int{1, 1 << 30} { // probes: everything common, nothing common
				reader.SetProbeLimit(limit)
				var got []string
				cursor := ""
				for {
					p, err := reader.List(ctx, admin, f, listing.ListOptions{Sort: sort, After: cursor, Limit: 7})
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range p.Items {
						got = append(got, a.ID)
					}
					if cursor = p.NextCursor; cursor == "" {
						break
					}
				}
				results = append(results, got)
			}
			if len(results[0]) == 0 || !slices.Equal(results[0], results[1]) {
				t.Errorf("%+v by %s: walking %d records, driving %d, or they differ", f, sort, len(results[0]), len(results[1]))
			}
		}
	}
}
