package listing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/database"

	"github.com/alumnid/alumnid/internal/alumni"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/search"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// Filter selects records for a list, facets or an export. Zero values mean "any". The degree
// fields must all hold for one and the same degree.
type Filter struct {
	Q                  string        `json:"q,omitempty"`
	GraduationYearFrom int           `json:"yf,omitempty"`
	GraduationYearTo   int           `json:"yt,omitempty"`
	Degree             string        `json:"dg,omitempty"`
	Program            string        `json:"pr,omitempty"`
	Faculty            string        `json:"fa,omitempty"`
	Country            string        `json:"co,omitempty"`
	City               string        `json:"ci,omitempty"`
	Industry           string        `json:"in,omitempty"`
	Employer           string        `json:"em,omitempty"`
	Status             alumni.Status `json:"st,omitempty"`
	Tag                string        `json:"tg,omitempty"`
	DirectoryConsent   *bool         `json:"dc,omitempty"`
	UpdatedSince       time.Time     `json:"us,omitzero"`
	Deleted            bool          `json:"de,omitempty"`

	// Set by prepare, never by the caller.
	words         []string // the words of Q, longest first
	kinds         []string // the kinds of search index words the caller may match
	consentOnly   bool     // only alumni who consented to the directory
	directoryOnly bool     // only alumni listed in the directory
}

func (f Filter) hasDegreeFilter() bool {
	return f.Degree != "" || f.Program != "" || f.Faculty != "" || f.GraduationYearFrom != 0 || f.GraduationYearTo != 0
}

// prepare checks f and narrows it to what p may see (alumni.Scope). It returns a
// Malformed error for contradictory filters or an unusable search and a Forbidden one for a
// filter on a field p may not read.
func prepare(p auth.Principal, f *Filter) error {
	f.Country = strings.ToUpper(f.Country)
	sc, err := alumni.Scope(p, alumni.ListFilters{Deleted: f.Deleted, Place: f.Country != "" || f.City != "", Status: f.Status != "", Tag: f.Tag != ""})
	if err != nil {
		return err
	}
	f.directoryOnly, f.consentOnly = sc.DirectoryOnly, sc.ConsentOnly
	if f.GraduationYearFrom != 0 && f.GraduationYearTo != 0 && f.GraduationYearFrom > f.GraduationYearTo {
		return derrors.New(derrors.Malformed, "The graduation year range is empty.",
			derrors.FieldError{Field: "graduationYearTo", Message: "must not be before graduationYearFrom"})
	}
	if f.Q != "" {
		words, err := search.Query(f.Q)
		if err != nil {
			return err
		}
		slices.SortStableFunc(words, func(a, b string) int { return len(b) - len(a) }) // the longest is likely the rarest
		f.words = words
		f.kinds = alumni.SearchKinds(p)
	}
	return nil
}

// Page is one page of a list. NextCursor is empty on the last page. Total is set when asked
// for.
type Page struct {
	Items      []alumni.Alumnus
	NextCursor string
	Total      *Total
}

// Total is how many records match: exact up to CountLimit, else Exact is false and Count is
// CountLimit.
type Total struct {
	Count int
	Exact bool
}

// CountLimit is where counting stops: beyond it a total is a lower bound.
const CountLimit = 10000

// ListOptions are the parts of a list request besides the filter.
type ListOptions struct {
	Sort         Sort   // "" for the default: relevance with a search, else last name
	After        string // the NextCursor of the previous page, "" for the first page
	Limit        int
	IncludeTotal bool
}

// cursorScope is what a cursor is bound to: the filter and the order.
type cursorScope struct {
	Filter
	Sort Sort `json:"so"`
}

// List returns the page of records matching f that follows o.After, in order o.Sort, as p may
// see them. It returns a Malformed error for a bad cursor, limit, sort or filter, a Forbidden
// one for a filter p may not use, and Unavailable while the search index loads.
func (s *Reader) List(ctx context.Context, p auth.Principal, f Filter, o ListOptions) (_ Page, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(o.Limit); err != nil {
		return Page{}, err
	}
	keys, next, err := s.pageKeys(ctx, p, &f, o.Sort, o.After, o.Limit)
	if err != nil {
		return Page{}, err
	}
	items, err := s.load(ctx, p, f, keys)
	if err != nil {
		return Page{}, err
	}
	out := Page{Items: items, NextCursor: next}
	if o.IncludeTotal {
		t := capped(s.index.Count(f.query())) // pageKeys has synced
		out.Total = &t
	}
	return out, nil
}

