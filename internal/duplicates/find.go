package duplicates

import (
	"cmp"
	"slices"

	"github.com/alumnid/alumnid/internal/alumni"
)

// Record is a record as the finder sees it.
type Record struct {
	ID string // public id
	alumni.Fields
}

// Found is a likely duplicate: two records (A before B by public id), how likely they are one
// person, and why.
type Found struct {
	A, B    string
	Score   float64
	Reasons []Reason
}

// Groups larger than these say little about any two of their records (a shared office phone,
// the most common names of a year) and cost a comparison per two of them: a key held by more
// records than its limit brings no candidates.
const (
	maxKeyGroup   = 50
	maxBlockGroup = 1000
)

// Find returns the likely duplicates among records (score at least Likely), best first: the
// candidates are the records sharing a duplicate key, each pair once.
func Find(records []Record) []Found {
	groups := map[alumni.DuplicateKey][]int{}
	for i, r := range records {
		for _, k := range alumni.DuplicateKeys(r.Fields) {
			groups[k] = append(groups[k], i)
		}
	}
	seen := map[[2]int]bool{}
	var out []Found
	for k, g := range groups {
		limit := maxKeyGroup
		if k.Kind == alumni.KeyBlock {
			limit = maxBlockGroup
		}
		if len(g) < 2 || len(g) > limit {
			continue
		}
		for x, i := range g {
			for _, j := range g[x+1:] {
				if seen[[2]int{i, j}] {
					continue
				}
				seen[[2]int{i, j}] = true
				if p, ok := pair(records[i], records[j]); ok {
					out = append(out, p)
				}
			}
		}
	}
	slices.SortFunc(out, func(p, q Found) int {
		return cmp.Or(cmp.Compare(q.Score, p.Score), cmp.Compare(p.A, q.A), cmp.Compare(p.B, q.B))
	})
	return out
}

// pair scores two records, reporting whether they are a likely duplicate.
func pair(a, b Record) (Found, bool) {
	score, reasons := Score(a.Fields, b.Fields)
	if score < Likely {
		return Found{}, false
	}
	if b.ID < a.ID {
		a, b = b, a
	}
	return Found{A: a.ID, B: b.ID, Score: score, Reasons: reasons}, true
}
