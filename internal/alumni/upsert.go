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
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Upserts: many records created or updated in one transaction, matched on their natural keys
// (imports use this). Each record is written the way Create and Update write it — the same
// queries, writeChildren and the same audit events — so that a change to that write path must
// be made here too.

// UpsertRow is one record to create or update. It is matched on StudentID, then on Email (as
// Normalize stores them). Edit receives a copy of the matched record's fields (found is true),
// or the zero Fields for a new record, and returns the fields to store; an error (Invalid,
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

// upsertTarget is a stored record an upsert may change.
type upsertTarget struct {
	internalID int64
	Alumnus
}

// Upsert creates or updates one record per row, in order, in the transaction tx (the
// caller's, so that its own bookkeeping commits with the records). Records
// matched are locked until the transaction ends. A row is written whole or not at all: its
// first write is the record's own row, and a unique-key conflict there (a student id or email
// another record has) rejects the row before anything of it is written. A row that leaves
// every field as it was writes nothing. With dryRun, every write is undone before Upsert
// returns (the locks stay), so the results say what the rows would do.
//
// It returns one result per row, and an error (after which the transaction must be rolled
// back) when the database fails.
func (s *Store) Upsert(ctx context.Context, tx *sql.Tx, rows []UpsertRow, dryRun bool) ([]UpsertResult, error) {
	now := s.timestamp()
	q := db.New(tx)
	type keys struct{ studentID, email string }
	rowKeys := make([]keys, len(rows))
	var studentIDs, emails []string
	for i, r := range rows {
		sid, email := MatchKeys(r.StudentID, r.Email)
		rowKeys[i] = keys{sid, email}
		if sid != "" {
			studentIDs = append(studentIDs, sid)
		}
		if email != "" {
			emails = append(emails, email)
		}
	}
	if dryRun {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT upsert_dry_run"); err != nil {
			return nil, fmt.Errorf("savepoint: %w", err)
		}
	}
	byStudentID, byEmail, err := lockTargets(ctx, q, studentIDs, emails)
	if err != nil {
		return nil, err
	}

	out := make([]UpsertResult, len(rows))
	for i, r := range rows {
		k := rowKeys[i]
		if k.studentID == "" && k.email == "" {
			out[i] = UpsertResult{Outcome: Rejected, Err: derrors.New(derrors.Invalid, "The record cannot be matched.",
				derrors.FieldError{Field: "studentId", Message: "a student id or an email is needed to match the record"})}
			continue
		}
		target, matchedBy := byStudentID[fold(k.studentID)], "studentId"
		if target == nil && k.email != "" {
			target, matchedBy = byEmail[fold(k.email)], "email"
			if target != nil && k.studentID != "" && target.StudentID != "" {
				out[i] = UpsertResult{Outcome: Rejected, Err: derrors.New(derrors.Conflict, "The email belongs to another person's record.",
					derrors.FieldError{Field: "email", Message: "belongs to the record with student id " + target.StudentID})}
				continue
			}
		}
		if target != nil && target.DeletedAt != nil {
			out[i] = UpsertResult{Outcome: Rejected, Err: derrors.New(derrors.Conflict, "The record is in the trash.",
				derrors.FieldError{Field: matchedBy, Message: "matches a deleted record; restore it first"})}
			continue
		}
		var res UpsertResult
		if target == nil {
			res, target, err = s.upsertCreate(ctx, q, r, now)
		} else {
			delete(byStudentID, fold(target.StudentID))
			delete(byEmail, fold(target.Email))
			res, err = s.upsertUpdate(ctx, q, r, target, now)
		}
		if err != nil {
			return nil, err
		}
		out[i] = res
		if target != nil { // later rows of the batch see the record as it is now
			if target.StudentID != "" {
				byStudentID[fold(target.StudentID)] = target
			}
			if target.Email != "" {
				byEmail[fold(target.Email)] = target
			}
		}
	}
	if dryRun {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT upsert_dry_run"); err != nil {
			return nil, fmt.Errorf("roll back dry run: %w", err)
		}
	}
	return out, nil
}