// admits reports whether record a, as read from the database, is within what the prepared
// filter f may return: the index found it a moment ago, and what privacy depends on (being
// deleted, directory consent, status) is checked again on the record as read, in case it
// changed since.
func (f Filter) admits(a alumni.Alumnus) bool {
	return (a.DeletedAt != nil) == f.Deleted &&
		alumni.ListScope{DirectoryOnly: f.directoryOnly, ConsentOnly: f.consentOnly}.Holds(a)
}

// position is the cursor of a page: the sort values of its last record that the order uses.
type position struct {
	Score     int       `json:"s,omitempty"`
	ClassYear int       `json:"y,omitempty"`
	UpdatedAt time.Time `json:"u,omitzero"`
	LastName  string    `json:"l,omitempty"`
	FirstName string    `json:"f,omitempty"`
	PublicID  string    `json:"p"`
}

// query is the index's form of the prepared filter f.
func (f Filter) query() searchindex.Query {
	return searchindex.Query{
		Words: f.words, Kinds: f.kinds,
		Deleted: f.Deleted, ConsentOnly: f.consentOnly, DirectoryOnly: f.directoryOnly,
		Country: f.Country, City: f.City, Industry: f.Industry, Employer: f.Employer, Status: string(f.Status),
		Tag: f.Tag, DirectoryConsent: f.DirectoryConsent, UpdatedSince: f.UpdatedSince,
		Degree: f.Degree, Program: f.Program, Faculty: f.Faculty, YearFrom: f.GraduationYearFrom, YearTo: f.GraduationYearTo,
	}
}

// pageKeys prepares f and returns the keys of up to limit records matching it after cursor
// (any page size; List checks it against the contract's), and the cursor of the next page.
func (s *Reader) pageKeys(ctx context.Context, p auth.Principal, f *Filter, sort Sort, cursor string, limit int) ([]uint32, string, error) {
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
		var c position
		if err := page.Decode(cursor, bound, &c); err != nil {
			return nil, "", err
		}
		if c.PublicID == "" {
			return nil, "", page.Invalid()
		}
		after = &searchindex.Position{Score: c.Score, ClassYear: c.ClassYear, UpdatedAt: c.UpdatedAt,
			LastName: c.LastName, FirstName: c.FirstName, PublicID: c.PublicID}
	}
	if err := s.sync(ctx); err != nil {
		return nil, "", err
	}
	order, desc := sort.index()
	hits := s.index.Page(f.query(), order, desc, after, limit+1)
	keys := make([]uint32, 0, min(len(hits), limit))
	for _, h := range hits[:min(len(hits), limit)] {
		keys = append(keys, h.Key)
	}
	if len(hits) <= limit {
		return keys, "", nil
	}
	return keys, page.Encode(positionOf(order, hits[limit-1].Position), bound), nil
}

// positionOf is the cursor position of last in order: only the values the order uses.
func positionOf(order searchindex.Order, last searchindex.Position) position {
	pos := position{PublicID: last.PublicID}
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
	return pos
}

// capped is a count as a Total: exact up to CountLimit.
func capped(n int) Total {
	if n > CountLimit {
		return Total{Count: CountLimit, Exact: false}
	}
	return Total{Count: n, Exact: true}
}

// load reads the records of keys, in their order, as p may see them.
func (s *Reader) load(ctx context.Context, p auth.Principal, f Filter, keys []uint32) ([]alumni.Alumnus, error) {
	if len(keys) == 0 {
		return []alumni.Alumnus{}, nil
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = int64(k)
	}
	q := db.New(s.db)
	found, err := q.ListAlumniByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load alumni: %w", err)
	}
	byID := make(map[int64]db.Alumni, len(found))
	for _, r := range found {
		byID[r.ID] = r
	}
	ordered := make([]db.Alumni, 0, len(ids))
	for _, id := range ids {
		if a, ok := byID[id]; ok { // gone since the index was read (purged): skip
			ordered = append(ordered, a)
		}
	}
	items, err := alumni.WithChildren(ctx, q, ordered)
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, a := range items {
		if f.admits(a) {
			out = append(out, alumni.Redact(p, a))
		}
	}
	return out, nil
}
