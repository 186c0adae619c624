package alumni

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
)

// The write path. Every change to a record — a create, an update, a delete, a restore, each
// row an import upserts, and the two changes of a merge and of its undo (merge.go) — is
// written by write, in the caller's transaction. What follows
// a change hooks in here and nowhere else: the record's degrees and tags, its duplicate keys
// (DuplicateKeys), the summary counts (alumni_stats) and the audit event, which is also what
// real-time subscribers and each replica's search index follow (internal/events,
// internal/searchindex read the trail).

// Actions of the write path, as the audit trail records them.
const (
	actionCreate  = "alumnus.create"
	actionUpdate  = "alumnus.update"
	actionDelete  = "alumnus.delete"
	actionRestore = "alumnus.restore"
	// A merge (merge.go): the survivor's update and the absorbed record's removal; its undo:
	// the survivor's update back and the absorbed record's return.
	actionMerge    = "alumnus.merge"
	actionAbsorb   = "alumnus.absorb"
	actionUnmerge  = "alumnus.unmerge"
	actionUnabsorb = "alumnus.unabsorb"
)

// change is one change to one record.
type change struct {
	action string
	// key is the record's internal key; write sets it for a create.
	key int64
	// before is the record as stored (with degrees and tags), the zero Alumnus for a create;
	// after is the record as it is to be stored: normalized fields, times and DeletedAt.
	before, after Alumnus
	// source is where the change comes from (SourceStaff…), for the consent history.
	source string
	// rejected is set by write when the record's own row meets a unique key another record
	// has (a Conflict naming the field); nothing of the change is then written.
	rejected error
	// note is recorded in the audit event after the fields' changes (a merge's ids).
	note []audit.Change
}

// updates reports whether c rewrites a record's fields (an update, or a merge's or its
// undo's change to the survivor); creates, whether it inserts a record.
func (c *change) updates() bool {
	return c.action == actionUpdate || c.action == actionMerge || c.action == actionUnmerge
}

func (c *change) creates() bool { return c.action == actionCreate || c.action == actionUnabsorb }

// newChange returns the change that creates a record of normalized fields f at now.
func newChange(f Fields, now time.Time) *change {
	return &change{action: actionCreate,
		after: Alumnus{ID: database.NewPublicID(now), Version: 1, Fields: f, CreatedAt: now, UpdatedAt: now}}
}

// updateChange returns the change of the stored record cur (internal key key) to normalized
// fields f at now.
func updateChange(key int64, cur Alumnus, f Fields, now time.Time) *change {
	next := cur
	next.Fields, next.Version, next.UpdatedAt = f, cur.Version+1, now
	return &change{action: actionUpdate, key: key, before: cur, after: next}
}

// trashChange returns the change that moves the stored record cur to the trash (deleted) or
// back from it, at now.
func trashChange(key int64, cur Alumnus, deleted bool, now time.Time) *change {
	next := cur
	next.Version, next.UpdatedAt, next.DeletedAt = cur.Version+1, now, nil
	action := actionRestore
	if deleted {
		next.DeletedAt, action = &now, actionDelete
	}
	return &change{action: action, key: key, before: cur, after: next}
}

// absorbChange returns the change that removes the stored record cur (internal key key),
// merged into another: its row is deleted (its degrees, tags, duplicate keys and pairs go
// with it), note says where it went.
func absorbChange(key int64, cur Alumnus, note []audit.Change) *change {
	return &change{action: actionAbsorb, key: key, before: cur, after: cur, note: note}
}

// unabsorbChange returns the change that brings back the record a merge removed, as it was
// (its public id, fields and times), at now.
func unabsorbChange(was Alumnus, now time.Time, note []audit.Change) *change {
	next := was
	next.Version, next.UpdatedAt, next.DeletedAt, next.Withheld = was.Version+1, now, nil, nil
	return &change{action: actionUnabsorb, after: next, note: note, source: SourceMerge}
}

// event is the audit event of c: the fields' before and after of a create or update, the
// fields before of a record merged away, then c's note.
func (c *change) event() audit.Event {
	var changes []audit.Change
	switch {
	case c.creates():
		changes = audit.Diff(nil, auditFields(c.after.Fields))
	case c.updates():
		changes = audit.Diff(auditFields(c.before.Fields), auditFields(c.after.Fields))
	case c.action == actionAbsorb:
		changes = audit.Diff(auditFields(c.before.Fields), nil)
	}
	changes = append(changes, c.note...)
	return audit.Event{Action: c.action, EntityType: "alumnus", EntityID: c.after.ID, Changes: changes}
}

