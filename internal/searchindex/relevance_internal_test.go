package searchindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alumnid/alumnid/internal/alumni"
)

// The two ways of adding up a multi-word query's scores agree.
func TestScoresByCombinationMatchByRecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	firsts := []string{"Ada", "Adam", "Mara", "María", "Marek", "Martina", "Jo", "Joan"}
	lasts := []string{"Marsh", "Martin", "Adams", "King", "Kingsley", "Jones", "Marais"}
	employers := []string{"", "Acme", "Martin & Co", "Kingfisher", "Jones Adams LLP"}
	x := New()
	for i := range 500 {
		a := alumni.Alumnus{ID: fmt.Sprintf("01J%023d", i+1), Fields: alumni.Fields{
			FirstName: firsts[rng.IntN(len(firsts))], LastName: lasts[rng.IntN(len(lasts))],
			Status: alumni.StatusActive}}
		a.Employment.Employer = employers[rng.IntN(len(employers))]
		x.Put(x.NewDoc(uint32(i+1), a)) //nolint:gosec // small
	}
	for _, words := range [][]string{
		{"mar", "ad"}, {"ma", "ma"}, {"jo", "marsh"}, {"king", "a", "m"}, {"martin", "adams", "jones"}, {"m", "a", "ma", "mar"},
	} {
		m := x.match(Query{Words: words, Kinds: []string{"p", "c", "t"}})
		if len(m.tiers) < 2 || m.set.IsEmpty() {
			t.Fatalf("%v: %d words, %d matches", words, len(m.tiers), m.set.GetCardinality())
		}
		a, b := scoresByCombination(m), scoresByRecord(m)
		if len(a) != len(b) {
			t.Errorf("%v: %d scores by combination, %d by record", words, len(a), len(b))
		}
		for s, bm := range b {
			if !bm.Equals(a[s]) {
				t.Errorf("%v: score %d: %v by combination, %v by record", words, s, a[s], bm)
			}
		}
	}
}

// Degree facets under a one-field degree filter, counted from the (value, year) bitmaps, agree
// with counting each record's degrees; so do the paths for other filters.
func TestDegreeFacetsAgainstRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	programs := []string{"History", "HISTORY", "Law", "Maths"}
	faculties := []string{"Arts", "Science"}
	x := New()
	for i := range 3000 {
		a := alumni.Alumnus{ID: fmt.Sprintf("01J%023d", i+1), Fields: alumni.Fields{FirstName: "Ada", LastName: "King", Status: alumni.StatusActive}}
		for range rng.IntN(4) {
			a.Degrees = append(a.Degrees, alumni.Degree{Degree: []string{"BA", "MA"}[rng.IntN(2)], Program: programs[rng.IntN(len(programs))],
				Faculty: faculties[rng.IntN(len(faculties))], GraduationYear: 1990 + rng.IntN(8)})
		}
		x.Put(x.NewDoc(uint32(i+1), a)) //nolint:gosec // small
	}
	for _, q := range []Query{
		{Program: "history"}, {Program: "Law", YearFrom: 1992}, {Faculty: "Arts", YearFrom: 1991, YearTo: 1994},
		{Degree: "MA"}, {Program: "Maths", Faculty: "Science"}, {YearFrom: 1995}, {Program: "Nothing"},
	} {
		set := x.match(q).set
		for _, dim := range []Dimension{DimClassYear, DimProgram, DimFaculty} {
			// Values that the database holds equal may be named by either variant.
			folded := func(bs []Bucket) []Bucket {
				for i := range bs {
					bs[i].Value = fold(bs[i].Value)
				}
				return Top(bs, 0)
			}
			got := folded(x.count(set, dim, q))
			want := folded(x.countDegrees(set, dim, x.degreeFilter(q)))
			if !slices.Equal(got, want) {
				t.Errorf("%+v, dimension %d: %v, record by record %v", q, dim, got, want)
			}
		}
	}
}

