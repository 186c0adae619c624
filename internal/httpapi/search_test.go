package httpapi_test

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// person is a compact record for search tests.
func person(first, last string, extra map[string]any) map[string]any {
	m := map[string]any{"firstName": first, "lastName": last}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func degree(program string, year int) []map[string]any {
	return []map[string]any{{"degree": "BSc", "program": program, "faculty": "Faculty of Science", "graduationYear": year, "primary": true}}
}

// names returns "First Last" of each record.
func names(as []api.Alumnus) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.FirstName + " " + a.LastName
	}
	return out
}

func search(t *testing.T, c *apitest.Client, query string) []string {
	t.Helper()
	return names(listAll(t, c, query, 200))
}

func TestSearchMatchesWordPrefixesIgnoringCaseAndAccents(t *testing.T) {
	s := newServer(t)
	c := s.Client
	for _, p := range []map[string]any{
		person("María", "Núñez", nil),
		person("Mark", "Okafor", nil),
		person("Jürgen", "Müller", nil),
		person("Seán", "O'Brien", nil),
		person("Jean-Luc", "Picard", nil),
		person("Ana", "Lopez", map[string]any{"enrolledName": "Ana Martínez"}),
		person("Bo", "Chen", map[string]any{"employment": map[string]any{"employer": "Marlowe & Sons", "jobTitle": "Engineer"}}),
		person("Cy", "Diaz", map[string]any{"preferredName": "Straße"}),
		person("Zed", "Young", nil),
	} {
		create(t, c, p)
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"mar", []string{"Ana Lopez", "María Núñez", "Mark Okafor", "Bo Chen"}}, // names first (then by name), then employer
		{"MARIA", []string{"María Núñez"}},
		{"nunez", []string{"María Núñez"}},
		{"müll", []string{"Jürgen Müller"}},
		{"mull", []string{"Jürgen Müller"}},
		{"o'brien", []string{"Seán O'Brien"}},
		{"obri", []string{"Seán O'Brien"}},
		{"brien", []string{"Seán O'Brien"}},
		{"sean", []string{"Seán O'Brien"}},
		{"jean-luc", []string{"Jean-Luc Picard"}},
		{"luc pic", []string{"Jean-Luc Picard"}},
		{"martinez", []string{"Ana Lopez"}}, // the name used while enrolled
		{"strasse", []string{"Cy Diaz"}},
		{"mar oka", []string{"Mark Okafor"}}, // every word must match
		{"mar zzz", nil},
		{"engineer marlowe", []string{"Bo Chen"}},
		{"%", nil}, // no words: refused below, not a wildcard
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			resp := c.Get("/api/v1/alumni?q="+url.QueryEscape(tt.q), nil)
			if tt.q == "%" {
				assertProblem(t, resp, 400, "q")
				return
			}
			var page api.AlumnusPage
			resp.JSON(t, &page)
			got := names(page.Items)
			if tt.q == "mar" { // the two name matches tie on relevance and come in name order
				if !slices.Equal(got, tt.want) {
					t.Fatalf("q=%q: got %q, want %q", tt.q, got, tt.want)
				}
				return
			}
			if !slices.Equal(sortedCopy(got...), sortedCopy(tt.want...)) {
				t.Fatalf("q=%q: got %q, want %q", tt.q, got, tt.want)
			}
		})
	}
}

func TestSearchRelevanceOrder(t *testing.T) {
	s := newServer(t)
	c := s.Client
	create(t, c, person("Ann", "Baker", map[string]any{"employment": map[string]any{"employer": "Carter Industries"}}))
	create(t, c, person("Carter", "Adams", nil))                                                              // first name, full word
	create(t, c, person("Bea", "Carterson", nil))                                                             // last name, prefix
	create(t, c, person("Dan", "Evans", map[string]any{"degrees": degree("Carter Studies", 2010)}))           // program
	create(t, c, person("Eve", "Carter", map[string]any{"employment": map[string]any{"jobTitle": "Carter"}})) // name, full word
	got := search(t, c, "q=carter")
	want := []string{"Carter Adams", "Eve Carter", "Bea Carterson", "Ann Baker", "Dan Evans"}
	if !slices.Equal(got, want) {
		t.Fatalf("relevance order %q, want %q", got, want)
	}
	// Paging through a relevance-ordered search gives the same order, without repeats.
	if paged := names(listAll(t, c, "q=carter", 2)); !slices.Equal(paged, want) {
		t.Errorf("paged %q, want %q", paged, want)
	}
	// Another order on the same search.
	if byName := search(t, c, "q=carter&sort=lastName"); !slices.Equal(byName, []string{"Carter Adams", "Ann Baker", "Eve Carter", "Bea Carterson", "Dan Evans"}) {
		t.Errorf("by name %q", byName)
	}
}

