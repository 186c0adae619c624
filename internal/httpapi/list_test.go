package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
)

// listAll follows nextCursor from the first page to the last and returns every record in order.
func listAll(t *testing.T, c *apitest.Client, query string, limit int) []api.Alumnus {
	t.Helper()
	all, _, _ := apitest.Walk[api.Alumnus](t, c, "/api/v1/alumni", query, limit)
	return all
}

func ids(as []api.Alumnus) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Id
	}
	return out
}

func TestListPagination(t *testing.T) {
	s := newServer(t)
	c := s.Client
	// Many equal names make the tie-breaker on the id matter.
	for i := range 23 {
		last := []string{"Zhang", "Ángel", "Smith", "smith", "Müller"}[i%5]
		create(t, c, map[string]any{"firstName": []string{"Ana", "Bo"}[i%2], "lastName": last})
	}
	all := listAll(t, c, "", 4)
	if len(all) != 23 {
		t.Fatalf("listed %d, want 23", len(all))
	}
	seen := map[string]bool{}
	for _, a := range all {
		if seen[a.Id] {
			t.Fatalf("%s listed twice", a.Id)
		}
		seen[a.Id] = true
	}
	// The order is stable: the same with any page size.
	if one := ids(listAll(t, c, "", 200)); strings.Join(one, ",") != strings.Join(ids(all), ",") {
		t.Errorf("order depends on the page size")
	}
	// Default page size is 25.
	var page api.AlumnusPage
	c.Get("/api/v1/alumni", nil).JSON(t, &page)
	if len(page.Items) != 23 || page.NextCursor != nil {
		t.Errorf("default page: %d items, next %v", len(page.Items), page.NextCursor)
	}
	// Sorted by last name (accent- and case-insensitively), then first name.
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if fold(a.LastName) > fold(b.LastName) || (fold(a.LastName) == fold(b.LastName) && a.FirstName > b.FirstName) {
			t.Errorf("out of order: %s %s before %s %s", a.FirstName, a.LastName, b.FirstName, b.LastName)
		}
	}
}

func fold(s string) string {
	return strings.NewReplacer("á", "a", "ü", "u").Replace(strings.ToLower(s))
}

// Records inserted while a client pages through the list never cause duplicates or gaps among
// the records that existed before it started.
func TestListPaginationWithConcurrentInserts(t *testing.T) {
	s := newServer(t)
	c := s.Client
	names := []string{"Adams", "Baker", "Clark", "Davis", "Evans", "Foster", "Garcia", "Hughes"}
	var before []string
	for i := range 40 {
		a, _ := create(t, c, map[string]any{"firstName": fmt.Sprint("P", i), "lastName": names[i%len(names)]})
		before = append(before, a.Id)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			create(t, c, map[string]any{"firstName": fmt.Sprint("N", i), "lastName": names[(i*3)%len(names)]})
		}
	})
	listed := listAll(t, c, "", 3)
	close(stop)
	wg.Wait()

	count := map[string]int{}
	for _, id := range ids(listed) {
		count[id]++
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	for _, id := range before {
		if count[id] != 1 {
			t.Errorf("%s existed throughout but was not listed", id)
		}
	}
}

