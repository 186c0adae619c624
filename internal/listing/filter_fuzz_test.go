package listing

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/alumni"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
)

// FuzzFilter feeds list filters and orders as a client can send them (any strings, any
// years, any updatedSince the RFC 3339 parser accepts, any role) through what a list does
// before it reaches the database: prepare, resolveSort, the cursor of a page and the
// statements of a page and a count, under every plan. Refusals are Malformed or Forbidden
// and nothing else; no value ever becomes statement text (every value is an argument, one per
// placeholder); a page's cursor decodes to its position for the same filter and order.
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
		pos := position{Score: yearFrom, ClassYear: yearTo, LastName: lastName, FirstName: program, PublicID: publicID,
			UpdatedAt: time.Unix(int64(yearFrom)%(1<<33), 0).UTC()}
		bound := cursorScope{Filter: filter, Sort: sort}
		keys := sort.keys()
		cursor := page.Encode(used(keys, pos), bound)
		var back position
		if err := page.Decode(cursor, bound, &back); err != nil {
			t.Fatalf("a page's own cursor is refused: %v", err)
		}
		if utf8.ValidString(lastName) && utf8.ValidString(program) && utf8.ValidString(publicID) && back != used(keys, pos) {
			t.Fatalf("cursor round trip: %+v, want %+v", back, used(keys, pos))
		}

		for plan := range 8 {
			filter.plan = queryPlan{drive: plan&1 != 0 && len(filter.words) > 0, walkDegrees: plan&2 != 0, walkTag: plan&4 != 0}
			checkStatement(t, pageStatement(filter, sort, nil, page.MaxLimit))
			checkStatement(t, pageStatement(filter, sort, &pos, 1))
			var count sqlText
			fromClause, fromArgs := from(filter)
			count.add("SELECT COUNT(*) FROM (SELECT 1"+fromClause, fromArgs...)
			c := where(filter)
			c.writeTo(&count)
			checkStatement(t, &count)
		}
	})
}

// checkStatement fails unless q is made of fixed text only: as many arguments as placeholders,
// and no quote, backslash, semicolon or comment besides the one fixed string literal.
func checkStatement(t *testing.T, q *sqlText) {
	t.Helper()
	text := strings.ReplaceAll(q.String(), "'deceased'", "")
	if n := strings.Count(text, "?"); n != len(q.args) {
		t.Fatalf("%d placeholders, %d arguments: %s", n, len(q.args), q.String())
	}
	for _, bad := range []string{"'", `"`, "`", `\`, ";", "--", "#", "/*"} {
		if strings.Contains(text, bad) {
			t.Fatalf("%q in statement text: %s", bad, q.String())
		}
	}
}
