package listing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/search"
)

// Lists, searches, counts, facets and exports all select records with the same WHERE clause,
// built here from a Filter. sqlc cannot write these statements: which filters apply, which
// order and which keyset condition are only known per request, and the one-statement
// "(? IS NULL OR col = ?)" form sqlc needs leaves the server unable to pick the index that
// fits the filters given (measured in docs/PERFORMANCE.md). Only fixed SQL text and
// placeholders go into a statement; every value is an argument.

// sqlText is a statement being built: text with ? placeholders and their arguments.
type sqlText struct {
	b    strings.Builder
	args []any
}

// add appends text and its arguments.
func (s *sqlText) add(text string, args ...any) *sqlText {
	s.b.WriteString(text)
	s.args = append(s.args, args...)
	return s
}

func (s *sqlText) String() string { return s.b.String() }

// conditions are ANDed terms of a WHERE clause.
type conditions struct {
	terms []string
	args  []any
}

func (c *conditions) add(term string, args ...any) {
	c.terms = append(c.terms, term)
	c.args = append(c.args, args...)
}

func (c *conditions) writeTo(s *sqlText) {
	if len(c.terms) == 0 {
		return
	}
	s.add(" WHERE "+strings.Join(c.terms, " AND "), c.args...)
}

// where returns the conditions of f on alumni a; f must have been prepared.
func where(f Filter) conditions {
	var c conditions
	if f.Deleted {
		c.add("a.deleted_at IS NOT NULL")
	} else {
		c.add("a.deleted_at IS NULL")
	}
	if f.consentOnly {
		c.add("a.directory_consent = TRUE")
	}
	if f.directoryOnly {
		c.add("a.directory_consent = TRUE AND a.status <> 'deceased'")
	}
	eq := func(col, v string) {
		if v != "" {
			c.add(col+" = ?", v)
		}
	}
	eq("a.country", f.Country)
	eq("a.city", f.City)
	eq("a.industry", f.Industry)
	eq("a.employer", f.Employer)
	eq("a.status", string(f.Status))
	if f.DirectoryConsent != nil {
		c.add("a.directory_consent = ?", *f.DirectoryConsent)
	}
	if !f.UpdatedSince.IsZero() {
		c.add("a.updated_at >= ?", database.ClampTime(f.UpdatedSince))
	}
	if f.Tag != "" {
		sub := "SELECT 1 FROM alumni_tags t WHERE t.alumnus_id = a.id AND t.tag = ?"
		if f.plan.walkTag {
			c.add("("+sub+" LIMIT 1) IS NOT NULL", f.Tag)
		} else {
			c.add("EXISTS ("+sub+")", f.Tag)
		}
	}
	if f.hasDegreeFilter() {
		d := degreeConditions(f, "d")
		sub := "SELECT 1 FROM degrees d WHERE d.alumnus_id = a.id AND " + strings.Join(d.terms, " AND ")
		if f.plan.walkDegrees {
			c.add("("+sub+" LIMIT 1) IS NOT NULL", d.args...)
		} else {
			c.add("EXISTS ("+sub+")", d.args...)
		}
	}
	for i, w := range f.words {
		if i == 0 && f.plan.drive {
			continue // the FROM clause starts from its matches
		}
		// A scalar subquery, checked per candidate with the (alumnus_id) index: never turned
		// into a scan of every record holding a word that starts the same way.
		c.add("(SELECT 1 FROM alumni_terms w WHERE w.alumnus_id = a.id AND w.term LIKE ? AND w.kind IN ("+
			database.Placeholders(len(f.kinds))+") LIMIT 1) IS NOT NULL", append([]any{search.Prefix(w)}, kindArgs(f.kinds)...)...)
	}
	return c
}

// queryPlan says how a statement finds the records of a filter. The server's optimizer cannot
// know how many records a word prefix or a degree filter matches; the store asks first (plan)
// and picks between driving the statement from those few matches, and walking an index in the
// order of the page while checking each record (when there are many, the first page is found
// after a few checks).
type queryPlan struct {
	drive       bool // start from the records matching the first word (the derived table m)
	walkDegrees bool // check the degree filter per record instead of gathering every match
	walkTag     bool // the same for the tag filter
}

// defaultProbeLimit is how many matches make a word or degree filter "common": walking an
// index is then faster than sorting the matches, even when the matches cluster in the order
// (a last name in name order). Counting up to it reads at most that many index entries.
const defaultProbeLimit = 20000

// plan fills f.plan for a statement that reads every match (ordered false: counts, facets,
// relevance) or only the first matches in an indexed order (ordered true: pages, and the
// chunks of an export, which walk the primary key).
// It runs at most three index-range counts, each stopping at the store's probe limit.
func (s *Reader) plan(ctx context.Context, f *Filter, ordered bool) error {
	f.plan = queryPlan{drive: len(f.words) > 0}
	if !ordered {
		return nil
	}
	if len(f.words) > 0 {
		n, err := s.probe(ctx, "SELECT 1 FROM alumni_terms WHERE term LIKE ?", search.Prefix(f.words[0]))
		if err != nil {
			return err
		}
		f.plan.drive = n < s.probeLimit
	}
	if f.hasDegreeFilter() && !f.plan.drive {
		d := degreeConditions(*f, "d")
		n, err := s.probe(ctx, "SELECT 1 FROM degrees d WHERE "+strings.Join(d.terms, " AND "), d.args...)
		if err != nil {
			return err
		}
		f.plan.walkDegrees = n >= s.probeLimit
	}
	if f.Tag != "" && !f.plan.drive {
		n, err := s.probe(ctx, "SELECT 1 FROM alumni_tags WHERE tag = ?", f.Tag)
		if err != nil {
			return err
		}
		f.plan.walkTag = n >= s.probeLimit
	}
	return nil
}

