package alumni

import "github.com/alumnid/alumnid/internal/search"

// A record's search words (Terms) are each word of its searchable fields with the weight of
// the best field it appears in, and the kind of field, which decides who may find the record
// by it (see SearchKinds in access.go). The search index (internal/searchindex) holds them.
const (
	kindPublic  = "p" // names, employment, degrees, and the city of those who consented
	kindContact = "c" // the city of someone who did not consent to the directory
	kindTag     = "t" // the office's tags
)

// Field weights: a name counts most, then employment, then degrees, place and tags. A word
// typed in full scores one more than a word it is the prefix of.
const (
	weightName     = 8
	weightEmployer = 4
	weightJobTitle = 3
	weightProgram  = 3
	weightOther    = 2
)

// stopWords are left out of the non-name fields ("Faculty of Arts and Sciences"); in names
// every word counts ("de", "van", "la").
var stopWords = map[string]bool{"of": true, "and": true, "the": true, "for": true, "in": true, "at": true, "on": true}

// Term is one word of a record's search index: the kind of field it is in and the weight of
// the best such field.
type Term struct {
	Word   string
	Kind   string
	Weight int
}

// Terms returns the search index words of fields f, each once per kind.
func Terms(f Fields) []Term {
	type key struct{ term, kind string }
	best := map[key]int{}
	var order []key
	add := func(text, kind string, weight int, names bool) {
		for _, w := range search.Words(text) {
			if !names && stopWords[w] {
				continue
			}
			k := key{w, kind}
			if cur, ok := best[k]; !ok {
				order = append(order, k)
				best[k] = weight
			} else if weight > cur {
				best[k] = weight
			}
		}
	}
	for _, n := range []string{f.FirstName, f.LastName, f.PreferredName, f.EnrolledName} {
		add(n, kindPublic, weightName, true)
	}
	add(f.Employment.Employer, kindPublic, weightEmployer, false)
	add(f.Employment.JobTitle, kindPublic, weightJobTitle, false)
	for _, d := range f.Degrees {
		add(d.Program, kindPublic, weightProgram, false)
		add(d.Faculty, kindPublic, weightOther, false)
	}
	cityKind := kindContact
	if f.DirectoryConsent {
		cityKind = kindPublic
	}
	add(f.Address.City, cityKind, weightOther, false)
	for _, t := range f.Tags {
		add(t, kindTag, weightOther, false)
	}
	out := make([]Term, len(order))
	for i, k := range order {
		out[i] = Term{Word: k.term, Kind: k.kind, Weight: best[k]}
	}
	return out
}
