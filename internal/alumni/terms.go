package alumni

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/search"
)

// The search index (table alumni_terms) holds each word of a record's searchable fields with
// the weight of the best field it appears in, and the kind of field, which decides who may find
// the record by it (see SearchKinds in access.go).
const (
	kindPublic  = "p" // names, employment, degrees, and the city of those who consented
	kindContact = "c" // the city of someone who did not consent to the directory
	kindTag     = "t" // the office's tags
)

// Field weights: a name counts most, then employment, then degrees, place and tags. A word
// typed in full scores one more than a word it is the prefix of.
const (
	weightName     = 8
	weightEmployer = 4
	weightJobTitle = 3
	weightProgram  = 3
	weightOther    = 2
)

// TermColumns are the alumni_terms columns TermRows fills, in order.
var TermColumns = []string{"term", "alumnus_id", "kind", "weight"}

// stopWords are left out of the non-name fields ("Faculty of Arts and Sciences"); in names
// every word counts ("de", "van", "la").
var stopWords = map[string]bool{"of": true, "and": true, "the": true, "for": true, "in": true, "at": true, "on": true}

// Term is one word of a record's search index: the kind of field it is in and the weight of
// the best such field.
type Term struct {
	Word   string
	Kind   string
	Weight int
}

// Terms returns the search index words of fields f, each once per kind.
func Terms(f Fields) []Term {
	type key struct{ term, kind string }
	best := map[key]int{}
	var order []key
	add := func(text, kind string, weight int, names bool) {
		for _, w := range search.Words(text) {
			if !names && stopWords[w] {
				continue
			}
			k := key{w, kind}
			if cur, ok := best[k]; !ok {
				order = append(order, k)
				best[k] = weight
			} else if weight > cur {
				best[k] = weight
			}
		}
	}
	for _, n := range []string{f.FirstName, f.LastName, f.PreferredName, f.EnrolledName} {
		add(n, kindPublic, weightName, true)
	}
	add(f.Employment.Employer, kindPublic, weightEmployer, false)
	add(f.Employment.JobTitle, kindPublic, weightJobTitle, false)
	for _, d := range f.Degrees {
		add(d.Program, kindPublic, weightProgram, false)
		add(d.Faculty, kindPublic, weightOther, false)
	}
	cityKind := kindContact
	if f.DirectoryConsent {
		cityKind = kindPublic
	}
	add(f.Address.City, cityKind, weightOther, false)
	for _, t := range f.Tags {
		add(t, kindTag, weightOther, false)
	}
	out := make([]Term, len(order))
	for i, k := range order {
		out[i] = Term{Word: k.term, Kind: k.kind, Weight: best[k]}
	}
	return out
}

// TermRows returns the search index rows (TermColumns) of the record with key id.
func TermRows(id int64, f Fields) [][]any {
	terms := Terms(f)
	rows := make([][]any, len(terms))
	for i, t := range terms {
		rows[i] = []any{t.Word, id, t.Kind, t.Weight}
	}
	return rows
}

// Reindex rebuilds the search index of every record, batch records at a time, each batch in
// its own transaction, and returns the number of records indexed. progress, when not nil, is
// called after each batch.
func (s *Store) Reindex(ctx context.Context, batch int, progress func(done int)) (int, error) {
	if batch <= 0 || batch > 10000 {
		batch = 1000
	}
	var after int64
	done := 0
	for {
		var n int
		err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
			q := db.New(tx)
			rows, err := q.ListAlumniByKey(ctx, db.ListAlumniByKeyParams{After: after, Limit: int32(batch)}) //nolint:gosec // bounded above
			if err != nil {
				return fmt.Errorf("list alumni: %w", err)
			}
			n = len(rows)
			if n == 0 {
				return nil
			}
			list, err := WithChildren(ctx, q, rows)
			if err != nil {
				return err
			}
			ids := make([]int64, n)
			var terms [][]any
			for i, r := range rows {
				ids[i] = r.ID
				terms = append(terms, TermRows(r.ID, list[i].Fields)...)
			}
			if err := q.DeleteTermsOf(ctx, ids); err != nil {
				return fmt.Errorf("delete search terms: %w", err)
			}
			after = rows[n-1].ID
			return database.InsertRows(ctx, tx, "alumni_terms", TermColumns, terms)
		})
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, nil
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
}
