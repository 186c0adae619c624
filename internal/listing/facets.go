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
	// A viewer counts countries among those who consented (alumni.CountsByConsent).
	byConsent := p.Role == auth.RoleViewer && alumni.CountsByConsent[alumni.DimCountry]
	total, counts := s.index.Counts(f.query(), searchindex.Count{Dim: searchindex.DimClassYear},
		searchindex.Count{Dim: searchindex.DimProgram}, searchindex.Count{Dim: searchindex.DimCountry, ConsentedOnly: byConsent},
		searchindex.Count{Dim: searchindex.DimIndustry}, searchindex.Count{Dim: searchindex.DimStatus})
	out := Facets{
		Total:          capped(total),
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
