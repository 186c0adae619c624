package alumni

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/ptr"
)

// Merges (docs/STEWARDSHIP.md, "Merging"): two records of one person become one. The survivor
// keeps its public id and takes the united fields; the absorbed record's row is deleted and its
// public id, student id and emails are remembered (alumni_absorbed) as living on the survivor.
// Both changes are written by the write path (write.go) in one transaction; `merges` keeps both
// records as they were, for the undo.

// Merge is one merge of two records.
type Merge struct {
	ID         string
	SurvivorID string
	AbsorbedID string
	MergedAt   time.Time
	MergedBy   string // the public id of the user who merged, "" for none
	UndoneAt   *time.Time
}

// MergeInput is a merge to make: the survivor and the absorbed record by public id, each with
// a check of its version (asked under the row locks about the record as the caller sees it;
// false gives PreconditionFailed), and Edit, which receives the united record and returns the
// fields to store (nil keeps the united fields).
type MergeInput struct {
	SurvivorID, AbsorbedID           string
	SurvivorMatches, AbsorbedMatches func(visible Alumnus) bool
	Edit                             Edit
}

// mergeState is what a merge moved besides the records' fields, kept with the absorbed
// record's before-state so that the undo can move it back.
type mergeState struct {
	Record   Alumnus
	UserID   int64    // the absorbed record's user account, moved to the survivor (0: none)
	User     string   // its public id
	Invites  []int64  // the absorbed record's invitations, moved to the survivor
	Absorbed []string // ids absorbed earlier into the absorbed record, moved to the survivor
	Merges   []int64  // merges into the absorbed record, moved to the survivor and superseded
}

// ErrAbsorbItself is the answer to a merge of a record with itself.
var ErrAbsorbItself = derrors.New(derrors.Invalid, "A record cannot absorb itself.",
	derrors.FieldError{Field: "absorb", Message: "is the record merged into"})

// Merge merges in.AbsorbedID into in.SurvivorID on behalf of p (the office) and returns the
// merge and the survivor as stored. Both records are locked in key order and their versions
// checked. The united fields (Unite, then in.Edit) are validated as an update's. The absorbed
// record's user account moves to the survivor when it has none (Conflict when both have one),
// and so do its invitations and the ids it had absorbed. It returns NotFound for a record that
// is not live, Moved's Conflict for one merged away already, PreconditionFailed, Invalid, and
// Conflict for a unique value the result shares with a third record.
func (s *Store) Merge(ctx context.Context, p auth.Principal, in MergeInput) (Merge, Alumnus, error) {
	if in.SurvivorID == in.AbsorbedID {
		return Merge{}, Alumnus{}, ErrAbsorbItself
	}
	now := s.timestamp()
	var m Merge
	var out Alumnus
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		sur, abs, keys, err := lockPair(ctx, q, in.SurvivorID, in.AbsorbedID)
		if err != nil {
			return err
		}
		if !in.SurvivorMatches(Redact(p, sur)) {
			return ErrChanged
		}
		if !in.AbsorbedMatches(Redact(p, abs)) {
			return derrors.New(derrors.PreconditionFailed, "The absorbed record was changed by someone else; fetch it again and repeat the merge.",
				derrors.FieldError{Field: "absorbedETag", Message: "is not the absorbed record's current ETag"})
		}
		st, err := moveBelongings(ctx, q, keys[0], keys[1], now)
		if err != nil {
			return err
		}
		st.Record = abs

		united := sur
		united.Fields = Unite(sur.Fields, abs.Fields)
		f := united.Fields
		if in.Edit != nil {
			visible := Redact(p, united)
			if f, err = in.Edit(visible); err != nil {
				return err
			}
			f = copyFields(f, united.Fields, visible.Withheld)
		}
		if err := Normalize(&f, now); err != nil {
			return err
		}

		m = Merge{ID: database.NewPublicID(now), SurvivorID: sur.ID, AbsorbedID: abs.ID, MergedAt: now,
			MergedBy: audit.ActorFrom(ctx).UserID}
		mergeKey, err := recordMerge(ctx, q, m, keys[0], sur, st)
		if err != nil {
			return err
		}
		if len(st.Merges) > 0 { // superseded by this one: not to be undone before it is
			if err := q.RepointMerges(ctx, db.RepointMergesParams{ToID: keys[0], SupersededBy: &mergeKey, Ids: st.Merges}); err != nil {
				return fmt.Errorf("move merges: %w", err)
			}
		}
		if err := q.CreateAbsorbed(ctx, db.CreateAbsorbedParams{AbsorbedPublicID: abs.ID, SurvivorID: keys[0], MergeID: mergeKey,
			StudentID: ptr.NonZero(abs.StudentID), Email: ptr.NonZero(abs.Email), WorkEmail: ptr.NonZero(abs.WorkEmail)}); err != nil {
			return fmt.Errorf("remember absorbed alumnus: %w", err)
		}
		gone := absorbChange(keys[1], abs, []audit.Change{{Field: "survivorId", After: sur.ID}, {Field: "mergeId", After: m.ID}})
		c := updateChange(keys[0], sur, f, now)
		c.action, c.source, c.note = actionMerge, SourceMerge, []audit.Change{{Field: "absorbedId", After: abs.ID}, {Field: "mergeId", After: m.ID}}
		if st.User != "" {
			c.note = append(c.note, audit.Change{Field: "userId", After: st.User})
		}
		// The absorbed row goes first: the survivor may take its email or student id.
		if err := write(ctx, tx, []*change{gone, c}, now); err != nil {
			return err
		}
		out = Redact(p, c.after)
		return c.rejected
	}, database.RetryDeadlocks())
	if err != nil {
		return Merge{}, Alumnus{}, err
	}
	return m, out, nil
}

