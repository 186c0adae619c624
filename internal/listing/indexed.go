package listing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// Lists, counts and facets from the search index (docs/SEARCH.md): the filter is the same,
// prepared the same way (what the caller may see is decided by prepare, as for SQL), and the
// index answers it. The follower brings the index up to date first, so a caller reads their
// own writes and everyone else's committed before the request.

// SetIndex makes the reader answer lists, totals and facets from the search index x, which f
// keeps current.
func (s *Reader) SetIndex(x *searchindex.Index, f *searchindex.Follower) {
	s.index, s.follower = x, f
}

// indexPosition is the cursor of a page read from the index: the sort values of its last
// record.
type indexPosition struct {
	Score     int       `json:"s,omitempty"`
	ClassYear int       `json:"y,omitempty"`
	UpdatedAt time.Time `json:"u,omitzero"`
	LastName  string    `json:"l,omitempty"`
	FirstName string    `json:"f,omitempty"`
	PublicID  string    `json:"p"`
}

// indexQuery is the index's form of the prepared filter f.
func indexQuery(f Filter) searchindex.Query {
	return searchindex.Query{
		Words: f.words, Kinds: f.kinds,
		Deleted: f.Deleted, ConsentOnly: f.consentOnly, DirectoryOnly: f.directoryOnly,
		Country: f.Country, City: f.City, Industry: f.Industry, Employer: f.Employer, Status: string(f.Status),
		Tag: f.Tag, DirectoryConsent: f.DirectoryConsent, UpdatedSince: f.UpdatedSince,
		Degree: f.Degree, Program: f.Program, Faculty: f.Faculty, YearFrom: f.GraduationYearFrom, YearTo: f.GraduationYearTo,
	}
}

// indexOrder is the index's form of a resolved sort.
func indexOrder(s Sort) (searchindex.Order, bool) {
	desc := strings.HasPrefix(string(s), "-")
	switch strings.TrimPrefix(string(s), "-") {
	case "relevance":
		return searchindex.ByRelevance, false
	case "graduationYear":
		return searchindex.ByYear, desc
	case "updatedAt":
		return searchindex.ByUpdated, desc
	}
	return searchindex.ByName, desc
}

// indexRows is listRows answered by the index.
func (s *Reader) indexRows(ctx context.Context, p auth.Principal, f *Filter, sort Sort, cursor string, limit int) ([]idRow, string, error) {
	if err := prepare(p, f); err != nil {
		return nil, "", err
	}
	sort, err := resolveSort(sort, *f)
	if err != nil {
		return nil, "", err
	}
	bound := cursorScope{Filter: *f, Sort: sort}
	var after *searchindex.Position
	if cursor != "" {
		var c indexPosition
		if err := page.Decode(cursor, bound, &c); err != nil {
			return nil, "", err
		}
		if c.PublicID == "" {
			return nil, "", page.Invalid()
		}
		after = &searchindex.Position{Score: c.Score, ClassYear: c.ClassYear, UpdatedAt: c.UpdatedAt,
			LastName: c.LastName, FirstName: c.FirstName, PublicID: c.PublicID}
	}
	if err := s.follower.Sync(ctx); err != nil {
		return nil, "", err
	}
	order, desc := indexOrder(sort)
	hits := s.index.Page(indexQuery(*f), order, desc, after, limit+1)
	rows := make([]idRow, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		rows = append(rows, idRow{id: int64(h.Key)})
	}
	if len(hits) <= limit {
		return rows, "", nil
	}
	last := hits[limit-1].Position
	pos := indexPosition{PublicID: last.PublicID}
	switch order {
	case searchindex.ByRelevance:
		pos.Score, pos.LastName, pos.FirstName = last.Score, last.LastName, last.FirstName
	case searchindex.ByName:
		pos.LastName, pos.FirstName = last.LastName, last.FirstName
	case searchindex.ByYear:
		pos.ClassYear, pos.LastName, pos.FirstName = last.ClassYear, last.LastName, last.FirstName
	case searchindex.ByUpdated:
		pos.UpdatedAt = last.UpdatedAt
	}
	return rows, page.Encode(pos, bound), nil
}

// indexTotal counts the records matching the prepared filter f in the index, up to CountLimit.
// List calls it after indexRows, whose Sync it relies on.
func (s *Reader) indexTotal(_ context.Context, f Filter) (Total, error) {
	return capped(s.index.Count(indexQuery(f))), nil
}

func capped(n int) Total {
	if n > CountLimit {
		return Total{Count: CountLimit, Exact: false}
	}
	return Total{Count: n, Exact: true}
}

