package listing

import (
	"context"
	"slices"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// Bucket is one value of a facet and how many matching records have it.
type Bucket struct {
	Value string
	Count int
}

// Facets are the counts of the records matching a filter, by value. alumni.Status is nil when the
// caller may not read it.
type Facets struct {
	Total          Total
	GraduationYear []Bucket
	Country        []Bucket
	Program        []Bucket
	Industry       []Bucket
	Status         []Bucket
}

// maxBuckets is the most values a facet lists.
const maxBuckets = 50

// Facets counts the records matching f, as p may see them, by graduation year, country,
// program, industry and status.
func (s *Reader) Facets(ctx context.Context, p auth.Principal, f Filter) (_ Facets, err error) {
	defer database.ClassifyErr(&err)
	if err := prepare(p, &f); err != nil {
		return Facets{}, err
	}
	if err := s.sync(ctx); err != nil {
		return Facets{}, err
	}
	q := f.query()
	dims := []searchindex.Dimension{searchindex.DimClassYear, searchindex.DimProgram, searchindex.DimCountry,
		searchindex.DimIndustry, searchindex.DimStatus}
	counts := s.index.Counts(q, dims, false)
	if p.Role == auth.RoleViewer && alumni.CountsByConsent[alumni.DimCountry] {
		counts[2] = s.index.Counts(q, dims[2:3], true)[0]
	}
	out := Facets{
		Total:          capped(s.index.Count(q)),
		GraduationYear: byYearDesc(counts[0], maxBuckets),
		Program:        fromIndex(searchindex.Top(counts[1], maxBuckets)),
		Country:        fromIndex(searchindex.Top(counts[2], maxBuckets)),
		Industry:       fromIndex(searchindex.Top(counts[3], maxBuckets)),
	}
	if p.Role.Office() || p.Role == auth.RoleViewer {
		out.Status = fromIndex(searchindex.Top(counts[4], maxBuckets))
	}
	return out, nil
}

// fromIndex converts the index's buckets.
func fromIndex(bs []searchindex.Bucket) []Bucket {
	out := make([]Bucket, len(bs))
	for i, b := range bs {
		out[i] = Bucket{Value: b.Value, Count: b.Count}
	}
	return out
}

// byYearDesc returns the limit latest years.
func byYearDesc(bs []searchindex.Bucket, limit int) []Bucket {
	out := fromIndex(bs)
	slices.SortFunc(out, func(a, b Bucket) int { return searchindex.CompareValues(b.Value, a.Value) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
