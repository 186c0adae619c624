package alumni

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Upserts: many records created or updated in one transaction, matched on their natural keys
// (imports use this). Every change goes through the one write path (write.go), as Create's and
// Update's do: the updates' own rows one at a time, so that later rows of a batch see them,
// then the new records, and the children, counts and audit events of the whole batch together.

// UpsertRow is one record to create or update. It is matched on StudentID, then on Email (as
// Normalize stores them). Edit receives a copy of the matched record's fields (found is true),
// or for a new record the fields a new record starts from (the office's default directory
// consent, nothing else), and returns the fields to store; an error (Invalid,
// naming fields) rejects the row, together with what Normalize finds wrong with the fields
// returned, so that a row's problems are reported at once.
type UpsertRow struct {
	StudentID string
	Email     string
	Edit      func(cur Fields, found bool) (Fields, error)
}

// Outcome is what an upsert did with one row.
type Outcome uint8

// The outcomes of an upsert row.
const (
	Rejected Outcome = iota + 1
	Created
	Updated
	Unchanged
)

// UpsertResult is the outcome of one UpsertRow. ID is the public id of the record created,
// updated or left unchanged; Err says why a row was Rejected (Invalid or Conflict, naming
// fields).
type UpsertResult struct {
	Outcome Outcome
	ID      string
	Err     error
}

// MatchKeys returns a student id and an email as Normalize stores them, which is how upserts
// compare them.
func MatchKeys(studentID, email string) (string, string) {
	f := Fields{StudentID: studentID, Email: email}
	_ = Normalize(&f, time.Time{}) // only the two keys are wanted; the missing names do not matter
	return f.StudentID, f.Email
}

// StudentIDFits reports whether a student id, as MatchKeys returns it, fits the stored column;
// longer ones are refused by Normalize.
func StudentIDFits(id string) bool { return utf8.RuneCountInString(id) <= maxStudentID }

// EmailFits reports whether an email, as MatchKeys returns it, fits the stored column.
func EmailFits(email string) bool { return utf8.RuneCountInString(email) <= maxEmail }

// upsertTarget is a stored record an upsert may change.
type upsertTarget struct {
	internalID int64
	Alumnus
}

