package searchindex_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/search"
	"github.com/alumnid/alumnid/internal/searchindex"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func person(first, last string, mod ...func(*alumni.Alumnus)) alumni.Alumnus {
	a := alumni.Alumnus{ID: fmt.Sprintf("01J%023d", len(first)*1000+len(last)), Fields: alumni.Fields{
		FirstName: first, LastName: last, Status: alumni.StatusActive}, CreatedAt: t0, UpdatedAt: t0}
	for _, m := range mod {
		m(&a)
	}
	return a
}

// build returns an index of records, keyed 1, 2, … in order, each with a distinct public id.
func build(records ...alumni.Alumnus) *searchindex.Index {
	x := searchindex.New()
	for i, a := range records {
		a.ID = fmt.Sprintf("01J%023d", i+1)
		x.Put(x.NewDoc(uint32(i+1), a)) //nolint:gosec // small
	}
	return x
}

func keys(hits []searchindex.Hit) []uint32 {
	out := make([]uint32, len(hits))
	for i, h := range hits {
		out[i] = h.Key
	}
	return out
}

var office = []string{"p", "c", "t"}

func TestRelevance(t *testing.T) {
	x := build(
		person("Mara", "Quinn"),                         // 1: a name starting with "mar"
		person("Ada", "Mar"),                            // 2: the whole word "mar" in a name: one more
		person("Ada", "Lovelace", withEmployer("Mart")), // 3: an employer starting with "mar"
		person("Zoe", "Adams"),                          // 4: no match
		person("Bea", "Marsh"),                          // 5: a name, ties with 1 by name
	)
	got := keys(x.Page(searchindex.Query{Words: []string{"mar"}, Kinds: office}, searchindex.ByRelevance, false, nil, 10))
	if want := []uint32{2, 5, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("relevance order %v, want %v", got, want)
	}
	// Two words: both must match, the scores add up.
	got = keys(x.Page(searchindex.Query{Words: []string{"ada", "mar"}, Kinds: office}, searchindex.ByRelevance, false, nil, 10))
	if want := []uint32{2, 3}; !slices.Equal(got, want) {
		t.Errorf("two words %v, want %v", got, want)
	}
	if n := x.Count(searchindex.Query{Words: []string{"zz"}, Kinds: office}); n != 0 {
		t.Errorf("no match counted %d", n)
	}
}

func withEmployer(e string) func(*alumni.Alumnus) {
	return func(a *alumni.Alumnus) { a.Employment.Employer = e }
}

func withCity(country, city string, consent bool) func(*alumni.Alumnus) {
	return func(a *alumni.Alumnus) {
		a.Address.Country, a.Address.City, a.DirectoryConsent = country, city, consent
	}
}

func withDegree(program string, year int) func(*alumni.Alumnus) {
	return func(a *alumni.Alumnus) {
		a.Degrees = append(a.Degrees, alumni.Degree{Degree: "BA", Program: program, Faculty: "Arts", GraduationYear: year,
			Primary: len(a.Degrees) == 0})
	}
}

// A word in a field of a kind the reader may not match finds nothing: the city of someone who
// did not consent to the directory is for the office only.
func TestKindsDecideWhoMatches(t *testing.T) {
	x := build(
		person("Ada", "King", withCity("GB", "London", false)),
		person("Bea", "Lord", withCity("GB", "London", true)),
		person("Cy", "Hill", func(a *alumni.Alumnus) { a.Tags = []string{"londoner club"} }),
	)
	for _, c := range []struct {
		kinds []string
		want  []uint32
	}{
		{[]string{"p", "c", "t"}, []uint32{1, 2, 3}},
		{[]string{"p", "t"}, []uint32{2, 3}},
		{[]string{"p"}, []uint32{2}},
	} {
		got := keys(x.Page(searchindex.Query{Words: []string{"london"}, Kinds: c.kinds}, searchindex.ByName, false, nil, 10))
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("kinds %v: %v, want %v", c.kinds, got, c.want)
		}
	}
}