// lockTargets locks and loads the records with the given student ids and emails, and returns
// them by folded key.
func lockTargets(ctx context.Context, q *db.Queries, studentIDs, emails []string) (map[string]*upsertTarget, map[string]*upsertTarget, error) {
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
	records, err := withChildren(ctx, q, found)
	if err != nil {
		return nil, nil, err
	}
	byStudentID := make(map[string]*upsertTarget, len(records))
	byEmail := make(map[string]*upsertTarget, len(records))
	for i, a := range records {
		t := &upsertTarget{internalID: found[i].ID, Alumnus: a}
		if a.StudentID != "" {
			byStudentID[fold(a.StudentID)] = t
		}
		if a.Email != "" {
			byEmail[fold(a.Email)] = t
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

// upsertCreate stores the record of r as new, like Create.
func (s *Store) upsertCreate(ctx context.Context, q *db.Queries, r UpsertRow, now time.Time) (UpsertResult, *upsertTarget, error) {
	f, err := edit(r, Fields{}, false, now)
	if err != nil {
		return rejected(err)
	}
	a := Alumnus{ID: database.NewPublicID(now), Version: 1, Fields: f, CreatedAt: now, UpdatedAt: now}
	res, err := q.CreateAlumnus(ctx, toCreateParams(a))
	if err != nil {
		return rejected(translate(err))
	}
	id, err := res.LastInsertId()
	if err != nil {
		return UpsertResult{}, nil, fmt.Errorf("read new alumnus id: %w", err)
	}
	if err := writeChildren(ctx, q, id, f); err != nil {
		return UpsertResult{}, nil, err
	}
	if err := record(ctx, q, "alumnus.create", a.ID, audit.Diff(nil, auditFields(f)), now); err != nil {
		return UpsertResult{}, nil, err
	}
	return UpsertResult{Outcome: Created, ID: a.ID}, &upsertTarget{internalID: id, Alumnus: a}, nil
}

// upsertUpdate applies r to the stored record t, like Update: nothing is written when no field
// changes.
func (s *Store) upsertUpdate(ctx context.Context, q *db.Queries, r UpsertRow, t *upsertTarget, now time.Time) (UpsertResult, error) {
	cur := t.Fields
	cur.Degrees, cur.Tags = slices.Clone(cur.Degrees), slices.Clone(cur.Tags)
	f, err := edit(r, cur, true, now)
	if err != nil {
		res, _, err := rejected(err)
		return res, err
	}
	if reflect.DeepEqual(t.Fields, f) {
		return UpsertResult{Outcome: Unchanged, ID: t.ID}, nil
	}
	if err := q.UpdateAlumnus(ctx, toUpdateParams(f, now, t.internalID)); err != nil {
		res, _, err := rejected(translate(err))
		return res, err
	}
	if err := q.DeleteDegrees(ctx, t.internalID); err != nil {
		return UpsertResult{}, fmt.Errorf("delete degrees: %w", err)
	}
	if err := q.DeleteTags(ctx, t.internalID); err != nil {
		return UpsertResult{}, fmt.Errorf("delete tags: %w", err)
	}
	if err := writeChildren(ctx, q, t.internalID, f); err != nil {
		return UpsertResult{}, err
	}
	if err := record(ctx, q, "alumnus.update", t.ID, audit.Diff(auditFields(t.Fields), auditFields(f)), now); err != nil {
		return UpsertResult{}, err
	}
	t.Fields, t.Version, t.UpdatedAt = f, t.Version+1, now
	return UpsertResult{Outcome: Updated, ID: t.ID}, nil
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
func rejected(err error) (UpsertResult, *upsertTarget, error) {
	var d *derrors.Error
	if errors.As(err, &d) {
		return UpsertResult{Outcome: Rejected, Err: err}, nil, nil
	}
	return UpsertResult{}, nil, err
}

// StudentIDFits reports whether a student id, as MatchKeys returns it, fits the stored column;
// longer ones are refused by Normalize.
func StudentIDFits(id string) bool { return utf8.RuneCountInString(id) <= maxStudentID }

// EmailFits reports whether an email, as MatchKeys returns it, fits the stored column.
func EmailFits(email string) bool { return utf8.RuneCountInString(email) <= maxEmail }