// probe counts the rows of query, up to the store's probe limit.
func (s *Reader) probe(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+query+" LIMIT ?) x", append(args, s.probeLimit)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("plan query: %w", err)
	}
	return n, nil
}

// from is the FROM clause of f: the records, or, when the plan drives from the first word, the
// records holding it (as m.alumnus_id, with m.score its relevance).
func from(f Filter) (string, []any) {
	if !f.plan.drive {
		return " FROM alumni a", nil
	}
	w := f.words[0]
	return " FROM (SELECT alumnus_id, MAX(weight + (term = ?)) AS score FROM alumni_terms WHERE term LIKE ? AND kind IN (" +
			database.Placeholders(len(f.kinds)) + ") GROUP BY alumnus_id) m JOIN alumni a ON a.id = m.alumnus_id",
		append([]any{w, search.Prefix(w)}, kindArgs(f.kinds)...)
}

// degreeConditions are the degree filters of f on degrees alias d (one and the same degree).
func degreeConditions(f Filter, d string) conditions {
	var c conditions
	if f.Degree != "" {
		c.add(d+".degree = ?", f.Degree)
	}
	if f.Program != "" {
		c.add(d+".program = ?", f.Program)
	}
	if f.Faculty != "" {
		c.add(d+".faculty = ?", f.Faculty)
	}
	if f.GraduationYearFrom != 0 {
		c.add(d+".graduation_year >= ?", f.GraduationYearFrom)
	}
	if f.GraduationYearTo != 0 {
		c.add(d+".graduation_year <= ?", f.GraduationYearTo)
	}
	return c
}

// scoreExpr is the relevance of a record to the words of f: for each word, the weight of the
// best field it matches, one more when the word is typed in full. f's plan drives from the
// first word.
func scoreExpr(f Filter) (string, []any) {
	parts := []string{"m.score"}
	var args []any
	for _, w := range f.words[1:] {
		parts = append(parts, "(SELECT MAX(w.weight + (w.term = ?)) FROM alumni_terms w WHERE w.alumnus_id = a.id AND w.term LIKE ? AND w.kind IN ("+
			database.Placeholders(len(f.kinds))+"))")
		args = append(args, w, search.Prefix(w))
		args = append(args, kindArgs(f.kinds)...)
	}
	return strings.Join(parts, " + "), args
}

func kindArgs(kinds []string) []any {
	out := make([]any, len(kinds))
	for i, k := range kinds {
		out[i] = k
	}
	return out
}

// Sort is the order of a list (the contract's AlumniSort).
type Sort string

// The orders a list can have; a leading "-" reverses every key.
const (
	SortRelevance          Sort = "relevance"
	SortLastName           Sort = "lastName"
	SortLastNameDesc       Sort = "-lastName"
	SortGraduationYear     Sort = "graduationYear"
	SortGraduationYearDesc Sort = "-graduationYear"
	SortUpdatedAt          Sort = "updatedAt"
	SortUpdatedAtDesc      Sort = "-updatedAt"
)

// sortKey is one column of an order.
type sortKey struct {
	col  string // column of the id query's select list
	desc bool
}

// keys returns the columns of order s, the public id last (unique, so the order is total).
func (s Sort) keys() []sortKey {
	desc := strings.HasPrefix(string(s), "-")
	name := []sortKey{{"last_name", desc}, {"first_name", desc}, {"public_id", desc}}
	switch strings.TrimPrefix(string(s), "-") {
	case "relevance":
		return append([]sortKey{{"score", true}}, name...)
	case "graduationYear":
		return append([]sortKey{{"class_year", desc}}, name...)
	case "updatedAt":
		return []sortKey{{"updated_at", desc}, {"public_id", desc}}
	}
	return name
}

// valid reports whether s is one of the orders above.
func (s Sort) valid() bool {
	switch s {
	case SortRelevance, SortLastName, SortLastNameDesc, SortGraduationYear, SortGraduationYearDesc, SortUpdatedAt, SortUpdatedAtDesc:
		return true
	}
	return false
}

// position is the keyset position after the last record of a page: the values of its sort
// keys that the order uses.
type position struct {
	Score     int       `json:"s,omitempty"`
	ClassYear int       `json:"y,omitempty"`
	UpdatedAt time.Time `json:"u,omitzero"`
	LastName  string    `json:"l,omitempty"`
	FirstName string    `json:"f,omitempty"`
	PublicID  string    `json:"p"`
}

func (p position) value(col string) any {
	switch col {
	case "score":
		return p.Score
	case "class_year":
		return p.ClassYear
	case "updated_at":
		return p.UpdatedAt
	case "last_name":
		return p.LastName
	case "first_name":
		return p.FirstName
	}
	return p.PublicID
}

// after returns the condition "comes after p in the order of keys": for keys (k1, k2, k3),
// k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND k3 > v3))), with < for descending keys.
func after(keys []sortKey, p position) (string, []any) {
	if len(keys) == 0 {
		return "FALSE", nil
	}
	k := keys[0]
	op := " > ?"
	if k.desc {
		op = " < ?"
	}
	if len(keys) == 1 {
		return k.col + op, []any{p.value(k.col)}
	}
	rest, restArgs := after(keys[1:], p)
	return "(" + k.col + op + " OR (" + k.col + " = ? AND " + rest + "))",
		append([]any{p.value(k.col), p.value(k.col)}, restArgs...)
}

// orderBy is the ORDER BY clause of keys.
func orderBy(keys []sortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.col
		if k.desc {
			parts[i] += " DESC"
		}
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}