func TestFilters(t *testing.T) {
	x := build(
		person("Ada", "King", withCity("GB", "London", true), withDegree("History", 1990), withDegree("Law", 2000)),
		person("Bea", "Lord", withCity("US", "London", false), withDegree("Law", 1990)),
		person("Cy", "Hill", withCity("US", "Boston", true), func(a *alumni.Alumnus) {
			a.Status, a.Tags = alumni.StatusDeceased, []string{"donor"}
		}),
		person("Di", "Moss", func(a *alumni.Alumnus) { a.DeletedAt = &t0 }),
	)
	yes, no := true, false
	for _, c := range []struct {
		name string
		q    searchindex.Query
		want []uint32
	}{
		{"everything live", searchindex.Query{}, []uint32{1, 2, 3}},
		{"the trash", searchindex.Query{Deleted: true}, []uint32{4}},
		{"country", searchindex.Query{Country: "US"}, []uint32{2, 3}},
		{"city in any country", searchindex.Query{City: "London"}, []uint32{1, 2}},
		{"city in a country", searchindex.Query{Country: "US", City: "London"}, []uint32{2}},
		{"values compare as the database does", searchindex.Query{City: "LONDÓN", Program: "law"}, []uint32{1, 2}},
		{"unknown value", searchindex.Query{Country: "FR"}, nil},
		{"status", searchindex.Query{Status: "deceased"}, []uint32{3}},
		{"tag", searchindex.Query{Tag: "donor"}, []uint32{3}},
		{"consented", searchindex.Query{DirectoryConsent: &yes}, []uint32{1, 3}},
		{"not consented", searchindex.Query{DirectoryConsent: &no}, []uint32{2}},
		{"consent only", searchindex.Query{ConsentOnly: true}, []uint32{1, 3}},
		{"directory only", searchindex.Query{DirectoryOnly: true}, []uint32{1}},
		{"program", searchindex.Query{Program: "Law"}, []uint32{1, 2}},
		{"year range", searchindex.Query{YearFrom: 1995}, []uint32{1}},
		// One and the same degree: Ada's Law degree is from 2000, her 1990 one is History.
		{"program and year on one degree", searchindex.Query{Program: "Law", YearTo: 1995}, []uint32{2}},
		{"updated since", searchindex.Query{UpdatedSince: t0.Add(time.Hour)}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := keys(x.Page(c.q, searchindex.ByName, false, nil, 10))
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("%v, want %v", got, c.want)
			}
			if n := x.Count(c.q); n != len(c.want) {
				t.Errorf("count %d, want %d", n, len(c.want))
			}
		})
	}
}

func TestPutReplacesAndRemoveForgets(t *testing.T) {
	x := searchindex.New()
	a := person("Ada", "King", withCity("GB", "London", true))
	x.Put(x.NewDoc(1, a))
	a.LastName, a.Address.Country = "Lovelace", "US"
	x.Put(x.NewDoc(1, a))
	q := func(w string) int { return x.Count(searchindex.Query{Words: []string{w}, Kinds: office}) }
	if q("king") != 0 || q("ki") != 0 || q("lovelace") != 1 || q("lov") != 1 {
		t.Errorf("after the update: king %d, ki %d, lovelace %d, lov %d", q("king"), q("ki"), q("lovelace"), q("lov"))
	}
	if x.Count(searchindex.Query{Country: "GB"}) != 0 || x.Count(searchindex.Query{Country: "US"}) != 1 {
		t.Error("the old country is still counted")
	}
	if x.Len() != 1 {
		t.Errorf("%d records", x.Len())
	}
	x.Remove(1)
	if x.Len() != 0 || q("lovelace") != 0 || x.Count(searchindex.Query{}) != 0 {
		t.Error("a removed record is still found")
	}
}

