package duplicates

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/ptr"
)

// Status is where a pair stands in the office's work.
type Status string

// The statuses of a pair.
const (
	Open      Status = "open"      // in the queue
	Dismissed Status = "dismissed" // judged not the same person; stays so
)

// Pair is a likely duplicate as the office sees it: the two records (ordered by public id, as
// its id), how likely they are one person and why, and what the office decided.
type Pair struct {
	ID        string
	Score     float64
	Reasons   []Reason
	Status    Status
	Records   [2]alumni.Alumnus
	ScoredAt  time.Time
	DecidedAt *time.Time
	DecidedBy string // public id of the user
}

// Page is one page of the queue.
type Page struct {
	Items []Pair
	Next  string // cursor of the next page; "" on the last
}

// Audited actions of the queue.
const (
	actionDismiss = "duplicate.dismiss"
	actionReopen  = "duplicate.reopen"
)

var errNoPair = derrors.New(derrors.NotFound, "No such pair: one of its records does not exist.")

// PairID is the id of the pair of records with public ids a and b.
func PairID(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + "-" + b
}

// parsePairID returns the two public ids of id (the contract checks their form).
func parsePairID(id string) (string, string, error) {
	a, b, ok := strings.Cut(id, "-")
	if !ok || a >= b {
		return "", "", derrors.New(derrors.Malformed, "The pair id is not valid.",
			derrors.FieldError{Field: "pairId", Message: "must be two different record ids, the smaller first, joined by '-'"})
	}
	return a, b, nil
}

type listFilter struct {
	Status Status `json:"status"`
}

type listPosition struct {
	Score int16 `json:"s"`
	Low   int64 `json:"l"`
	High  int64 `json:"h"`
}

// List returns a page of the pairs with status, best first (score, then the newer records),
// as p may see their records.
func (s *Store) List(ctx context.Context, p auth.Principal, status Status, limit int, cursor string) (_ Page, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	filter := listFilter{Status: status}
	pos := listPosition{Score: 1<<15 - 1, Low: 1<<63 - 1, High: 1<<63 - 1}
	if cursor != "" {
		if err := page.Decode(cursor, filter, &pos); err != nil {
			return Page{}, err
		}
	}
	q := db.New(s.db)
	rows, err := q.ListDuplicatePairs(ctx, db.ListDuplicatePairsParams{
		Status: string(status), Score: pos.Score, LowID: pos.Low, HighID: pos.High, Limit: page.FetchLimit(limit)})
	if err != nil {
		return Page{}, fmt.Errorf("list duplicate pairs: %w", err)
	}
	rows, next := page.Trim(rows, limit, filter, func(last db.DuplicatePair) any {
		return listPosition{Score: last.Score, Low: last.LowID, High: last.HighID}
	})
	pairs, err := s.withRecords(ctx, q, p, rows)
	if err != nil {
		return Page{}, err
	}
	return Page{Items: pairs, Next: next}, nil
}

// withRecords returns the stored pairs rows with their records as p may see them, leaving out
// a pair whose record has gone to the trash since it was scored.
func (s *Store) withRecords(ctx context.Context, q *db.Queries, p auth.Principal, rows []db.DuplicatePair) ([]Pair, error) {
	ids := make([]int64, 0, 2*len(rows))
	for _, r := range rows {
		ids = append(ids, r.LowID, r.HighID)
	}
	records, err := load(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Pair, 0, len(rows))
	for _, r := range rows {
		a, b := records[r.LowID], records[r.HighID]
		if a == nil || b == nil || !alumni.CanRead(p, a.Alumnus) || !alumni.CanRead(p, b.Alumnus) {
			continue
		}
		out = append(out, storedPair(p, r, a, b))
	}
	return out, nil
}

// storedPair is the stored pair r of records a and b as p may see them.
func storedPair(p auth.Principal, r db.DuplicatePair, a, b *record) Pair {
	pair := newPair(p, a, b, scoreOf(r.Score), reasonsOf(r.Reasons))
	pair.Status, pair.ScoredAt, pair.DecidedAt = Status(r.Status), r.ScoredAt, r.DecidedAt
	if r.DecidedBy != nil {
		pair.DecidedBy = *r.DecidedBy
	}
	return pair
}

// newPair is an open pair of a and b, scored now.
func newPair(p auth.Principal, a, b *record, score float64, reasons []Reason) Pair {
	if b.ID < a.ID {
		a, b = b, a
	}
	return Pair{ID: PairID(a.ID, b.ID), Score: score, Reasons: reasons, Status: Open,
		Records: [2]alumni.Alumnus{alumni.Redact(p, a.Alumnus), alumni.Redact(p, b.Alumnus)}}
}