// lockPair locks the live records survivorID and absorbedID in key order (two merges of the
// same records never wait for each other in a cycle) and returns them with their keys.
func lockPair(ctx context.Context, q *db.Queries, survivorID, absorbedID string) (sur, abs Alumnus, keys [2]int64, err error) {
	ids, err := q.ListAlumniIDs(ctx, []string{survivorID, absorbedID})
	if err != nil {
		return sur, abs, keys, fmt.Errorf("find alumni: %w", err)
	}
	for _, r := range ids {
		if r.PublicID == survivorID {
			keys[0] = r.ID
		} else {
			keys[1] = r.ID
		}
	}
	rows, err := q.LockAlumniByIDs(ctx, []int64{keys[0], keys[1]})
	if err != nil {
		return sur, abs, keys, fmt.Errorf("lock alumni: %w", err)
	}
	records, err := WithChildren(ctx, q, rows)
	if err != nil {
		return sur, abs, keys, err
	}
	var foundS, foundA bool
	for i, r := range rows {
		switch {
		case r.ID == keys[0] && r.DeletedAt == nil:
			sur, foundS = records[i], true
		case r.ID == keys[1] && r.DeletedAt == nil:
			abs, foundA = records[i], true
		}
	}
	if !foundS {
		return sur, abs, keys, goneErr(ctx, q, survivorID, "")
	}
	if !foundA {
		return sur, abs, keys, goneErr(ctx, q, absorbedID, "absorb")
	}
	return sur, abs, keys, nil
}

// goneErr is the answer about a record id that is not live: a Conflict naming the survivor
// when it was merged into another (field names the request's field, "" for the path's id),
// else NotFound.
func goneErr(ctx context.Context, q *db.Queries, id, field string) error {
	survivor, err := q.GetSurvivorOf(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		if field != "" {
			return derrors.New(derrors.NotFound, "No alumnus with the id to absorb.",
				derrors.FieldError{Field: field, Message: "no live record has this id"})
		}
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("find survivor: %w", err)
	}
	e := derrors.New(derrors.Conflict, "This record was merged into "+survivor+"; change that record instead.")
	if field != "" {
		e.Fields = []derrors.FieldError{{Field: field, Message: "was merged into " + survivor}}
	}
	e.SurvivorID = survivor
	return e
}

