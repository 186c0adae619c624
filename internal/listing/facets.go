package listing

import (
	"context"
	"fmt"

	"github.com/alumnid/alumnid/internal/database"

	"github.com/alumnid/alumnid/internal/alumni"

	"golang.org/x/sync/errgroup"

	"github.com/alumnid/alumnid/internal/auth"
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
// program, industry and status. The queries run in parallel, each on its own connection.
func (s *Reader) Facets(ctx context.Context, p auth.Principal, f Filter) (_ Facets, err error) {
	defer database.ClassifyErr(&err)
	if err := prepare(p, &f); err != nil {
		return Facets{}, err
	}
	if s.index != nil {
		return s.indexFacets(ctx, p, f)
	}
	var out Facets
	var status []Bucket
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range []struct {
		dst        *[]Bucket
		dim, order string
	}{
		{&out.GraduationYear, alumni.DimClassYear, byValueDesc},
		{&out.Program, alumni.DimProgram, byCountDesc},
		{&out.Country, alumni.DimCountry, byCountDesc},
		{&out.Industry, alumni.DimIndustry, byCountDesc},
		{&status, alumni.DimStatus, byCountDesc},
	} {
		g.Go(func() (err error) {
			*c.dst, err = s.countBy(gctx, p, f, c.dim, c.order, maxBuckets)
			return err
		})
	}
	if !plain(f) {
		g.Go(func() (err error) { out.Total, err = s.cachedTotal(gctx, f); return err })
	}
	if err := g.Wait(); err != nil {
		return Facets{}, err
	}
	if plain(f) {
		out.Total = Total{Count: sum(status), Exact: true} // every record has a status
	}
	if p.Role.Office() || p.Role == auth.RoleViewer {
		out.Status = status
	}
	return out, nil
}

// buckets runs a (value, count) query.
func (s *Reader) buckets(ctx context.Context, q sqlText) ([]Bucket, error) {
	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("facet: %w", err)
	}
	defer rows.Close()
	out := []Bucket{}
	for rows.Next() {
		var b Bucket
		if err := rows.Scan(&b.Value, &b.Count); err != nil {
			return nil, fmt.Errorf("facet: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("facet: %w", err)
	}
	return out, nil
}