func TestListFilters(t *testing.T) {
	s := newServer(t)
	c := s.Client
	deg := func(program, faculty string, year int) map[string]any {
		return map[string]any{"degree": "BSc", "program": program, "faculty": faculty, "graduationYear": year}
	}
	people := []map[string]any{
		{"firstName": "Ana", "lastName": "A", "address": map[string]any{"country": "DE"}, "tags": []any{"donor"},
			"degrees": []any{deg("Physics", "Science", 2001), deg("Law", "Law", 2010)}},
		{"firstName": "Ben", "lastName": "B", "address": map[string]any{"country": "US"}, "status": "lost_contact",
			"degrees": []any{deg("Physics", "Science", 2012)}},
		{"firstName": "Cy", "lastName": "C", "address": map[string]any{"country": "DE"}, "tags": []any{"mentor", "donor"},
			"degrees": []any{deg("History", "Arts", 2005)}},
		{"firstName": "Di", "lastName": "D", "status": "deceased"},
	}
	for _, p := range people {
		create(t, c, p)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"Ana", "Ben", "Cy", "Di"}},
		{"country=DE", []string{"Ana", "Cy"}},
		{"country=de", []string{"Ana", "Cy"}},
		{"status=lost_contact", []string{"Ben"}},
		{"status=deceased", []string{"Di"}},
		{"tag=donor", []string{"Ana", "Cy"}},
		{"tag=DONOR", []string{"Ana", "Cy"}},
		{"tag=mentor&country=DE", []string{"Cy"}},
		{"program=physics", []string{"Ana", "Ben"}},
		{"faculty=Arts", []string{"Cy"}},
		{"graduationYearFrom=2005", []string{"Ana", "Ben", "Cy"}},
		{"graduationYearTo=2004", []string{"Ana"}},
		{"graduationYearFrom=2002&graduationYearTo=2009", []string{"Cy"}},
		// Degree filters hold for one and the same degree: Ana's Physics degree is from 2001.
		{"program=Physics&graduationYearFrom=2010", []string{"Ben"}},
		{"program=Law&graduationYearFrom=2010", []string{"Ana"}},
		{"program=Nothing", nil},
		{"deleted=true", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got []string
			for _, a := range listAll(t, c, tt.query, 2) {
				got = append(got, a.FirstName)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCursorIsBoundToItsFilter(t *testing.T) {
	s := newServer(t)
	c := s.Client
	for i := range 3 {
		create(t, c, map[string]any{"firstName": fmt.Sprint("P", i), "lastName": "L", "address": map[string]any{"country": "DE"}})
	}
	var page api.AlumnusPage
	c.Get("/api/v1/alumni?limit=1&country=DE", nil).JSON(t, &page)
	if page.NextCursor == nil {
		t.Fatal("no next cursor")
	}
	cur := url.QueryEscape(*page.NextCursor)
	if r := c.Get("/api/v1/alumni?limit=2&country=DE&cursor="+cur, nil); r.Status != 200 {
		t.Errorf("same filter, other page size: %d", r.Status)
	}
	assertProblem(t, c.Get("/api/v1/alumni?limit=1&country=US&cursor="+cur, nil), 400, "cursor")
	assertProblem(t, c.Get("/api/v1/alumni?limit=1&cursor="+cur, nil), 400, "cursor")
	// A tampered cursor is refused, not trusted.
	tampered := strings.Replace(*page.NextCursor, "A", "B", 1)
	if tampered != *page.NextCursor {
		r := c.Get("/api/v1/alumni?limit=1&country=DE&cursor="+url.QueryEscape(tampered), nil)
		if r.Status != 200 && r.Status != 400 {
			t.Errorf("tampered cursor: %d", r.Status)
		}
	}
}

// Times at the ends of what RFC 3339 can say (year 0000, or 9999 west of UTC, which is 10000
// in UTC) are outside what the database stores: they filter like any time before or after
// every record, never a 500 (found by FuzzFilter's seeds).
func TestExtremeTimeFilters(t *testing.T) {
	s := newServer(t)
	create(t, s.Client, ada())
	tests := []struct {
		query string
		items int
	}{
		{"updatedSince=0000-01-01T00:00:00Z", 1},
		{"updatedSince=0000-01-01T00:00:00%2B01:00", 1},
		{"updatedSince=0001-01-01T00:00:00Z", 1},
		{"updatedSince=9999-12-31T23:59:59Z", 0},
		{"updatedSince=9999-12-31T23:59:59-23:59", 0},
	}
	for _, tt := range tests {
		if got := listAll(t, s.Client, tt.query, 10); len(got) != tt.items {
			t.Errorf("%s: %d records, want %d", tt.query, len(got), tt.items)
		}
		mustStatus(t, s.Client.Get("/api/v1/alumni/facets?"+tt.query, nil), http.StatusOK)
		mustStatus(t, s.Client.Get("/api/v1/alumni/export?format=csv&"+tt.query, nil), http.StatusOK)
	}
	for _, q := range []string{"from=0000-01-01T00:00:00%2B01:00", "to=9999-12-31T23:59:59-01:00", "from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59-23:59"} {
		mustStatus(t, s.Client.Get("/api/v1/audit-events?"+q, nil), http.StatusOK)
	}
}