// survivorOf returns the Moved answer for an id merged into a live record, or nil.
func survivorOf(ctx context.Context, q *db.Queries, id string) (*derrors.Error, error) {
	survivor, err := q.GetSurvivorOf(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find survivor: %w", err)
	}
	e := derrors.New(derrors.Moved, "This record was merged into "+survivor+".")
	e.SurvivorID = survivor
	return e, nil
}

// moveBelongings moves what hangs on the absorbed record (key from) to the survivor (key to)
// before the absorbed row is deleted: its user account (Conflict when both have one), its
// invitations and the ids it had absorbed. It returns what it moved, and the merges into the
// absorbed record, which Merge moves.
func moveBelongings(ctx context.Context, q *db.Queries, to, from int64, now time.Time) (mergeState, error) {
	var st mergeState
	users, err := q.LockUsersOfAlumni(ctx, []*int64{&to, &from})
	if err != nil {
		return st, fmt.Errorf("lock user accounts: %w", err)
	}
	var toUser, fromUser string
	for _, u := range users {
		if *u.AlumnusID == to {
			toUser = u.PublicID
		} else {
			fromUser, st.UserID, st.User = u.PublicID, u.ID, u.PublicID
		}
	}
	if toUser != "" && fromUser != "" {
		return st, derrors.New(derrors.Conflict, "Both records have a user account; delete or unlink one of them first.",
			derrors.FieldError{Field: "absorb", Message: "has user account " + fromUser + ", and the survivor has user account " + toUser})
	}
	if st.UserID != 0 {
		if err := q.MoveUserToAlumnus(ctx, db.MoveUserToAlumnusParams{AlumnusID: &to, UpdatedAt: now, ID: st.UserID}); err != nil {
			return st, fmt.Errorf("move user account: %w", err)
		}
	}
	if st.Invites, err = q.ListInviteIDsOf(ctx, from); err != nil {
		return st, fmt.Errorf("list invites: %w", err)
	}
	if len(st.Invites) > 0 {
		if err := q.MoveInvites(ctx, db.MoveInvitesParams{ToID: to, Ids: st.Invites}); err != nil {
			return st, fmt.Errorf("move invites: %w", err)
		}
	}
	if st.Absorbed, err = q.ListAbsorbedOf(ctx, from); err != nil {
		return st, fmt.Errorf("list absorbed ids: %w", err)
	}
	if len(st.Absorbed) > 0 {
		if err := q.RepointAbsorbed(ctx, db.RepointAbsorbedParams{ToID: to, AbsorbedPublicIds: st.Absorbed}); err != nil {
			return st, fmt.Errorf("move absorbed ids: %w", err)
		}
	}
	if st.Merges, err = q.ListMergeIDsOf(ctx, from); err != nil { // moved by Merge, once it has its key
		return st, fmt.Errorf("list merges: %w", err)
	}
	return st, nil
}

// recordMerge stores m with the records' before-states and returns its key.
func recordMerge(ctx context.Context, q *db.Queries, m Merge, survivorKey int64, sur Alumnus, st mergeState) (int64, error) {
	before, err := json.Marshal(sur)
	if err != nil {
		return 0, err
	}
	absorbed, err := json.Marshal(st)
	if err != nil {
		return 0, err
	}
	res, err := q.CreateMerge(ctx, db.CreateMergeParams{PublicID: m.ID, SurvivorID: survivorKey, AbsorbedPublicID: m.AbsorbedID,
		SurvivorBefore: before, AbsorbedBefore: absorbed, SurvivorVersionAfter: int32(sur.Version + 1), //nolint:gosec // versions count changes
		MergedAt: m.MergedAt, MergedBy: ptr.NonZero(m.MergedBy)})
	if err != nil {
		return 0, fmt.Errorf("record merge: %w", err)
	}
	key, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("read merge id: %w", err)
	}
	return key, nil
}