func TestCounts(t *testing.T) {
	x := build(
		person("Ada", "King", withCity("GB", "London", true), withDegree("History", 1990), withDegree("Law", 2000)),
		person("Bea", "Lord", withCity("US", "London", false), withDegree("Law", 1990)),
		person("Cy", "Hill", withCity("US", "Boston", true), withDegree("Law", 1990), withDegree("LAW", 1991)),
	)
	dims := []searchindex.Dimension{searchindex.DimCountry, searchindex.DimCity, searchindex.DimProgram, searchindex.DimClassYear}
	for _, c := range []struct {
		name string
		q    searchindex.Query
		only bool
		want [][]searchindex.Bucket
	}{
		{"all", searchindex.Query{}, false, [][]searchindex.Bucket{
			{{"US", 2}, {"GB", 1}},
			{{"GB\tLondon", 1}, {"US\tBoston", 1}, {"US\tLondon", 1}},
			{{"Law", 3}, {"History", 1}}, // a person counted once per value
			{{"1990", 3}, {"1991", 1}, {"2000", 1}},
		}},
		{"consented only", searchindex.Query{}, true, [][]searchindex.Bucket{
			{{"GB", 1}, {"US", 1}},
			{{"GB\tLondon", 1}, {"US\tBoston", 1}},
			{{"Law", 2}, {"History", 1}},
			{{"1990", 2}, {"1991", 1}, {"2000", 1}},
		}},
		// With a degree filter, the degree facets count the degrees that meet it.
		{"degree filter", searchindex.Query{Program: "Law"}, false, [][]searchindex.Bucket{
			{{"US", 2}, {"GB", 1}},
			{{"GB\tLondon", 1}, {"US\tBoston", 1}, {"US\tLondon", 1}},
			{{"Law", 3}},
			{{"1990", 2}, {"1991", 1}, {"2000", 1}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := countsOf(t, x, c.q, c.only, dims...)
			for i := range dims {
				if b := searchindex.Top(got[i], 0); !slices.Equal(b, c.want[i]) {
					t.Errorf("dimension %d: %v, want %v", dims[i], b, c.want[i])
				}
			}
		})
	}
	// The condition dimensions (how a record can be reached, what it lacks) and the months.
	z := build(
		person("Ada", "King", func(a *alumni.Alumnus) { a.Email, a.Phone = "ada@example.org", "+44 20 7946 0958" }),
		person("Bea", "Lord", func(a *alumni.Alumnus) { a.Phone, a.ContactPermissions.DoNotSMS = "+44 20 7946 0959", true }),
		person("Cy", "Hill", func(a *alumni.Alumnus) { a.UpdatedAt = t0.AddDate(0, 2, 0) }),
	)
	for _, c := range []struct {
		dim  searchindex.Dimension
		want []searchindex.Bucket
	}{
		{searchindex.DimContact, []searchindex.Bucket{{"phone", 2}, {"email", 1}, {"none", 1}, {"sms", 1}}},
		{searchindex.DimQuality, []searchindex.Bucket{{"no_address", 3}, {"no_degree", 3}, {"no_employment", 3}, {"missing_email", 2}}},
		{searchindex.DimCreated, []searchindex.Bucket{{"2026-01", 3}}},
		{searchindex.DimUpdated, []searchindex.Bucket{{"2026-01", 2}, {"2026-03", 1}}},
	} {
		if got := searchindex.Top(countsOf(t, z, searchindex.Query{}, false, c.dim)[0], 0); !slices.Equal(got, c.want) {
			t.Errorf("dimension %d: %v, want %v", c.dim, got, c.want)
		}
	}
	// Many matches: the counts come from each value's records, not from each record.
	var many []alumni.Alumnus
	for i := range 300 {
		many = append(many, person("Ada", "King", withDegree("Law", 1990+i%3)))
	}
	many = append(many, person("Cy", "Hill", withDegree("Law", 1990), withDegree("LAW", 1991)))
	y := build(many...)
	got := searchindex.Top(countsOf(t, y, searchindex.Query{}, false, searchindex.DimProgram)[0], 0)
	if want := []searchindex.Bucket{{"Law", 301}}; !slices.Equal(got, want) {
		t.Errorf("many: %v, want %v", got, want)
	}
	if b := searchindex.Top([]searchindex.Bucket{{"a", 1}, {"b", 3}, {"c", 2}}, 2); !slices.Equal(b, []searchindex.Bucket{{"b", 3}, {"c", 2}}) {
		t.Errorf("top 2: %v", b)
	}
}

// TestPagesAgainstBruteForce checks every order and direction, page by page through the
// cursor, against a plain evaluation of the same query over a few hundred random records —
// sized so that both ways a page is found (walking the order, sorting the matches) are taken.
func TestPagesAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	firsts := []string{"Ada", "Adam", "Mara", "María", "Marek", "Bea", "José", "Jo", "Zoë", "Ōta"}
	lasts := []string{"Marsh", "Martin", "Müller", "Mueller", "King", "Kingsley", "de la Cruz", "O'Brien", "Ng", "Smith"}
	employers := []string{"", "Acme", "Martin & Co", "Kingfisher"}
	var records []alumni.Alumnus
	for range 400 {
		a := person(firsts[rng.IntN(len(firsts))], lasts[rng.IntN(len(lasts))],
			withCity([]string{"US", "GB", "DE"}[rng.IntN(3)], []string{"London", "Boston", "Berlin"}[rng.IntN(3)], rng.IntN(2) == 0),
			withEmployer(employers[rng.IntN(len(employers))]))
		for range rng.IntN(3) {
			withDegree([]string{"Law", "History", "Maths"}[rng.IntN(3)], 1980+rng.IntN(30))(&a)
		}
		a.UpdatedAt = t0.Add(time.Duration(rng.IntN(50)) * time.Hour)
		if rng.IntN(10) == 0 {
			a.DeletedAt = &t0
		}
		records = append(records, a)
	}
	x := build(records...)
	for i := range records {
		records[i].ID = fmt.Sprintf("01J%023d", i+1)
	}
	queries := []searchindex.Query{
		{},
		{Country: "US"},
		{Words: []string{"mar"}, Kinds: office},
		{Words: []string{"m"}, Kinds: []string{"p"}},
		{Words: []string{"mueller"}, Kinds: office},
		{Words: []string{"king", "ada"}, Kinds: office},
		{Words: []string{"martin"}, Kinds: office, Program: "Law", YearFrom: 1990},
		{Words: []string{"lon"}, Kinds: []string{"p", "t"}},
		{Deleted: true},
	}
	col := collate.New(language.Und, collate.Loose)
	less := func(order searchindex.Order) func(a, b ref) int {
		name := func(a, b ref) int {
			return cmp.Or(col.CompareString(a.LastName, b.LastName), col.CompareString(a.FirstName, b.FirstName), strings.Compare(a.ID, b.ID))
		}
		switch order {
		case searchindex.ByRelevance:
			return func(a, b ref) int { return cmp.Or(cmp.Compare(b.score, a.score), name(a, b)) }
		case searchindex.ByYear:
			return func(a, b ref) int { return cmp.Or(cmp.Compare(a.ClassYear(), b.ClassYear()), name(a, b)) }
		case searchindex.ByUpdated:
			return func(a, b ref) int { return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), strings.Compare(a.ID, b.ID)) }
		}
		return name
	}
	for qi, q := range queries {
		for _, order := range []searchindex.Order{searchindex.ByRelevance, searchindex.ByName, searchindex.ByYear, searchindex.ByUpdated} {
			if order == searchindex.ByRelevance && len(q.Words) == 0 {
				continue
			}
			for _, desc := range []bool{false, true} {
				if order == searchindex.ByRelevance && desc {
					continue
				}
				want := bruteForce(records, q)
				c := less(order)
				slices.SortFunc(want, func(a, b ref) int {
					if desc {
						return c(b, a)
					}
					return c(a, b)
				})
				var got []uint32
				var after *searchindex.Position
				for range 100 {
					hits := x.Page(q, order, desc, after, 7)
					got = append(got, keys(hits)...)
					if len(hits) < 7 {
						break
					}
					after = &hits[len(hits)-1].Position
				}
				wantKeys := make([]uint32, len(want))
				for i, r := range want {
					wantKeys[i] = r.key
				}
				if !slices.Equal(got, wantKeys) {
					t.Errorf("query %d, order %d, desc %v:\n got %v\nwant %v", qi, order, desc, got, wantKeys)
				}
			}
		}
	}
}

