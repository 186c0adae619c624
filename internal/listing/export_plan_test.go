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

// An export gives the records of its filter, in creation order, whichever way each chunk's
// statement finds them (driving from a word's matches, gathering or walking the degree and
// tag filters) and whatever the chunk size; its records are the list's.
func TestExportPlansAgree(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	store := alumni.NewStore(sqlDB)
	reader := listing.NewReader(sqlDB)
	now := time.Now()
	firsts := []string{"Mara", "Mark", "Marta", "Ann", "Bo"}
	lasts := []string{"Marsh", "Smith", "Marquez", "Lee"}
	var created []string
	for i := range 60 {
		f := alumni.Fields{FirstName: firsts[i%len(firsts)], LastName: lasts[i%len(lasts)], Status: alumni.StatusActive,
			Degrees: []alumni.Degree{{Degree: "BA", Program: []string{"History", "Physics", "Art"}[i%3], GraduationYear: 2000 + i%7, Primary: true}}}
		if i%2 == 0 {
			f.Tags = []string{"donor"}
		}
		if err := alumni.Normalize(&f, now); err != nil {
			t.Fatal(err)
		}
		a, err := store.Create(ctx, alumni.NewRecord{Fields: f, Consent: &f.DirectoryConsent})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, a.ID)
	}
	admin := auth.Principal{Role: auth.RoleAdmin}
	filters := []listing.Filter{
		{},
		{Q: "mar"},
		{Q: "mar smi"},
		{Program: "History"},
		{Q: "mar", Program: "physics", GraduationYearFrom: 2002},
		{GraduationYearFrom: 2003, GraduationYearTo: 2005},
		{Tag: "donor"},
		{Tag: "donor", Program: "art"},
	}
	for _, f := range filters {
		reader.SetProbeLimit(1 << 30)
		page, err := reader.List(ctx, admin, f, listing.ListOptions{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var want []string // the list's records, in creation order
		for _, id := range created {
			if slices.ContainsFunc(page.Items, func(a alumni.Alumnus) bool { return a.ID == id }) {
				want = append(want, id)
			}
		}
		for _, limit := range []int{1, 1 << 30} { // probes: everything common, nothing common
			for _, chunk := range []int{7, 2000} {
				reader.SetProbeLimit(limit)
				reader.SetExportChunk(chunk)
				var got []string
				n, err := reader.Export(ctx, admin, f, func(items []alumni.Alumnus) error {
					for _, a := range items {
						got = append(got, a.ID)
						if len(a.Degrees) != 1 || (f.Tag != "" && !slices.Equal(a.Tags, []string{"donor"})) {
							t.Errorf("%s: degrees %v, tags %v", a.ID, a.Degrees, a.Tags)
						}
					}
					return nil
				})
				if err != nil || n != len(got) || len(want) == 0 || !slices.Equal(got, want) {
					t.Errorf("%+v (probe limit %d, chunk %d): exported %d (%d, %v), want the list's %d in creation order",
						f, limit, chunk, len(got), n, err, len(want))
				}
			}
		}
	}
}