// Unite returns the fields of one person kept as survivor s and absorbed a, by the survivor
// rules: each of the survivor's non-empty values, else the absorbed one's (the address and the
// employment each as a whole, so that lines of two addresses are never mixed); degrees united,
// the same degree, program and year once, the survivor's primary staying primary; tags
// united; directory consent only when both consented, each do-not-contact flag when either is
// set (a withdrawal on either record stands).
func Unite(s, a Fields) Fields {
	out := s
	for _, p := range []struct {
		dst *string
		src string
	}{
		{&out.StudentID, a.StudentID}, {&out.FirstName, a.FirstName}, {&out.LastName, a.LastName},
		{&out.PreferredName, a.PreferredName}, {&out.EnrolledName, a.EnrolledName},
		{&out.Email, a.Email}, {&out.WorkEmail, a.WorkEmail}, {&out.Phone, a.Phone},
		{&out.LinkedInURL, a.LinkedInURL}, {&out.WebsiteURL, a.WebsiteURL}, {&out.Notes, a.Notes},
	} {
		if *p.dst == "" {
			*p.dst = p.src
		}
	}
	if out.Address == (Address{}) {
		out.Address = a.Address
	}
	if out.Employment == (Employment{}) {
		out.Employment = a.Employment
	}
	if out.Status == "" {
		out.Status = a.Status
	}
	out.Degrees = slices.Clone(s.Degrees)
	hasPrimary := slices.ContainsFunc(out.Degrees, func(d Degree) bool { return d.Primary })
	for _, d := range a.Degrees {
		same := func(e Degree) bool {
			return strings.EqualFold(e.Degree, d.Degree) && strings.EqualFold(e.Program, d.Program) && e.GraduationYear == d.GraduationYear
		}
		if slices.ContainsFunc(out.Degrees, same) {
			continue
		}
		if hasPrimary {
			d.Primary = false
		}
		hasPrimary = hasPrimary || d.Primary
		out.Degrees = append(out.Degrees, d)
	}
	out.Tags = slices.Clone(s.Tags)
	for _, t := range a.Tags {
		if !slices.ContainsFunc(out.Tags, func(u string) bool { return strings.EqualFold(t, u) }) {
			out.Tags = append(out.Tags, t)
		}
	}
	out.DirectoryConsent = s.DirectoryConsent && a.DirectoryConsent
	cp, ap := &out.ContactPermissions, a.ContactPermissions
	cp.DoNotEmail = cp.DoNotEmail || ap.DoNotEmail
	cp.DoNotMail = cp.DoNotMail || ap.DoNotMail
	cp.DoNotPhone = cp.DoNotPhone || ap.DoNotPhone
	cp.DoNotSMS = cp.DoNotSMS || ap.DoNotSMS
	return out
}