// indexFacets is Facets answered by the index; f is prepared.
func (s *Reader) indexFacets(ctx context.Context, p auth.Principal, f Filter) (Facets, error) {
	if err := s.follower.Sync(ctx); err != nil {
		return Facets{}, err
	}
	q := indexQuery(f)
	dims := []searchindex.Dimension{searchindex.DimClassYear, searchindex.DimProgram, searchindex.DimCountry,
		searchindex.DimIndustry, searchindex.DimStatus}
	counts := s.index.Counts(q, dims, false)
	if p.Role == auth.RoleViewer && alumni.CountsByConsent[alumni.DimCountry] {
		counts[2] = s.index.Counts(q, dims[2:3], true)[0]
	}
	out := Facets{
		Total:          capped(s.index.Count(q)),
		GraduationYear: byYearDesc(counts[0], maxBuckets),
		Program:        buckets(searchindex.Top(counts[1], maxBuckets)),
		Country:        buckets(searchindex.Top(counts[2], maxBuckets)),
		Industry:       buckets(searchindex.Top(counts[3], maxBuckets)),
	}
	if p.Role.Office() || p.Role == auth.RoleViewer {
		out.Status = buckets(searchindex.Top(counts[4], maxBuckets))
	}
	return out, nil
}

func buckets(bs []searchindex.Bucket) []Bucket {
	out := make([]Bucket, len(bs))
	for i, b := range bs {
		out[i] = Bucket{Value: b.Value, Count: b.Count}
	}
	return out
}

// byYearDesc returns the limit latest years.
func byYearDesc(bs []searchindex.Bucket, limit int) []Bucket {
	out := buckets(bs)
	slices.SortFunc(out, func(a, b Bucket) int { return searchindex.CompareValues(b.Value, a.Value) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// indexDims are the index's dimensions of the report dimensions.
var indexDims = map[string]searchindex.Dimension{
	alumni.DimStatus: searchindex.DimStatus, alumni.DimCountry: searchindex.DimCountry,
	alumni.DimCity: searchindex.DimCity, alumni.DimIndustry: searchindex.DimIndustry,
	alumni.DimEmployer: searchindex.DimEmployer, alumni.DimCreated: searchindex.DimCreated,
	alumni.DimUpdated: searchindex.DimUpdated, alumni.DimClassYear: searchindex.DimClassYear,
	alumni.DimProgram: searchindex.DimProgram, alumni.DimFaculty: searchindex.DimFaculty,
	alumni.DimContact: searchindex.DimContact, alumni.DimQuality: searchindex.DimQuality,
}

// indexCountBy is countBy answered by the index for the prepared filter f: the records by the
// values of dim, only those who consented when consent, in order (a bucket order of
// analytics.go), at most limit values (0 for all).
func (s *Reader) indexCountBy(ctx context.Context, f Filter, dim, order string, limit int, consent bool) ([]Bucket, error) {
	d, ok := indexDims[dim]
	if !ok {
		return nil, fmt.Errorf("no index count for %s", dim)
	}
	if err := s.follower.Sync(ctx); err != nil {
		return nil, err
	}
	out := buckets(s.index.Counts(indexQuery(f), []searchindex.Dimension{d}, consent)[0])
	slices.SortFunc(out, func(a, b Bucket) int {
		switch order {
		case byValueDesc:
			return searchindex.CompareValues(b.Value, a.Value)
		case byValue:
			return searchindex.CompareValues(a.Value, b.Value)
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), searchindex.CompareValues(a.Value, b.Value))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// indexCountCases is countCases answered by the index: cases are the values of dim that are
// conditions (contact, quality), each counted as the caller may see it.
func (s *Reader) indexCountCases(ctx context.Context, p auth.Principal, f Filter, dim string, cases map[string]string) (map[string]int, error) {
	all, err := s.indexCountBy(ctx, f, dim, byValue, 0, false)
	if err != nil {
		return nil, err
	}
	var consented []Bucket
	if p.Role == auth.RoleViewer && alumni.CountsByConsent[dim] {
		if consented, err = s.indexCountBy(ctx, f, dim, byValue, 0, true); err != nil {
			return nil, err
		}
	}
	out := make(map[string]int, len(cases))
	for name := range cases {
		from := all
		if consented != nil && (dim != alumni.DimQuality || slices.Contains(alumni.ContactGaps, name)) {
			from = consented
		}
		out[name] = 0
		for _, b := range from {
			if b.Value == name {
				out[name] = b.Count
			}
		}
	}
	return out, nil
}