// write writes changes through tx, made at now: first each record's own row (updates, trash
// moves, then new records with multi-row INSERTs), then, for every change not rejected, its
// degrees, tags and search words, the counts and the audit events. A change whose row meets a
// unique key another record has is rejected (change.rejected) and the others are written. It
// returns the database's other errors, after which the transaction must be rolled back.
func write(ctx context.Context, tx *sql.Tx, changes []*change, now time.Time) error {
	for _, c := range changes {
		if err := writeRow(ctx, tx, c); err != nil {
			return err
		}
	}
	return writeRest(ctx, tx, changes, now, true)
}

// writeRow writes the record's own row of an update or trash move c, at once: a caller that
// applies changes one after another (the import's upsert) learns whether c was rejected
// before it makes the next. Creates are left to writeRest, which inserts them together.
func writeRow(ctx context.Context, tx *sql.Tx, c *change) error {
	c.rejected = nil // a transaction run again after a deadlock writes its changes again
	q := db.New(tx)
	switch c.action {
	case actionCreate, actionUnabsorb:
		return nil
	case actionUpdate, actionMerge, actionUnmerge:
		if err := q.UpdateAlumnus(ctx, toUpdateParams(c.after.Fields, c.after.UpdatedAt, c.key)); err != nil {
			if c.rejected = translate(err); derrors.As(c.rejected) == nil {
				return c.rejected
			}
		}
		return nil
	case actionDelete, actionRestore:
		if err := q.SetAlumnusDeletedAt(ctx, db.SetAlumnusDeletedAtParams{DeletedAt: c.after.DeletedAt, UpdatedAt: c.after.UpdatedAt, ID: c.key}); err != nil {
			return fmt.Errorf("move alumnus to or from the trash: %w", err)
		}
		return nil
	case actionAbsorb:
		if err := q.DeleteAlumnusRow(ctx, c.key); err != nil {
			return fmt.Errorf("delete absorbed alumnus: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("write alumnus: unknown action %q", c.action)
	}
}

// writeRest completes changes whose own rows writeRow has written: it inserts the new
// records, then writes, for every change not rejected, the degrees, tags and duplicate keys
// (once per record, as its last change left it), the counts and, when audited, the audit
// events — each with a few statements for all the changes together — and the consent
// history of the changes that change consent (consent.go).
func writeRest(ctx context.Context, tx *sql.Tx, changes []*change, now time.Time, audited bool) error {
	var creates []*change
	for _, c := range changes {
		if c.creates() {
			c.rejected = nil
			creates = append(creates, c)
		}
	}
	if err := insertRecords(ctx, tx, creates); err != nil {
		return err
	}
	if err := keepVersions(ctx, tx, creates); err != nil {
		return err
	}
	if err := writeConsentChanges(ctx, tx, changes); err != nil {
		return err
	}
	var written []children
	last := map[int64]int{} // the index in written of each record's children
	// The duplicate keys written, by record: a new one's, and those an update changes (most do
	// not: an import that sets a job title leaves them be).
	rekeyed := map[int64][]DuplicateKey{}
	// The records whose duplicate pairs must be scored again: those whose keys or other
	// fields the score reads changed, and those moved into or out of the trash.
	var rescore []int64
	stats := statDelta{}
	events := make([]audit.Event, 0, len(changes))
	for _, c := range changes {
		if c.rejected != nil {
			continue
		}
		switch {
		case c.creates() || c.updates():
			if i, ok := last[c.key]; ok {
				written[i].Fields = c.after.Fields
			} else {
				last[c.key] = len(written)
				written = append(written, children{c.key, c.after.Fields})
			}
			if keys := DuplicateKeys(c.after.Fields); c.creates() || !slices.Equal(DuplicateKeys(c.before.Fields), keys) {
				rekeyed[c.key] = keys
				rescore = append(rescore, c.key)
			} else if scoreInputsChanged(c.before.Fields, c.after.Fields) {
				rescore = append(rescore, c.key)
			}
		case c.action == actionAbsorb:
			// Gone with its row: nothing of it to write, nothing to score.
		default:
			rescore = append(rescore, c.key) // into the trash or out of it
		}
		if !c.creates() {
			stats.add(-1, c.before.Fields, c.before.CreatedAt, c.before.UpdatedAt, c.before.DeletedAt != nil)
		}
		if c.action != actionAbsorb {
			stats.add(1, c.after.Fields, c.after.CreatedAt, c.after.UpdatedAt, c.after.DeletedAt != nil)
		}
		events = append(events, c.event())
	}
	var updated, rekeyedUpdates []int64
	for _, c := range changes {
		if c.rejected == nil && c.updates() {
			updated = append(updated, c.key)
			if _, ok := rekeyed[c.key]; ok {
				rekeyedUpdates = append(rekeyedUpdates, c.key)
			}
		}
	}
	q := db.New(tx)
	if len(updated) > 0 {
		if err := q.DeleteDegreesOf(ctx, updated); err != nil {
			return fmt.Errorf("delete degrees: %w", err)
		}
		if err := q.DeleteTagsOf(ctx, updated); err != nil {
			return fmt.Errorf("delete tags: %w", err)
		}
	}
	if len(rekeyedUpdates) > 0 {
		if err := q.DeleteDuplicateKeysOf(ctx, rekeyedUpdates); err != nil {
			return fmt.Errorf("delete duplicate keys: %w", err)
		}
	}
	if err := writeChildren(ctx, tx, written...); err != nil {
		return err
	}
	var keyed []recordKeys
	for _, r := range written {
		if keys, ok := rekeyed[r.id]; ok {
			keyed = append(keyed, recordKeys{r.id, keys})
		}
	}
	if err := writeDuplicateKeys(ctx, tx, keyed); err != nil {
		return err
	}
	if err := markForScoring(ctx, tx, rescore, now); err != nil {
		return err
	}
	if err := stats.apply(ctx, tx); err != nil {
		return err
	}
	if !audited {
		return nil
	}
	return audit.RecordAll(ctx, tx, events, now)
}

// insertRecords inserts the rows of new records and sets their keys: one INSERT for one
// record, multi-row INSERTs for more; when a multi-row INSERT meets a unique key another
// record has, it inserts them one by one, rejecting those that conflict.
func insertRecords(ctx context.Context, tx *sql.Tx, creates []*change) error {
	if len(creates) > 1 {
		records := make([]Alumnus, len(creates))
		for i, c := range creates {
			records[i] = c.after
		}
		ids, err := insertAll(ctx, tx, records)
		if err == nil {
			for _, c := range creates {
				c.key = ids[c.after.ID]
			}
			return nil
		}
		if _, dup := database.DuplicateKey(err); !dup {
			return err
		}
	}
	q := db.New(tx)
	for _, c := range creates {
		res, err := q.CreateAlumnus(ctx, toCreateParams(c.after))
		if err != nil {
			if c.rejected = translate(err); derrors.As(c.rejected) == nil {
				return c.rejected
			}
			continue
		}
		if c.key, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("read new alumnus id: %w", err)
		}
	}
	return nil
}

// keepVersions sets the versions of the records an undo brought back (inserted as version 1),
// so that their ETags go on from where they were.
func keepVersions(ctx context.Context, tx *sql.Tx, creates []*change) error {
	q := db.New(tx)
	for _, c := range creates {
		if c.rejected == nil && c.action == actionUnabsorb {
			if err := q.SetAlumnusVersion(ctx, db.SetAlumnusVersionParams{Version: int32(c.after.Version), ID: c.key}); err != nil { //nolint:gosec // versions count changes
				return fmt.Errorf("set the version of a returned alumnus: %w", err)
			}
		}
	}
	return nil
}

// auditFields are the fields of f as the audit trail records them, by API name.
func auditFields(f Fields) map[string]any {
	degrees := make([]map[string]any, len(f.Degrees))
	for i, d := range f.Degrees {
		degrees[i] = map[string]any{"degree": d.Degree, "program": d.Program, "faculty": d.Faculty,
			"graduationYear": d.GraduationYear, "preferredClassYear": d.PreferredClassYear, "primary": d.Primary}
	}
	m := map[string]any{
		"studentId": f.StudentID, "firstName": f.FirstName, "lastName": f.LastName,
		"preferredName": f.PreferredName, "enrolledName": f.EnrolledName,
		"email": f.Email, "workEmail": f.WorkEmail, "phone": f.Phone,
		"address.line1": f.Address.Line1, "address.line2": f.Address.Line2, "address.city": f.Address.City,
		"address.region": f.Address.Region, "address.postalCode": f.Address.PostalCode, "address.country": f.Address.Country,
		"employment.employer": f.Employment.Employer, "employment.jobTitle": f.Employment.JobTitle,
		"employment.industry": f.Employment.Industry,
		"linkedinUrl":         f.LinkedInURL, "websiteUrl": f.WebsiteURL,
		"degrees": degrees, "tags": f.Tags,
		"directoryConsent":              f.DirectoryConsent,
		"contactPermissions.doNotEmail": f.ContactPermissions.DoNotEmail,
		"contactPermissions.doNotMail":  f.ContactPermissions.DoNotMail,
		"contactPermissions.doNotPhone": f.ContactPermissions.DoNotPhone,
		"contactPermissions.doNotSms":   f.ContactPermissions.DoNotSMS,
		"status":                        string(f.Status), "notes": f.Notes,
	}
	if len(f.Degrees) == 0 {
		m["degrees"] = nil
	}
	return m
}