// UndoMerge undoes the merge mergeID: the survivor gets its fields from before the merge back
// and the absorbed record returns with its public id, fields and times, with what the merge
// moved (user account, invitations, earlier absorbed ids). It returns the merge and the
// survivor as stored; NotFound for no such merge; Conflict when the merge was undone already
// or the survivor changed since (an undo would lose that change), or when a unique value of
// the returning record is now another record's.
func (s *Store) UndoMerge(ctx context.Context, p auth.Principal, mergeID string) (Merge, Alumnus, error) {
	now := s.timestamp()
	var m Merge
	var out Alumnus
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetMergeForUpdate(ctx, mergeID)
		if errors.Is(err, sql.ErrNoRows) {
			return derrors.New(derrors.NotFound, "No merge with this id.")
		}
		if err != nil {
			return fmt.Errorf("lock merge: %w", err)
		}
		if row.UndoneAt != nil {
			return derrors.New(derrors.Conflict, "This merge was undone already, at "+row.UndoneAt.Format(time.RFC3339)+".")
		}
		if row.SupersededBy != nil {
			later, err := q.GetMergePublicID(ctx, *row.SupersededBy)
			if err != nil {
				return fmt.Errorf("read later merge: %w", err)
			}
			return derrors.New(derrors.Conflict, "The survivor of this merge was merged into another record since (merge "+later+"); undo that merge first.")
		}
		rows, err := q.LockAlumniByIDs(ctx, []int64{row.SurvivorID})
		if err != nil {
			return fmt.Errorf("lock survivor: %w", err)
		}
		list, err := WithChildren(ctx, q, rows)
		if err != nil {
			return err
		}
		cur := list[0] // the survivor exists: merges go with it (ON DELETE CASCADE)
		if cur.Version != int(row.SurvivorVersionAfter) || cur.DeletedAt != nil {
			e := derrors.New(derrors.Conflict, fmt.Sprintf(
				"The survivor %s was changed after the merge (version %d, now %d; last changed at %s); undoing the merge would lose that change.",
				cur.ID, row.SurvivorVersionAfter, cur.Version, cur.UpdatedAt.Format(time.RFC3339Nano)))
			e.SurvivorID = cur.ID
			return e
		}
		var was Alumnus
		var st mergeState
		if err := json.Unmarshal(row.SurvivorBefore, &was); err != nil {
			return fmt.Errorf("read merge %s: %w", mergeID, err)
		}
		if err := json.Unmarshal(row.AbsorbedBefore, &st); err != nil {
			return fmt.Errorf("read merge %s: %w", mergeID, err)
		}
		back := updateChange(row.SurvivorID, cur, was.Fields, now)
		back.action, back.source, back.note = actionUnmerge, SourceMerge, []audit.Change{{Field: "mergeId", Before: mergeID}, {Field: "absorbedId", Before: st.Record.ID}}
		returned := unabsorbChange(st.Record, now, []audit.Change{{Field: "mergeId", Before: mergeID}})
		// The survivor first: it gives back what it took of the absorbed record's unique values.
		if err := write(ctx, tx, []*change{back, returned}, now); err != nil {
			return err
		}
		if back.rejected != nil {
			return back.rejected
		}
		if returned.rejected != nil {
			return returned.rejected
		}
		if err := giveBack(ctx, q, returned.key, st, now); err != nil {
			return err
		}
		if err := q.DeleteAbsorbed(ctx, st.Record.ID); err != nil {
			return fmt.Errorf("forget absorbed alumnus: %w", err)
		}
		if err := q.SetMergeUndone(ctx, db.SetMergeUndoneParams{UndoneAt: &now, ID: row.ID}); err != nil {
			return fmt.Errorf("mark merge undone: %w", err)
		}
		m = Merge{ID: row.PublicID, SurvivorID: cur.ID, AbsorbedID: row.AbsorbedPublicID, MergedAt: row.MergedAt,
			MergedBy: ptr.Deref(row.MergedBy), UndoneAt: &now}
		out = Redact(p, back.after)
		return nil
	}, database.RetryDeadlocks())
	if err != nil {
		return Merge{}, Alumnus{}, err
	}
	return m, out, nil
}

// giveBack moves what a merge moved to the survivor back to the returned record (key to).
func giveBack(ctx context.Context, q *db.Queries, to int64, st mergeState, now time.Time) error {
	if st.UserID != 0 {
		if err := q.MoveUserToAlumnus(ctx, db.MoveUserToAlumnusParams{AlumnusID: &to, UpdatedAt: now, ID: st.UserID}); err != nil {
			return fmt.Errorf("move user account back: %w", err)
		}
	}
	if len(st.Invites) > 0 {
		if err := q.MoveInvites(ctx, db.MoveInvitesParams{ToID: to, Ids: st.Invites}); err != nil {
			return fmt.Errorf("move invites back: %w", err)
		}
	}
	if len(st.Absorbed) > 0 {
		if err := q.RepointAbsorbed(ctx, db.RepointAbsorbedParams{ToID: to, AbsorbedPublicIds: st.Absorbed}); err != nil {
			return fmt.Errorf("move absorbed ids back: %w", err)
		}
	}
	if len(st.Merges) > 0 {
		if err := q.RepointMerges(ctx, db.RepointMergesParams{ToID: to, SupersededBy: nil, Ids: st.Merges}); err != nil {
			return fmt.Errorf("move merges back: %w", err)
		}
		// Those merges can be undone again if the record returns as they left it: at the version
		// it had when it was absorbed, which it returns from one above.
		if err := q.KeepMergesUndoable(ctx, db.KeepMergesUndoableParams{NewVersion: int32(st.Record.Version + 1), //nolint:gosec // versions count changes
			Ids: st.Merges, OldVersion: int32(st.Record.Version)}); err != nil { //nolint:gosec // versions count changes
			return fmt.Errorf("keep merges undoable: %w", err)
		}
	}
	return nil
}