// Upsert creates or updates one record per row through tx, the caller's transaction (so that
// its own bookkeeping commits with the records). Records matched are locked until the
// transaction ends. A row is written whole or not at all: its first write is the record's own
// row, and a unique-key conflict there (a student id or email another record has) rejects the
// row before anything of it is written. A row that leaves every field as it was writes nothing.
// Rows are applied in order, except that new records are inserted after the updates of the
// batch; a row whose key another row of the same call has is rejected. With dryRun, every
// write is undone before Upsert returns (the locks stay), so the results say what the rows
// would do.
//
// It returns one result per row, and an error (after which the transaction must be rolled
// back) when the database fails.
func (s *Store) Upsert(ctx context.Context, tx *sql.Tx, rows []UpsertRow, dryRun bool) ([]UpsertResult, error) {
	blank, err := s.blank(ctx)
	if err != nil {
		return nil, err
	}
	now := s.timestamp()
	q := db.New(tx)
	rowKeys := make([]rowKey, len(rows))
	for i, r := range rows {
		sid, email := MatchKeys(r.StudentID, r.Email)
		rowKeys[i] = rowKey{sid, email}
	}
	if dryRun {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT upsert_dry_run"); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
	}
	// The records with the rows' student ids, then those with the emails of the rows not
	// matched so (only they are matched on their email).
	var studentIDs, emails []string
	for _, k := range rowKeys {
		if k.studentID != "" {
			studentIDs = append(studentIDs, k.studentID)
		}
	}
	targets := map[int64]*upsertTarget{} // one per record, however it was found
	byStudentID, _, err := lockTargets(ctx, q, targets, studentIDs, nil)
	if err != nil {
		return nil, err
	}
	for _, k := range rowKeys {
		if k.email != "" && byStudentID[fold(k.studentID)] == nil {
			emails = append(emails, k.email)
		}
	}
	_, byEmail, err := lockTargets(ctx, q, targets, nil, emails)
	if err != nil {
		return nil, err
	}
	// Then the records that absorbed the keys of the rows matched by neither (merge.go).
	absorbedBySID, absorbedByEmail, err := lockSurvivors(ctx, q, targets, rowKeys, func(sid, email string) bool {
		return byStudentID[fold(sid)] == nil && byEmail[fold(email)] == nil
	})
	if err != nil {
		return nil, err
	}

	out := make([]UpsertResult, len(rows))
	var updated, created []*change
	var createdRows []int
	seen := map[string]int{} // the row of each key, "s:" student id or "e:" email
	for i, r := range rows {
		k := rowKeys[i]
		if k.studentID == "" && k.email == "" {
			out[i] = reject(derrors.Invalid, "The record cannot be matched.", "studentId", "a student id or an email is needed to match the record")
			continue
		}
		if res, ok := repeated(seen, i, "s:"+fold(k.studentID), "studentId", k.studentID != ""); ok {
			out[i] = res
			continue
		}
		if res, ok := repeated(seen, i, "e:"+fold(k.email), "email", k.email != ""); ok {
			out[i] = res
			continue
		}
		target, matchedBy := byStudentID[fold(k.studentID)], "studentId"
		if target == nil && k.studentID != "" && absorbedBySID[fold(k.studentID)] != nil {
			target = absorbedBySID[fold(k.studentID)]
			r = keepKeys(r, k.studentID, k.email) // the absorbed key does not replace the survivor's
		}
		if target == nil && k.email != "" {
			target, matchedBy = byEmail[fold(k.email)], "email"
			if target == nil && absorbedByEmail[fold(k.email)] != nil {
				target = absorbedByEmail[fold(k.email)]
				r = keepKeys(r, k.studentID, k.email)
			}
			if target != nil && k.studentID != "" && target.StudentID != "" {
				out[i] = reject(derrors.Conflict, "The email belongs to another person's record.", "email",
					"belongs to the record with student id "+target.StudentID)
				continue
			}
		}
		switch {
		case target != nil && target.DeletedAt != nil:
			out[i] = reject(derrors.Conflict, "The record is in the trash.", matchedBy, "matches a deleted record; restore it first")
		case target == nil:
			f, err := edit(r, blank, false, now)
			if err != nil {
				if out[i], err = rejected(err); err != nil {
					return nil, err
				}
				continue
			}
			c := newChange(f, now)
			c.source = SourceImport
			created, createdRows = append(created, c), append(createdRows, i)
			out[i] = UpsertResult{Outcome: Created, ID: c.after.ID}
		default:
			oldKeys := []string{fold(target.StudentID), fold(target.Email)}
			res, c, err := upsertUpdate(ctx, tx, r, target, now)
			if err != nil {
				return nil, err
			}
			out[i] = res
			if c != nil {
				updated = append(updated, c)
			}
			if res.Outcome == Updated {
				// Later rows see the record as it is now.
				delete(byStudentID, oldKeys[0])
				delete(byEmail, oldKeys[1])
				if target.StudentID != "" {
					byStudentID[fold(target.StudentID)] = target
				}
				if target.Email != "" {
					byEmail[fold(target.Email)] = target
				}
			}
		}
	}
	// The updates' own rows are written; the rest of them is written with the new records.
	if err := writeRest(ctx, tx, append(updated, created...), now, true); err != nil {
		return nil, err
	}
	for j, c := range created {
		if c.rejected != nil {
			out[createdRows[j]] = UpsertResult{Outcome: Rejected, Err: c.rejected}
		}
	}
	if dryRun {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT upsert_dry_run"); err != nil {
			return nil, fmt.Errorf("roll back dry run: %w", err)
		}
	}
	return out, nil
}

// rowKey is the student id and email of an upsert row, as MatchKeys returns them.
type rowKey struct{ studentID, email string }

