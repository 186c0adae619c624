package listing

import (
	"fmt"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/alumni"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// FuzzFilter feeds list filters and orders as a client can send them (any strings, any
// years, any updatedSince the RFC 3339 parser accepts, any role) through what a list does:
// prepare, resolveSort, the cursor of a page, and the index's page and count. Refusals are
// Malformed or Forbidden and nothing else; a page's cursor decodes to its position for the
// same filter and order; the index answers every prepared filter without failing.
func FuzzFilter(f *testing.F) {
	f.Add("mar smi", "fr", "BA", "History", "donor", "", "lastName", "Lee", "01JD3M5X7V8Q9R2S4T6W8Y0Z1A", 2000, 2010, uint8(0), false)
	f.Add("o'brien; DROP TABLE alumni --", "x' OR '1'='1", "\\", "%_", "?", "2024-01-02T03:04:05Z", "relevance", "O'Brien", "?", 0, 0, uint8(1), false)
	f.Add("", "", "", "", "", "0000-01-01T00:00:00+01:00", "relevance", "", "", 2010, 2000, uint8(2), true)
	f.Add("José", "DE", "", "", "alumni", "9999-12-31T23:59:59-01:00", "-updatedAt", "\xff", "id", -1, 1<<40, uint8(3), true)
	f.Add("\x00", "", "", "", "", "", "-graduationYear", "", "", 0, 0, uint8(4), false)
	f.Fuzz(func(t *testing.T, q, country, degree, program, tag, updatedSince, sortName, lastName, publicID string,
		yearFrom, yearTo int, who uint8, deleted bool,
	) {
		roles := []auth.Role{auth.RoleAdmin, auth.RoleStaff, auth.RoleViewer, auth.RoleAlumnus, ""}
		p := auth.Principal{UserID: "u", Role: roles[int(who)%len(roles)]}
		filter := Filter{Q: q, Country: country, City: country, Degree: degree, Program: program, Faculty: program,
			Industry: degree, Employer: program, Tag: tag, Status: alumni.Status(degree),
			GraduationYearFrom: yearFrom, GraduationYearTo: yearTo, Deleted: deleted}
		if who&8 != 0 {
			consent := who&16 != 0
			filter.DirectoryConsent = &consent
		}
		if ts, err := time.Parse(time.RFC3339Nano, updatedSince); err == nil {
			filter.UpdatedSince = ts // what the generated binding passes on
		}
		if err := prepare(p, &filter); err != nil {
			if k := derrors.KindOf(err); k != derrors.Malformed && k != derrors.Forbidden {
				t.Fatalf("prepare: error of kind %d: %v", k, err)
			}
			return
		}
		sort, err := resolveSort(Sort(sortName), filter)
		if err != nil {
			if derrors.KindOf(err) != derrors.Malformed {
				t.Fatalf("resolveSort: error of kind %d: %v", derrors.KindOf(err), err)
			}
			return
		}
		if !sort.valid() {
			t.Fatalf("resolveSort gave %q", sort)
		}

		if utf8.RuneCountInString(lastName) > 100 || utf8.RuneCountInString(program) > 100 || len(publicID) > 26 {
			return // a cursor holds a stored record's values, which are no longer than this
		}
		order, desc := sort.index()
		pos := positionOf(order, searchindex.Position{Score: yearFrom, ClassYear: yearTo, LastName: lastName, FirstName: program,
			PublicID: publicID, UpdatedAt: time.Unix(int64(yearFrom)%(1<<33), 0).UTC()})
		bound := cursorScope{Filter: filter, Sort: sort}
		cursor := page.Encode(pos, bound)
		var back position
		if err := page.Decode(cursor, bound, &back); err != nil {
			t.Fatalf("a page's own cursor is refused: %v", err)
		}
		if utf8.ValidString(lastName) && utf8.ValidString(program) && utf8.ValidString(publicID) && back != pos {
			t.Fatalf("cursor round trip: %+v, want %+v", back, pos)
		}

		// The index answers any prepared filter, from the first page and from the cursor.
		after := searchindex.Position{Score: back.Score, ClassYear: back.ClassYear, UpdatedAt: back.UpdatedAt,
			LastName: back.LastName, FirstName: back.FirstName, PublicID: back.PublicID}
		iq := filter.query()
		all := fuzzIndex.Keys(iq)
		first := fuzzIndex.Page(iq, order, desc, nil, page.MaxLimit)
		if len(first) != len(all) || fuzzIndex.Count(iq) != len(all) {
			t.Fatalf("first page %d, count %d, matches %d", len(first), fuzzIndex.Count(iq), len(all))
		}
		for _, h := range fuzzIndex.Page(iq, order, desc, &after, 2) {
			if !slices.Contains(all, h.Key) {
				t.Fatalf("a page after a cursor holds %d, which does not match", h.Key)
			}
		}
	})
}

// fuzzIndex holds a few records for FuzzFilter's queries to find.
var fuzzIndex = func() *searchindex.Index {
	x := searchindex.New()
	for i, n := range [][2]string{{"Mara", "Smith"}, {"José", "O'Brien"}, {"Lee", "Marsh"}, {"Ada", "Lovelace"}} {
		a := alumni.Alumnus{ID: fmt.Sprintf("01JD3M5X7V8Q9R2S4T6W8Y0Z%02d", i), Fields: alumni.Fields{FirstName: n[0], LastName: n[1],
			Status: alumni.StatusActive, DirectoryConsent: i%2 == 0, Tags: []string{"donor"},
			Degrees: []alumni.Degree{{Degree: "BA", Program: "History", GraduationYear: 2000 + i}}}}
		a.Address.Country = "FR"
		x.Put(x.NewDoc(uint32(i+1), a))
	}
	return x
}()