func TestSearchCombinesWithFilters(t *testing.T) {
	s := newServer(t)
	c := s.Client
	create(t, c, person("Maria", "Lopez", map[string]any{"address": map[string]any{"city": "Chicago", "country": "US"}, "degrees": degree("History", 2010)}))
	create(t, c, person("Maria", "Silva", map[string]any{"address": map[string]any{"city": "Lisbon", "country": "PT"}, "degrees": degree("History", 2015)}))
	create(t, c, person("Mario", "Rossi", map[string]any{"address": map[string]any{"city": "Chicago", "country": "US"}, "degrees": degree("Physics", 2010),
		"employment": map[string]any{"employer": "Acme", "industry": "Software"}, "tags": []string{"donor"}}))
	create(t, c, person("Tom", "Chicago", map[string]any{"address": map[string]any{"city": "Boston", "country": "US"}}))
	tests := []struct {
		query string
		want  []string
	}{
		{"q=mari&country=US", []string{"Maria Lopez", "Mario Rossi"}},
		{"q=mari&program=history", []string{"Maria Lopez", "Maria Silva"}},
		{"q=mari&graduationYearFrom=2011", []string{"Maria Silva"}},
		{"q=mari&city=chicago", []string{"Maria Lopez", "Mario Rossi"}},
		{"q=chicago", []string{"Tom Chicago", "Maria Lopez", "Mario Rossi"}}, // a name outranks a city
		{"q=mari&industry=software", []string{"Mario Rossi"}},
		{"q=mari&employer=ACME", []string{"Mario Rossi"}},
		{"q=mari&degree=bsc&program=physics", []string{"Mario Rossi"}},
		{"q=mari&tag=donor", []string{"Mario Rossi"}},
		{"q=donor", []string{"Mario Rossi"}},
		{"q=mari&status=active&directoryConsent=false", []string{"Maria Lopez", "Maria Silva", "Mario Rossi"}},
		{"q=mari&updatedSince=2000-01-01T00:00:00Z", []string{"Maria Lopez", "Maria Silva", "Mario Rossi"}},
		{"q=mari&updatedSince=2999-01-01T00:00:00Z", nil},
		{"q=mari&directoryConsent=true", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := search(t, c, tt.query)
			if strings.HasPrefix(tt.query, "q=chicago") {
				if !slices.Equal(got, tt.want) {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
				return
			}
			if !slices.Equal(sortedCopy(got...), sortedCopy(tt.want...)) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSearchFollowsChanges(t *testing.T) {
	s := newServer(t)
	c := s.Client
	a, tag := create(t, c, person("Grace", "Hopper", nil))
	if got := search(t, c, "q=hopper"); len(got) != 1 {
		t.Fatalf("before: %q", got)
	}
	resp := c.Patch("/api/v1/alumni/"+a.Id, tag, map[string]any{"lastName": "Murray"})
	if resp.Status != 200 {
		t.Fatalf("patch: %d %s", resp.Status, resp.Body)
	}
	if got := search(t, c, "q=hopper"); len(got) != 0 {
		t.Errorf("old name still found: %q", got)
	}
	if got := search(t, c, "q=murray"); len(got) != 1 {
		t.Errorf("new name not found: %q", got)
	}
	if resp := c.Delete("/api/v1/alumni/"+a.Id, ""); resp.Status != 204 {
		t.Fatalf("delete: %d", resp.Status)
	}
	if got := search(t, c, "q=murray"); len(got) != 0 {
		t.Errorf("deleted record found: %q", got)
	}
	if got := search(t, c, "q=murray&deleted=true"); len(got) != 1 {
		t.Errorf("trash search: %q", got)
	}
}

// Search follows field-level privacy: nobody finds a record by a word they could not read.
func TestSearchRespectsPrivacy(t *testing.T) {
	s := newServer(t)
	c := s.Client
	hidden, _ := create(t, c, person("Hal", "Hidden", map[string]any{"address": map[string]any{"city": "Springfield", "country": "US"},
		"tags": []string{"boardmember"}, "directoryConsent": false}))
	listed, _ := create(t, c, person("Lia", "Listed", map[string]any{"address": map[string]any{"city": "Springfield", "country": "US"},
		"tags": []string{"boardmember"}, "directoryConsent": true}))
	viewer := s.As(t, auth.RoleViewer)
	alum := s.AsAlumnus(t, listed.Id)
	tests := []struct {
		who   string
		c     *apitest.Client
		query string
		want  []string
	}{
		{"admin", c, "q=springfield", []string{hidden.Id, listed.Id}},
		{"admin", c, "q=boardmember", []string{hidden.Id, listed.Id}},
		{"viewer", viewer, "q=springfield", []string{listed.Id}}, // the city of Hal is hidden from viewers
		{"viewer", viewer, "city=springfield", []string{listed.Id}},
		{"viewer", viewer, "q=hal", []string{hidden.Id}}, // names are not
		{"viewer", viewer, "q=boardmember", []string{hidden.Id, listed.Id}},
		{"alumnus", alum, "q=springfield", []string{listed.Id}},
		{"alumnus", alum, "q=hal", nil},         // not in the directory
		{"alumnus", alum, "q=boardmember", nil}, // tags are the office's
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.query, func(t *testing.T) {
			got := idSet(listAll(t, tt.c, tt.query, 50))
			if !slices.Equal(got, sortedCopy(tt.want...)) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Every order pages through the same records as one big page, with no repeats or gaps, in the
// order it promises.
func TestListSortsAndPaging(t *testing.T) {
	s := newServer(t)
	c := s.Client
	lasts := []string{"Abe", "Ábel", "Zhu", "abe", "Moss", "Núñez", "Moss"}
	for i := range 21 {
		extra := map[string]any{}
		if i%4 != 0 { // some without degrees (class year 0)
			extra["degrees"] = degree("History", 2000+i%3)
		}
		create(t, c, person([]string{"Ann", "Bob", "Cy"}[i%3], lasts[i%len(lasts)], extra))
	}
	for _, srt := range []string{"lastName", "-lastName", "graduationYear", "-graduationYear", "updatedAt", "-updatedAt"} {
		t.Run(srt, func(t *testing.T) {
			all := listAll(t, c, "sort="+srt, 200)
			if len(all) != 21 {
				t.Fatalf("%d records", len(all))
			}
			for _, limit := range []int{1, 4} {
				paged := listAll(t, c, "sort="+srt, limit)
				if !slices.Equal(ids(paged), ids(all)) {
					t.Fatalf("limit %d: paged order differs", limit)
				}
			}
			less := map[string]func(a, b api.Alumnus) bool{
				"lastName":       func(a, b api.Alumnus) bool { return fold(a.LastName) < fold(b.LastName) },
				"graduationYear": func(a, b api.Alumnus) bool { return classYear(a) < classYear(b) },
				"updatedAt":      func(a, b api.Alumnus) bool { return a.UpdatedAt.Before(b.UpdatedAt) },
			}[strings.TrimPrefix(srt, "-")]
			ordered := slices.Clone(all)
			if strings.HasPrefix(srt, "-") {
				slices.Reverse(ordered)
			}
			if !sort.SliceIsSorted(ordered, func(i, j int) bool { return less(ordered[i], ordered[j]) }) {
				t.Errorf("not in %s order: %q", srt, names(all))
			}
		})
	}
	// A cursor belongs to its order.
	var first api.AlumnusPage
	c.Get("/api/v1/alumni?limit=2&sort=updatedAt", nil).JSON(t, &first)
	resp := c.Get("/api/v1/alumni?limit=2&sort=lastName&cursor="+url.QueryEscape(*first.NextCursor), nil)
	assertProblem(t, resp, 400, "cursor")
}

func classYear(a api.Alumnus) int {
	for _, d := range a.Degrees {
		if d.Primary != nil && *d.Primary {
			return d.GraduationYear
		}
	}
	return 0
}