// Of returns the likely duplicates of the live record id, best first, as p may see them:
// scored now from the stored keys (so a record created a moment ago through another replica
// counts), with the office's decisions; a dismissed pair is listed whatever its score now.
func (s *Store) Of(ctx context.Context, p auth.Principal, id string) (_ []Pair, err error) {
	defer database.ClassifyErr(&err)
	q := db.New(s.db)
	subject, err := s.byPublicID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if !alumni.CanRead(p, subject.Alumnus) {
		return nil, derrors.New(derrors.NotFound, "No alumnus with this id.")
	}
	pairs, records, err := likely(ctx, q, []*record{subject})
	if err != nil {
		return nil, err
	}
	now := s.now()
	byKey := map[int64]Pair{}
	for _, sp := range pairs {
		other := records[sp.low+sp.high-subject.key]
		pair := newPair(p, subject, other, sp.score, sp.reasons)
		pair.ScoredAt = now
		byKey[other.key] = pair
	}
	stored, err := q.ListPairsOf(ctx, db.ListPairsOfParams{ID: subject.key})
	if err != nil {
		return nil, fmt.Errorf("read duplicate pairs: %w", err)
	}
	var absent []int64
	for _, r := range stored {
		if other := r.LowID + r.HighID - subject.key; records[other] == nil && Status(r.Status) != Open {
			absent = append(absent, other)
		}
	}
	more, err := load(ctx, q, absent)
	if err != nil {
		return nil, err
	}
	for _, r := range stored {
		other := r.LowID + r.HighID - subject.key
		o := records[other]
		if o == nil {
			o = more[other]
		}
		if o == nil || Status(r.Status) == Open {
			continue // an open pair is as scored now (or no longer likely)
		}
		pair := storedPair(p, r, subject, o)
		if now, ok := byKey[other]; ok {
			pair.Score, pair.Reasons, pair.ScoredAt = now.Score, now.Reasons, now.ScoredAt
		}
		byKey[other] = pair
	}
	out := make([]Pair, 0, len(byKey))
	for key, pair := range byKey {
		if o := records[key]; o == nil || alumni.CanRead(p, o.Alumnus) {
			out = append(out, pair)
		}
	}
	slices.SortFunc(out, func(a, b Pair) int { return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// byPublicID reads the live record id, or NotFound.
func (s *Store) byPublicID(ctx context.Context, q *db.Queries, id string) (*record, error) {
	row, err := q.GetAlumnus(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, derrors.New(derrors.NotFound, "No alumnus with this id.")
	}
	if err != nil {
		return nil, fmt.Errorf("get alumnus: %w", err)
	}
	list, err := alumni.WithChildren(ctx, q, []db.Alumni{row})
	if err != nil {
		return nil, err
	}
	return &record{key: row.ID, Alumnus: list[0], profile: newProfile(list[0].Fields)}, nil
}

// Decide records the office's decision on the pair id: Dismissed ("not the same person",
// kept whatever later changes do) or Open again. Both records must be live. It is audited.
func (s *Store) Decide(ctx context.Context, p auth.Principal, id string, status Status) (_ Pair, err error) {
	defer database.ClassifyErr(&err)
	a, b, err := parsePairID(id)
	if err != nil {
		return Pair{}, err
	}
	q := db.New(s.db)
	ra, err := s.byPublicID(ctx, q, a)
	if derrors.KindOf(err) == derrors.NotFound {
		return Pair{}, errNoPair
	}
	if err != nil {
		return Pair{}, err
	}
	rb, err := s.byPublicID(ctx, q, b)
	if derrors.KindOf(err) == derrors.NotFound {
		return Pair{}, errNoPair
	}
	if err != nil {
		return Pair{}, err
	}
	if !alumni.CanRead(p, ra.Alumnus) || !alumni.CanRead(p, rb.Alumnus) {
		return Pair{}, errNoPair
	}
	score, reasons := score(ra.profile, rb.profile)
	low, high := min(ra.key, rb.key), max(ra.key, rb.key)
	now := s.now()
	var pair Pair
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		tq := db.New(tx)
		before := Open
		switch cur, err := tq.GetDuplicatePair(ctx, db.GetDuplicatePairParams{LowID: low, HighID: high}); {
		case err == nil:
			before = Status(cur.Status)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read duplicate pair: %w", err)
		}
		if err := tq.DecideDuplicatePair(ctx, db.DecideDuplicatePairParams{LowID: low, HighID: high,
			Score: storedScore(score), Reasons: storedReasons(reasons), Status: string(status), ScoredAt: now,
			DecidedBy: ptr.NonZero(p.UserID), DecidedAt: &now}); err != nil {
			return fmt.Errorf("decide duplicate pair: %w", err)
		}
		action := actionDismiss
		if status == Open {
			action = actionReopen
		}
		row, err := tq.GetDuplicatePair(ctx, db.GetDuplicatePairParams{LowID: low, HighID: high})
		if err != nil {
			return fmt.Errorf("read duplicate pair: %w", err)
		}
		pair = storedPair(p, row, ra, rb)
		// An event about each record, so that either's history tells the decision.
		events := make([]audit.Event, 2)
		for i, r := range pair.Records {
			events[i] = audit.Event{Action: action, EntityType: "alumnus", EntityID: r.ID, Changes: []audit.Change{
				{Field: "pairId", After: pair.ID}, {Field: "status", Before: string(before), After: string(status)}}}
		}
		return audit.RecordAll(ctx, tx, events, now)
	}, database.RetryDeadlocks())
	return pair, err
}