// lockSurvivors locks and loads the records that absorbed the student ids and emails of the
// rows for which unmatched(student id, email) is true, adds them to targets, and returns them
// by folded absorbed key.
func lockSurvivors(ctx context.Context, q *db.Queries, targets map[int64]*upsertTarget, rowKeys []rowKey,
	unmatched func(studentID, email string) bool,
) (bySID, byEmail map[string]*upsertTarget, err error) {
	var sids, emails []*string
	for i := range rowKeys {
		k := &rowKeys[i]
		if !unmatched(k.studentID, k.email) {
			continue
		}
		if k.studentID != "" {
			sids = append(sids, &k.studentID)
		}
		if k.email != "" {
			emails = append(emails, &k.email)
		}
	}
	bySID, byEmail = map[string]*upsertTarget{}, map[string]*upsertTarget{}
	if len(sids) == 0 && len(emails) == 0 {
		return bySID, byEmail, nil
	}
	found, err := q.ListSurvivorsByKeys(ctx, db.ListSurvivorsByKeysParams{StudentIds: sids, Emails: emails, WorkEmails: emails})
	if err != nil || len(found) == 0 {
		return bySID, byEmail, err
	}
	var fresh []int64
	for _, f := range found {
		if targets[f.SurvivorID] == nil {
			fresh = append(fresh, f.SurvivorID)
		}
	}
	slices.Sort(fresh)
	fresh = slices.Compact(fresh)
	if len(fresh) > 0 {
		rows, err := q.LockAlumniByIDs(ctx, fresh)
		if err != nil {
			return nil, nil, fmt.Errorf("lock survivors: %w", err)
		}
		records, err := WithChildren(ctx, q, rows)
		if err != nil {
			return nil, nil, err
		}
		for i, a := range records {
			targets[rows[i].ID] = &upsertTarget{internalID: rows[i].ID, Alumnus: a}
		}
	}
	for _, f := range found {
		t := targets[f.SurvivorID]
		if f.StudentID != nil {
			bySID[fold(*f.StudentID)] = t
		}
		for _, e := range []*string{f.Email, f.WorkEmail} {
			if e != nil {
				byEmail[fold(*e)] = t
			}
		}
	}
	return bySID, byEmail, nil
}

// keepKeys returns r whose edit leaves the matched record's student id and email as they are
// where the row gives the absorbed ones (studentID, email as MatchKeys returns them).
func keepKeys(r UpsertRow, studentID, email string) UpsertRow {
	edit := r.Edit
	r.Edit = func(cur Fields, found bool) (Fields, error) {
		f, err := edit(cur, found)
		sid, em := MatchKeys(f.StudentID, f.Email)
		if studentID != "" && fold(sid) == fold(studentID) {
			f.StudentID = cur.StudentID
		}
		if email != "" && fold(em) == fold(email) {
			f.Email = cur.Email
		}
		return f, err
	}
	return r
}

// repeated rejects row i when an earlier row of the call has the key; it notes the key.
func repeated(seen map[string]int, i int, key, field string, present bool) (UpsertResult, bool) {
	if !present {
		return UpsertResult{}, false
	}
	if first, ok := seen[key]; ok {
		return reject(derrors.Conflict, "Two rows have the same key.", field, fmt.Sprintf("is the same as in row %d of the batch", first+1)), true
	}
	seen[key] = i
	return UpsertResult{}, false
}

func reject(kind derrors.Kind, detail, field, message string) UpsertResult {
	return UpsertResult{Outcome: Rejected, Err: derrors.New(kind, detail, derrors.FieldError{Field: field, Message: message})}
}

// lockTargets locks and loads the records with the given student ids and emails, and returns
// them by folded key. Records already in targets (by internal key) are not loaded again, so
// that every row sees the same copy of a record; new ones are added.
func lockTargets(ctx context.Context, q *db.Queries, targets map[int64]*upsertTarget, studentIDs, emails []string) (map[string]*upsertTarget, map[string]*upsertTarget, error) {
	var found []db.Alumni
	if len(studentIDs) > 0 {
		rows, err := q.LockAlumniByStudentIDs(ctx, pointers(studentIDs))
		if err != nil {
			return nil, nil, fmt.Errorf("lock alumni by student id: %w", err)
		}
		found = append(found, rows...)
	}
	if len(emails) > 0 {
		rows, err := q.LockAlumniByEmails(ctx, pointers(emails))
		if err != nil {
			return nil, nil, fmt.Errorf("lock alumni by email: %w", err)
		}
		found = append(found, rows...)
	}
	slices.SortFunc(found, func(a, b db.Alumni) int { return cmp.Compare(a.ID, b.ID) })
	found = slices.CompactFunc(found, func(a, b db.Alumni) bool { return a.ID == b.ID })
	var fresh []db.Alumni
	for _, r := range found {
		if targets[r.ID] == nil {
			fresh = append(fresh, r)
		}
	}
	records, err := WithChildren(ctx, q, fresh)
	if err != nil {
		return nil, nil, err
	}
	for i, a := range records {
		targets[fresh[i].ID] = &upsertTarget{internalID: fresh[i].ID, Alumnus: a}
	}
	byStudentID := make(map[string]*upsertTarget, len(found))
	byEmail := make(map[string]*upsertTarget, len(found))
	for _, r := range found {
		t := targets[r.ID]
		if t.StudentID != "" {
			byStudentID[fold(t.StudentID)] = t
		}
		if t.Email != "" {
			byEmail[fold(t.Email)] = t
		}
	}
	return byStudentID, byEmail, nil
}