type ref struct {
	alumni.Alumnus
	key   uint32
	score int
}

// bruteForce evaluates q over records the plain way: each word against each of the record's
// index words.
func bruteForce(records []alumni.Alumnus, q searchindex.Query) []ref {
	var out []ref
	for i, a := range records {
		if (a.DeletedAt != nil) != q.Deleted || q.Country != "" && a.Address.Country != q.Country {
			continue
		}
		if q.Program != "" || q.YearFrom != 0 {
			ok := false
			for _, d := range a.Degrees {
				ok = ok || (q.Program == "" || d.Program == q.Program) && (q.YearFrom == 0 || d.GraduationYear >= q.YearFrom)
			}
			if !ok {
				continue
			}
		}
		score, ok := 0, true
		for _, w := range q.Words {
			best := 0
			for _, t := range alumni.Terms(a.Fields) {
				if !slices.Contains(q.Kinds, t.Kind) || !strings.HasPrefix(t.Word, w) {
					continue
				}
				s := t.Weight
				if t.Word == w {
					s++
				}
				best = max(best, s)
			}
			for _, t := range alumni.Terms(a.Fields) {
				if slices.Contains(q.Kinds, t.Kind) && levenshtein(t.Word, w) <= typos(w) {
					best = max(best, 1)
				}
			}
			if best == 0 {
				ok = false
				break
			}
			score += best
		}
		if ok {
			out = append(out, ref{a, uint32(i + 1), score}) //nolint:gosec // small
		}
	}
	return out
}

