// Package duplicates finds records that are likely the same person entered twice: candidate
// pairs are records sharing a duplicate key (alumni.DuplicateKeys), each pair is scored from
// the reasons the two records give, and the pairs scoring at least Likely are the office's
// work queue (docs/STEWARDSHIP.md).
package duplicates

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/alumnid/alumnid/internal/alumni"
)

// Reason is one reason to think two records are the same person.
type Reason string

// The reasons, strongest first.
const (
	SameStudentID Reason = "same-student-id" // the same student id in another format
	SameEmail     Reason = "same-email"      // an address both hold, as written differently
	SameLinkedIn  Reason = "same-linkedin"   // the same LinkedIn profile
	SamePhone     Reason = "same-phone"      // the same number in another format
	SameName      Reason = "same-name"       // the same names (accents and case aside) and class year
	NameVariant   Reason = "name-variant"    // a short form of the first name, the same last name and class year
	SwappedNames  Reason = "swapped-names"   // first and last name swapped, the same class year
	NameTypo      Reason = "name-typo"       // a last name a letter or two away, the same first name and class year
	SameCity      Reason = "same-city"       // beside another reason: the same city
	SameEmployer  Reason = "same-employer"   // beside another reason: the same employer
	SameProgram   Reason = "same-program"    // beside another reason: a degree of the same program
)

// weights are how much each reason alone makes two records the same person; reasons add up
// as independent evidence (1 − Π(1 − w)).
var weights = map[Reason]float64{
	SameStudentID: 0.95, SameEmail: 0.9, SameLinkedIn: 0.9, SamePhone: 0.6,
	SameName: 0.6, NameVariant: 0.5, SwappedNames: 0.5, NameTypo: 0.5,
	SameCity: 0.2, SameEmployer: 0.3, SameProgram: 0.3,
}

// Likely is the score from which a pair is a likely duplicate: in the queue, and named when a
// record is created.
const Likely = 0.5

// Score returns how likely a and b are the same person (0 to 1) and why.
func Score(a, b alumni.Fields) (float64, []Reason) {
	return score(newProfile(a), newProfile(b))
}

// profile is what the score compares of one record, worked out once for all its comparisons.
type profile struct {
	fields            alumni.Fields
	keys              []alumni.DuplicateKey
	year              int
	first, last, city string
	programs          []string
}

func newProfile(f alumni.Fields) profile {
	return profile{fields: f, keys: alumni.DuplicateKeys(f), year: f.ClassYear(),
		first: alumni.LooseName(f.FirstName), last: alumni.LooseName(f.LastName),
		city: alumni.LooseName(f.Address.City), programs: programs(f)}
}

func score(a, b profile) (float64, []Reason) {
	var reasons []Reason
	has := func(r Reason, ok bool) {
		if ok {
			reasons = append(reasons, r)
		}
	}
	shared := func(kind string) bool {
		for _, k := range a.keys {
			if k.Kind == kind && slices.Contains(b.keys, k) {
				return true
			}
		}
		return false
	}
	has(SameStudentID, shared(alumni.KeyStudent))
	has(SameEmail, shared(alumni.KeyEmail))
	has(SameLinkedIn, shared(alumni.KeyLinkedIn))
	has(SamePhone, shared(alumni.KeyPhone))

	if a.year != 0 && a.year == b.year && a.last != "" && b.last != "" {
		switch {
		case a.first == b.first && a.last == b.last:
			reasons = append(reasons, SameName)
		case a.first == b.last && a.last == b.first:
			reasons = append(reasons, SwappedNames)
		case a.last == b.last && overlap(alumni.FullFirstNames(a.first), alumni.FullFirstNames(b.first)):
			reasons = append(reasons, NameVariant)
		case a.first == b.first && firstRune(a.last) == firstRune(b.last) && typo(a.last, b.last):
			reasons = append(reasons, NameTypo)
		}
	}
	if len(reasons) == 0 {
		return 0, nil
	}
	// Corroboration, never a reason alone; and evidence against.
	against := 1.0
	has(SameCity, a.city != "" && a.city == b.city)
	if a.city != "" && b.city != "" && a.city != b.city {
		against *= 0.7 // people move, so only a little
	}
	has(SameEmployer, a.fields.Employment.Employer != "" && strings.EqualFold(a.fields.Employment.Employer, b.fields.Employment.Employer))
	switch {
	case overlap(a.programs, b.programs):
		reasons = append(reasons, SameProgram)
	case len(a.programs) > 0 && len(b.programs) > 0:
		against *= 0.6
	}
	// Two registrar ids that differ are two students, whatever the names say.
	if a.fields.StudentID != "" && b.fields.StudentID != "" && !slices.Contains(reasons, SameStudentID) {
		against *= 0.3
	}
	miss := 1.0
	for _, r := range reasons {
		miss *= 1 - weights[r]
	}
	return (1 - miss) * against, reasons
}

// programs are the loose programs of a record's degrees.
func programs(f alumni.Fields) []string {
	var out []string
	for _, d := range f.Degrees {
		if p := alumni.LooseName(d.Program); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func overlap(a, b []string) bool {
	return slices.ContainsFunc(a, func(s string) bool { return slices.Contains(b, s) })
}

// typo reports whether two different last names are one edit apart (two for nine letters or
// more), an exchange of neighbouring letters counting as one: the search's rule for typos.
func typo(a, b string) bool {
	if a == b {
		return false
	}
	n := max(len([]rune(a)), len([]rune(b)))
	limit := 1
	if n >= 9 {
		limit = 2
	}
	return editDistance(a, b, limit) <= limit
}

// editDistance is the optimal-string-alignment distance of a and b, or limit+1 once it is
// certainly more than limit.
func editDistance(a, b string, limit int) int {
	x, y := []rune(a), []rune(b)
	if d := len(x) - len(y); d > limit || -d > limit {
		return limit + 1
	}
	prev2, prev, cur := make([]int, len(y)+1), make([]int, len(y)+1), make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}