func pointers(xs []string) []*string {
	out := make([]*string, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out
}

// fold is how keys are compared in memory; the database compares them under its
// case-insensitive collation, whose rare other equalities end as a rejected row (unique key).
func fold(key string) string { return strings.ToLower(key) }

// upsertUpdate applies r to the stored record t, like Update: nothing is written when no field
// changes. It writes the record's own row (writeRow) and returns the change, whose rest
// Upsert writes with the batch's; t becomes the record as written.
func upsertUpdate(ctx context.Context, tx *sql.Tx, r UpsertRow, t *upsertTarget, now time.Time) (UpsertResult, *change, error) {
	cur := t.Fields
	cur.Degrees, cur.Tags = slices.Clone(cur.Degrees), slices.Clone(cur.Tags)
	f, err := edit(r, cur, true, now)
	if err != nil {
		res, err := rejected(err)
		return res, nil, err
	}
	if reflect.DeepEqual(t.Fields, f) {
		return UpsertResult{Outcome: Unchanged, ID: t.ID}, nil, nil
	}
	c := updateChange(t.internalID, t.Alumnus, f, now)
	c.source = SourceImport
	if err := writeRow(ctx, tx, c); err != nil {
		return UpsertResult{}, nil, err
	}
	if c.rejected != nil {
		res, err := rejected(c.rejected) // a domain error: the row is rejected
		return res, nil, err
	}
	t.Alumnus = c.after
	return UpsertResult{Outcome: Updated, ID: t.ID}, c, nil
}

// insertAll inserts records with multi-row INSERTs and returns their internal keys by public
// id. It returns the database's error, a duplicate key included.
func insertAll(ctx context.Context, tx *sql.Tx, records []Alumnus) (map[string]int64, error) {
	rows := make([][]any, len(records))
	publicIDs := make([]string, len(records))
	for i, r := range records {
		rows[i], publicIDs[i] = Row(r), r.ID
	}
	if err := database.InsertRows(ctx, tx, "alumni", RowColumns, rows); err != nil {
		return nil, err
	}
	found, err := db.New(tx).ListAlumniIDs(ctx, publicIDs)
	if err != nil {
		return nil, fmt.Errorf("read new alumni ids: %w", err)
	}
	ids := make(map[string]int64, len(found))
	for _, r := range found {
		ids[r.PublicID] = r.ID
	}
	return ids, nil
}

// InsertNew writes new records (normalized, with their public ids and times) through tx, by
// the write path but without audit events: for bulk loaders of synthetic data (the seed
// command). It returns the database's error, a unique-key conflict included.
func InsertNew(ctx context.Context, tx *sql.Tx, batch []Alumnus) error {
	changes := make([]*change, len(batch))
	for i, a := range batch {
		changes[i] = &change{action: actionCreate, after: a, source: SourceSeed}
	}
	if err := writeRest(ctx, tx, changes, time.Now().UTC().Truncate(time.Microsecond), false); err != nil {
		return err
	}
	for _, c := range changes {
		if c.rejected != nil {
			return c.rejected
		}
	}
	return nil
}

// edit applies r's edit to cur and normalizes the result. It returns an Invalid error with the
// problems of both, the edit's first.
func edit(r UpsertRow, cur Fields, found bool, now time.Time) (Fields, error) {
	f, err := r.Edit(cur, found)
	invalid := Normalize(&f, now)
	if err == nil {
		return f, invalid
	}
	if d, n := derrors.As(err), derrors.As(invalid); d != nil && d.Kind == derrors.Invalid && n != nil {
		return f, derrors.New(derrors.Invalid, d.Detail, append(slices.Clone(d.Fields), n.Fields...)...)
	}
	return f, err
}

// rejected turns a domain error into a rejected row; any other error is the database's and
// fails the batch.
func rejected(err error) (UpsertResult, error) {
	var d *derrors.Error
	if errors.As(err, &d) {
		return UpsertResult{Outcome: Rejected, Err: err}, nil
	}
	return UpsertResult{}, err
}
