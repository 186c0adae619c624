package alumni

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/alumnid/alumnid/internal/auth"
)

// Bucket is one value of a facet and how many matching records have it.
type Bucket struct {
	Value string
	Count int
}

// Facets are the counts of the records matching a filter, by value. Status is nil when the
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
func (s *Store) Facets(ctx context.Context, p auth.Principal, f Filter) (Facets, error) {
	if err := prepare(p, &f); err != nil {
		return Facets{}, err
	}
	var out Facets
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { out.Total, err = s.count(gctx, f); return err })
	// Degree facets count people by the degrees that match the degree filters.
	degreeFacet := func(dst *[]Bucket, col, order string) {
		g.Go(func() (err error) {
			var q sqlText
			q.add("SELECT CAST(d." + col + " AS CHAR), COUNT(DISTINCT a.id) FROM alumni a JOIN degrees d ON d.alumnus_id = a.id")
			if dc := degreeConditions(f, "d"); len(dc.terms) > 0 {
				q.add(" AND "+strings.Join(dc.terms, " AND "), dc.args...)
			}
			c := where(f)
			c.writeTo(&q)
			q.add(" GROUP BY d."+col+" ORDER BY "+order+" LIMIT ?", maxBuckets)
			*dst, err = s.buckets(gctx, q)
			return err
		})
	}
	degreeFacet(&out.GraduationYear, "graduation_year", "1 DESC")
	degreeFacet(&out.Program, "program", "2 DESC, 1")
	recordFacet := func(dst *[]Bucket, col string, extra ...string) {
		g.Go(func() (err error) {
			var q sqlText
			q.add("SELECT a." + col + ", COUNT(*) FROM alumni a")
			c := where(f)
			c.add("a." + col + " IS NOT NULL")
			for _, e := range extra {
				c.add(e)
			}
			c.writeTo(&q)
			q.add(" GROUP BY a."+col+" ORDER BY 2 DESC, 1 LIMIT ?", maxBuckets)
			*dst, err = s.buckets(gctx, q)
			return err
		})
	}
	if p.Role == auth.RoleViewer {
		recordFacet(&out.Country, "country", "a.directory_consent = TRUE") // the address of the others is hidden
	} else {
		recordFacet(&out.Country, "country")
	}
	recordFacet(&out.Industry, "industry")
	if p.Role.Office() || p.Role == auth.RoleViewer {
		recordFacet(&out.Status, "status")
	}
	if err := g.Wait(); err != nil {
		return Facets{}, err
	}
	return out, nil
}

// buckets runs a (value, count) query.
func (s *Store) buckets(ctx context.Context, q sqlText) ([]Bucket, error) {
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
