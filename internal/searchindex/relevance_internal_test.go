package searchindex

import (
	"fmt"
	"math/rand/v2"
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