// The index folds the way the search does: a query word is folded by search.Query.
func TestFoldedWords(t *testing.T) {
	x := build(person("José", "Müller"))
	for _, q := range []string{"jose", "JOSÉ", "muller", "Mül"} {
		words, err := search.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		if n := x.Count(searchindex.Query{Words: words, Kinds: office}); n != 1 {
			t.Errorf("%q: %d", q, n)
		}
	}
}

// typos is how many edits a query word may have: 1 from 5 letters, 2 from 9.
func typos(w string) int {
	switch n := len([]rune(w)); {
	case n >= 9:
		return 2
	case n >= 5:
		return 1
	}
	return 0
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	row := make([]int, len(rb)+1)
	for j := range row {
		row[j] = j
	}
	for i := range ra {
		prev := row[0]
		row[0] = i + 1
		for j := range rb {
			cost := 1
			if ra[i] == rb[j] {
				cost = 0
			}
			prev, row[j+1] = row[j+1], min(row[j+1]+1, row[j]+1, prev+cost)
		}
	}
	return row[len(rb)]
}

func TestTypos(t *testing.T) {
	x := build(
		person("Jonathan", "Reyes"),  // 1
		person("Hans", "Müller"),     // 2
		person("Catherine", "Moss"),  // 3
		person("Jonathon", "Price"),  // 4: the query word itself
		person("John", "Smith"),      // 5
		person("Kath", "Ng"),         // 6
		person("Ada", "Jonathonson"), // 7: a word the query word starts
	)
	for _, c := range []struct {
		q    string
		want []uint32
	}{
		{"jonathon", []uint32{4, 7, 1}}, // exact, then prefix, then one typo
		{"mueller", []uint32{2}},
		{"katherine", []uint32{3}},
		{"katherene", []uint32{3}}, // two edits: allowed from nine letters
		{"jonh", nil},              // four letters: no typo allowed
		{"jonatan", []uint32{1}},   // one edit from seven letters
		{"jonatham", []uint32{1}},  // Jonathon is two edits away
		{"katharina", nil},         // three edits from Catherine
	} {
		words, err := search.Query(c.q)
		if err != nil {
			t.Fatal(err)
		}
		got := keys(x.Page(searchindex.Query{Words: words, Kinds: office}, searchindex.ByRelevance, false, nil, 10))
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.q, got, c.want)
		}
	}
}

// Matches that cluster far along the order — a last name, in name order — are found by sorting
// them once walking the order has visited more than it should.
func TestClusteredMatches(t *testing.T) {
	var records []alumni.Alumnus
	for i := range 30_000 {
		last := fmt.Sprintf("Adams%05d", i)
		if i%30 == 0 {
			last = "Zwolinski"
		}
		records = append(records, person(fmt.Sprintf("F%05d", 30_000-i), last))
	}
	x := build(records...)
	for _, order := range []searchindex.Order{searchindex.ByName, searchindex.ByRelevance} {
		hits := x.Page(searchindex.Query{Words: []string{"zwolinski"}, Kinds: office}, order, false, nil, 25)
		if len(hits) != 25 {
			t.Fatalf("order %d: %d hits", order, len(hits))
		}
		for i, h := range hits {
			// The Zwolinskis (every 30th record) in first-name order: F00030 first.
			if want := fmt.Sprintf("F%05d", 30*(i+1)); h.LastName != "Zwolinski" || h.FirstName != want {
				t.Fatalf("order %d, hit %d: %s %s, want %s Zwolinski", order, i, h.FirstName, h.LastName, want)
			}
		}
	}
}

// countsOf is x.Counts of dims, each only among those who consented when only; it checks the
// total Counts gives against Count.
func countsOf(t *testing.T, x *searchindex.Index, q searchindex.Query, only bool, dims ...searchindex.Dimension) [][]searchindex.Bucket {
	t.Helper()
	cs := make([]searchindex.Count, len(dims))
	for i, d := range dims {
		cs[i] = searchindex.Count{Dim: d, ConsentedOnly: only}
	}
	total, out := x.Counts(q, cs...)
	if n := x.Count(q); total != n {
		t.Errorf("Counts total %d, Count %d", total, n)
	}
	return out
}