// An index that followed many changes (its arenas compacted along the way) answers as one
// loaded from the records' last versions.
func TestChangedIndexAnswersAsLoaded(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	firsts := []string{"Ada", "Adam", "María", "Jo"}
	lasts := []string{"King", "Kingsley", "Müller", "Mueller", "Jones"}
	programs := []string{"History", "Law", "Maths"}
	tags := []string{"donor", "volunteer", "board"}
	record := func(i int) alumni.Alumnus {
		a := alumni.Alumnus{ID: fmt.Sprintf("01J%023d", i), Fields: alumni.Fields{
			FirstName: firsts[rng.IntN(len(firsts))], LastName: lasts[rng.IntN(len(lasts))], Status: alumni.StatusActive,
			DirectoryConsent: rng.IntN(2) == 0}}
		for range rng.IntN(3) {
			a.Degrees = append(a.Degrees, alumni.Degree{Degree: "BA", Program: programs[rng.IntN(len(programs))], GraduationYear: 1990 + rng.IntN(5)})
		}
		for range rng.IntN(3) {
			a.Tags = append(a.Tags, tags[rng.IntN(len(tags))])
		}
		a.Employment.Employer = lasts[rng.IntN(len(lasts))] + " Ltd"
		return a
	}
	changed := New()
	changed.minWaste = 50
	last := map[int]alumni.Alumnus{}
	for range 6 {
		for i := 1; i <= 400; i++ {
			last[i] = record(i)
			changed.Put(changed.NewDoc(uint32(i), last[i])) //nolint:gosec // small
		}
		changed.Remove(uint32(rng.IntN(400) + 1)) //nolint:gosec // small
	}
	loaded := New()
	for i := 1; i <= 400; i++ {
		if changed.docs.slot(uint32(i)) != nil { //nolint:gosec // small
			loaded.Put(loaded.NewDoc(uint32(i), last[i])) //nolint:gosec // small
		}
	}
	if w := changed.termIDs.waste; w > changed.termIDs.live {
		t.Errorf("arena of words: %d items wasted, %d live: not compacted", w, changed.termIDs.live)
	}
	if changed.Len() != loaded.Len() {
		t.Fatalf("%d records, loaded %d", changed.Len(), loaded.Len())
	}
	for _, q := range []Query{
		{}, {Words: []string{"kin"}, Kinds: []string{"p", "c", "t"}}, {Words: []string{"muller", "ad"}, Kinds: []string{"p", "c", "t"}},
		{Program: "Law", YearFrom: 1992}, {Tag: "donor"}, {Employer: "jones ltd"}, {ConsentOnly: true, Program: "History", Faculty: ""},
	} {
		for _, o := range []Order{ByRelevance, ByName, ByYear, ByUpdated} {
			for _, desc := range []bool{false, true} {
				a, b := changed.Page(q, o, desc, nil, 50), loaded.Page(q, o, desc, nil, 50)
				if !slices.Equal(a, b) {
					t.Errorf("%+v order %d desc %v: %v, loaded %v", q, o, desc, a, b)
				}
				if len(a) > 10 {
					a, b = changed.Page(q, o, desc, &a[9].Position, 20), loaded.Page(q, o, desc, &b[9].Position, 20)
					if !slices.Equal(a, b) {
						t.Errorf("%+v order %d desc %v, second page: %v, loaded %v", q, o, desc, a, b)
					}
				}
			}
		}
		dims := []Count{{Dim: DimProgram}, {Dim: DimClassYear}, {Dim: DimEmployer}, {Dim: DimCountry}, {Dim: DimQuality}}
		na, ca := changed.Counts(q, dims...)
		nb, cb := loaded.Counts(q, dims...)
		for i := range ca {
			ca[i], cb[i] = Top(ca[i], 0), Top(cb[i], 0)
			if !slices.Equal(ca[i], cb[i]) {
				t.Errorf("%+v, count %d: %v, loaded %v", q, i, ca[i], cb[i])
			}
		}
		if na != nb {
			t.Errorf("%+v: %d matches, loaded %d", q, na, nb)
		}
		ga, ra := changed.Duplicates(q)
		gb, rb := loaded.Duplicates(q)
		if ga != gb || ra != rb {
			t.Errorf("%+v: duplicates %d/%d, loaded %d/%d", q, ga, ra, gb, rb)
		}
	}
}
