package listing

import (
	"context"
	"database/sql"
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
	plan          queryPlan
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
	f.plan = queryPlan{drive: len(f.words) > 0} // statements that read every match; pages plan their own
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
// see them. It returns a Malformed error for a bad cursor, limit, sort or filter and a
// Forbidden one for a filter p may not use.
func (s *Reader) List(ctx context.Context, p auth.Principal, f Filter, o ListOptions) (_ Page, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(o.Limit); err != nil {
		return Page{}, err
	}
	listRows, count := s.listRows, s.count
	if s.index != nil {
		listRows, count = s.indexRows, s.indexTotal
	}
	rows, next, err := listRows(ctx, p, &f, o.Sort, o.After, o.Limit)
	if err != nil {
		return Page{}, err
	}
	items, err := s.load(ctx, p, rows)
	if err != nil {
		return Page{}, err
	}
	out := Page{Items: items, NextCursor: next}
	if o.IncludeTotal {
		t, err := count(ctx, f)
		if err != nil {
			return Page{}, err
		}
		out.Total = &t
	}
	return out, nil
}

// idRow is a matching record's key and sort values.
type idRow struct {
	id  int64
	pos position
}

// listRows returns the keys of up to limit records after cursor (any page size; List checks
// it against the contract's) and the cursor of the next page.
func (s *Reader) listRows(ctx context.Context, p auth.Principal, f *Filter, sort Sort, cursor string, limit int) ([]idRow, string, error) {
	if err := prepare(p, f); err != nil {
		return nil, "", err
	}
	sort, err := resolveSort(sort, *f)
	if err != nil {
		return nil, "", err
	}
	keys := sort.keys()
	bound := cursorScope{Filter: *f, Sort: sort}
	if err := s.plan(ctx, f, sort != SortRelevance); err != nil {
		return nil, "", err
	}
	var pos *position
	if cursor != "" {
		var c position
		if err := page.Decode(cursor, bound, &c); err != nil {
			return nil, "", err
		}
		if c.PublicID == "" {
			return nil, "", page.Invalid()
		}
		pos = &c
	}

	q := pageStatement(*f, sort, pos, limit)
	res, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list alumni: %w", err)
	}
	defer res.Close()
	var rows []idRow
	for res.Next() {
		var r idRow
		var score sql.NullInt64
		if err := res.Scan(&r.id, &r.pos.PublicID, &r.pos.LastName, &r.pos.FirstName, &r.pos.ClassYear, &r.pos.UpdatedAt, &score); err != nil {
			return nil, "", fmt.Errorf("list alumni: %w", err)
		}
		r.pos.Score = int(score.Int64)
		rows = append(rows, r)
	}
	if err := res.Err(); err != nil {
		return nil, "", fmt.Errorf("list alumni: %w", err)
	}
	if len(rows) <= limit {
		return rows, "", nil
	}
	rows = rows[:limit]
	return rows, page.Encode(used(keys, rows[len(rows)-1].pos), bound), nil
}

// resolveSort returns the order of a list of the prepared filter f: sort, or the default when
// it is empty (relevance with a search, else last name). It returns a Malformed error for an
// unknown order and for relevance without a search.
func resolveSort(sort Sort, f Filter) (Sort, error) {
	switch {
	case sort == "" && f.Q != "":
		return SortRelevance, nil
	case sort == "":
		return SortLastName, nil
	case !sort.valid():
		return "", derrors.New(derrors.Malformed, "Unknown order.",
			derrors.FieldError{Field: "sort", Message: "is not one of the orders a list has"})
	case sort == SortRelevance && f.Q == "":
		return "", derrors.New(derrors.Malformed, "Relevance order needs a search.",
			derrors.FieldError{Field: "sort", Message: "relevance is only allowed with q"})
	}
	return sort, nil
}

// pageStatement is the id query of a page of the prepared and planned filter f in order sort
// (resolved), after pos (nil for the first page), reading one more row than limit to tell
// whether a next page exists.
func pageStatement(f Filter, sort Sort, pos *position, limit int) *sqlText {
	keys := sort.keys()
	// The relevance of each match is computed in a derived table, so the keyset condition can
	// use it; the other orders put the keyset condition on the indexed columns themselves.
	q := &sqlText{}
	relevance := sort == SortRelevance
	if relevance {
		q.add("SELECT * FROM (")
	}
	q.add("SELECT a.id, a.public_id, a.last_name, a.first_name, a.class_year, a.updated_at")
	if relevance {
		expr, args := scoreExpr(f)
		q.add(", "+expr+" AS score", args...)
	} else {
		q.add(", 0 AS score")
	}
	fromClause, fromArgs := from(f)
	q.add(fromClause, fromArgs...)
	c := where(f)
	if pos != nil && !relevance {
		cond, args := after(keys, *pos)
		c.add(cond, args...)
	}
	c.writeTo(q)
	if relevance {
		q.add(") r")
		if pos != nil {
			cond, args := after(keys, *pos)
			q.add(" WHERE "+cond, args...)
		}
	}
	q.add(orderBy(keys)+" LIMIT ?", limit+1)
	return q
}

// used keeps only the values of p that keys use, so a cursor carries nothing else.
func used(keys []sortKey, p position) position {
	var out position
	for _, k := range keys {
		switch k.col {
		case "score":
			out.Score = p.Score
		case "class_year":
			out.ClassYear = p.ClassYear
		case "updated_at":
			out.UpdatedAt = p.UpdatedAt
		case "last_name":
			out.LastName = p.LastName
		case "first_name":
			out.FirstName = p.FirstName
		case "public_id":
			out.PublicID = p.PublicID
		}
	}
	return out
}

// load reads the records of rows, in their order, as p may see them.
func (s *Reader) load(ctx context.Context, p auth.Principal, rows []idRow) ([]alumni.Alumnus, error) {
	if len(rows) == 0 {
		return []alumni.Alumnus{}, nil
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.id
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
	ordered := make([]db.Alumni, 0, len(rows))
	for _, r := range rows {
		if a, ok := byID[r.id]; ok { // gone since the id query (purged): skip
			ordered = append(ordered, a)
		}
	}
	items, err := alumni.WithChildren(ctx, q, ordered)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i] = alumni.Redact(p, items[i])
	}
	return items, nil
}

// count returns the number of records matching the prepared filter f, up to CountLimit.
func (s *Reader) count(ctx context.Context, f Filter) (Total, error) {
	return s.runCount(ctx, countQuery(f))
}

// cachedTotal is count through the count cache (for facets; a list's total is always live).
func (s *Reader) cachedTotal(ctx context.Context, f Filter) (Total, error) {
	q := countQuery(f)
	return cachedCount(ctx, s.counts, q, func(t Total) Total { return t }, func(ctx context.Context) (Total, error) { return s.runCount(ctx, q) })
}

// countQuery is the statement that counts the records matching f, up to CountLimit+1.
func countQuery(f Filter) sqlText {
	f.plan = queryPlan{drive: len(f.words) > 0}
	var q sqlText
	fromClause, fromArgs := from(f)
	q.add("SELECT COUNT(*) FROM (SELECT 1"+fromClause, fromArgs...)
	c := where(f)
	c.writeTo(&q)
	q.add(" LIMIT ?) m", CountLimit+1)
	return q
}

func (s *Reader) runCount(ctx context.Context, q sqlText) (Total, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return Total{}, fmt.Errorf("count alumni: %w", err)
	}
	if n > CountLimit {
		return Total{Count: CountLimit, Exact: false}, nil
	}
	return Total{Count: n, Exact: true}, nil
}
