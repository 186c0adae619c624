package alumni

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/settings"
)

// Store reads and writes alumni records one at a time; internal/listing reads many.
type Store struct {
	db       *sql.DB
	settings *settings.Store // the office's defaults for new records
	now      func() time.Time
}

// NewStore returns a Store on the pool sqlDB.
func NewStore(sqlDB *sql.DB) *Store {
	return &Store{db: sqlDB, settings: settings.NewStore(sqlDB), now: time.Now}
}

// timestamp is the current time as the database keeps it: UTC, microseconds.
func (s *Store) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

var errNotFound = derrors.New(derrors.NotFound, "No alumnus with this id.")

// NewRecord is a record to create: its fields, and whether the person consents to the
// directory, nil when the request does not say (Fields.DirectoryConsent is not read).
type NewRecord struct {
	Fields
	Consent *bool
}

// blank returns the fields a new record starts from: the office's default directory consent
// (setting defaultDirectoryConsent), nothing else.
func (s *Store) blank(ctx context.Context) (Fields, error) {
	st, err := s.settings.Get(ctx)
	if err != nil {
		return Fields{}, err
	}
	return Fields{DirectoryConsent: st.DefaultDirectoryConsent}, nil
}

// Create normalizes and validates the new record and stores it; without a consent of its own,
// it takes the office's default. It returns an Invalid error for unacceptable fields and a
// Conflict naming the field when the student id or email is taken.
func (s *Store) Create(ctx context.Context, r NewRecord) (Alumnus, error) {
	f := r.Fields
	if r.Consent != nil {
		f.DirectoryConsent = *r.Consent
	} else {
		blank, err := s.blank(ctx)
		if err != nil {
			return Alumnus{}, err
		}
		f.DirectoryConsent = blank.DirectoryConsent
	}
	now := s.timestamp()
	if err := Normalize(&f, now); err != nil {
		return Alumnus{}, err
	}
	c := newChange(f, now)
	c.source = SourceStaff // the office creates records
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		if err := write(ctx, tx, []*change{c}, now); err != nil {
			return err
		}
		return c.rejected
	}, database.RetryDeadlocks())
	if err != nil {
		return Alumnus{}, err
	}
	return c.after, nil
}

// Get returns the live record with public id id as p may see it (Withheld names the fields
// left out). It returns NotFound also for records p may not know of.
func (s *Store) Get(ctx context.Context, p auth.Principal, id string) (_ Alumnus, err error) {
	defer database.ClassifyErr(&err)
	a, err := s.get(ctx, id)
	if errors.Is(err, errNotFound) {
		return Alumnus{}, s.moved(ctx, p, id)
	}
	if err != nil {
		return Alumnus{}, err
	}
	if !CanRead(p, a) {
		return Alumnus{}, errNotFound
	}
	return Redact(p, a), nil
}

// moved is the answer to a Get of id, which is not a live record: Moved naming the survivor
// when id was merged into a record p may read, else NotFound.
func (s *Store) moved(ctx context.Context, p auth.Principal, id string) error {
	e, err := survivorOf(ctx, db.New(s.db), id)
	switch {
	case err != nil:
		return err
	case e == nil:
		return errNotFound
	}
	a, err := s.get(ctx, e.SurvivorID)
	switch {
	case errors.Is(err, errNotFound) || (err == nil && !CanRead(p, a)):
		return errNotFound
	case err != nil:
		return err
	}
	return e
}

// get returns the whole live record id, or NotFound.
func (s *Store) get(ctx context.Context, id string) (Alumnus, error) {
	q := db.New(s.db)
	row, err := q.GetAlumnus(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Alumnus{}, errNotFound
	}
	if err != nil {
		return Alumnus{}, fmt.Errorf("get alumnus: %w", err)
	}
	list, err := WithChildren(ctx, q, []db.Alumni{row})
	if err != nil {
		return Alumnus{}, err
	}
	return list[0], nil
}

// Edit is a change to a record: it receives the whole current record (what p may see) and
// returns the new fields, or an error to refuse.
type Edit func(cur Alumnus) (Fields, error)

// Update applies edit to the live record id on behalf of p and stores the result. ifMatch is
// asked about the record's current version and the caller's view of it, under the row lock;
// false gives PreconditionFailed. Alumni may change only their own record (NotFound for
// others) and only SelfEditable fields (checked by the caller's edit). It returns Invalid for
// unacceptable fields and Conflict for a taken student id or email. A change that leaves every
// field as it was writes nothing and keeps the version.
func (s *Store) Update(ctx context.Context, p auth.Principal, id string, ifMatch func(visible Alumnus) bool, edit Edit) (Alumnus, error) {
	if !p.Role.Office() && (p.Role != auth.RoleAlumnus || p.AlumnusID != id) {
		return Alumnus{}, errNotFound
	}
	now := s.timestamp()
	var out Alumnus
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := lockLive(ctx, q, id, nil)
		if err != nil {
			return err
		}
		internalID := row.ID
		list, err := WithChildren(ctx, q, []db.Alumni{row})
		if err != nil {
			return err
		}
		cur := list[0]
		visible := Redact(p, cur)
		if !ifMatch(visible) {
			return ErrChanged
		}
		f, err := edit(visible)
		if err != nil {
			return err
		}
		f = copyFields(f, cur.Fields, visible.Withheld) // a change never clears what its author cannot see
		if err := Normalize(&f, now); err != nil {
			return err
		}
		if reflect.DeepEqual(cur.Fields, f) {
			out = visible
			return nil
		}
		c := updateChange(internalID, cur, f, now)
		c.source = sourceOf(p)
		if err := write(ctx, tx, []*change{c}, now); err != nil {
			return err
		}
		out = Redact(p, c.after)
		return c.rejected
	}, database.RetryDeadlocks())
	if err != nil {
		return Alumnus{}, err
	}
	return out, nil
}

// Delete moves the live record id to the trash. When matches is not nil it is asked about the
// record's current version, under the row lock, and false gives PreconditionFailed.
func (s *Store) Delete(ctx context.Context, id string, matches func(version int) bool) error {
	now := s.timestamp()
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := lockLive(ctx, q, id, matches)
		if err != nil {
			return err
		}
		list, err := WithChildren(ctx, q, []db.Alumni{row})
		if err != nil {
			return err
		}
		return write(ctx, tx, []*change{trashChange(row.ID, list[0], true, now)}, now)
	}, database.RetryDeadlocks())
}

// Restore brings the record id back from the trash and returns it; restoring a live record
// changes nothing. It returns NotFound when there is no such record.
func (s *Store) Restore(ctx context.Context, id string) (Alumnus, error) {
	now := s.timestamp()
	var out Alumnus
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetAlumnusForUpdate(ctx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("lock alumnus: %w", err)
		}
		list, err := WithChildren(ctx, q, []db.Alumni{row})
		if err != nil {
			return err
		}
		out = list[0]
		if row.DeletedAt == nil {
			return nil
		}
		c := trashChange(row.ID, out, false, now)
		out = c.after
		return write(ctx, tx, []*change{c}, now)
	}, database.RetryDeadlocks())
	return out, err
}

// lockLive locks the live record id and, when matches is not nil, checks its current version
// with it. It returns the row as stored, NotFound, or PreconditionFailed.
func lockLive(ctx context.Context, q *db.Queries, id string, matches func(version int) bool) (db.Alumni, error) {
	row, err := q.GetAlumnusForUpdate(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return db.Alumni{}, goneErr(ctx, q, id, "") // NotFound, or merged into another record
	}
	if err == nil && row.DeletedAt != nil {
		return db.Alumni{}, errNotFound
	}
	if err != nil {
		return db.Alumni{}, fmt.Errorf("lock alumnus: %w", err)
	}
	if matches != nil && !matches(int(row.Version)) {
		return db.Alumni{}, ErrChanged
	}
	return row, nil
}

// ErrChanged reports that a record is no longer at the version the caller based a change on.
var ErrChanged = derrors.New(derrors.PreconditionFailed,
	"The record was changed by someone else; fetch it again and reapply your change.")

// children are the degrees and tags of the record with internal key id.
type children struct {
	id int64
	Fields
}

// writeChildren inserts the degrees and tags of records through tx, with multi-row INSERTs (an
// import writes hundreds of records at once). Their degrees and tags must have been deleted
// before (or never existed).
func writeChildren(ctx context.Context, tx db.DBTX, records ...children) error {
	if len(records) == 0 {
		return nil
	}
	var degrees, tags [][]any
	for _, r := range records {
		for j, d := range r.Degrees {
			degrees = append(degrees, DegreeRow(r.id, j, d))
		}
		for _, t := range r.Tags {
			tags = append(tags, []any{r.id, t})
		}
	}
	if err := database.InsertRows(ctx, tx, "degrees", DegreeColumns, degrees); err != nil {
		return err
	}
	return database.InsertRows(ctx, tx, "alumni_tags", TagColumns, tags)
}

// recordKeys are the duplicate keys of the record with internal key id.
type recordKeys struct {
	id   int64
	keys []DuplicateKey
}

// writeDuplicateKeys inserts the duplicate keys of records (whose earlier keys are gone).
func writeDuplicateKeys(ctx context.Context, tx db.DBTX, records []recordKeys) error {
	var keys [][]any
	for _, r := range records {
		for _, k := range r.keys {
			keys = append(keys, []any{r.id, k.Kind, k.Key})
		}
	}
	return database.InsertRows(ctx, tx, "alumni_duplicate_keys", duplicateKeyColumns, keys)
}

// duplicateKeyColumns are the alumni_duplicate_keys columns, in order.
var duplicateKeyColumns = []string{"alumnus_id", "kind", "dup_key"}

// markForScoring marks records for the duplicate worker (internal/duplicates), which scores
// their pairs again: a record marked while a worker holds it loses the worker's claim, so that
// the newer change is scored too.
func markForScoring(ctx context.Context, tx db.DBTX, ids []int64, now time.Time) error {
	slices.Sort(ids)
	ids = slices.Compact(ids) // in key order: concurrent writers lock the marks in the same order
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{id, now, nil}
	}
	return database.UpsertRows(ctx, tx, "duplicate_work", scoringColumns, scoringColumns[1:], rows)
}

// scoringColumns are the duplicate_work columns a mark sets, in order.
var scoringColumns = []string{"alumnus_id", "queued_at", "claim"}

// WithChildren loads the degrees and tags of rows (two queries in all) and returns the records.
func WithChildren(ctx context.Context, q *db.Queries, rows []db.Alumni) ([]Alumnus, error) {
	out := make([]Alumnus, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		index[r.ID] = i
		out[i] = fromRow(r)
	}
	degrees, err := q.ListDegrees(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list degrees: %w", err)
	}
	for _, d := range degrees {
		a := &out[index[d.AlumnusID]]
		a.Degrees = append(a.Degrees, fromDegreeRow(d))
	}
	tags, err := q.ListTags(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	for _, t := range tags {
		a := &out[index[t.AlumnusID]]
		a.Tags = append(a.Tags, t.Tag)
	}
	return out, nil
}

// uniqueFields maps the unique keys of schema/ to the API field they protect.
var uniqueFields = map[string]string{
	"uq_alumni_student_id": "studentId",
	"uq_alumni_email":      "email",
}

// translate turns a duplicate-key error on a unique field into a Conflict naming the field.
func translate(err error) error {
	if key, ok := database.DuplicateKey(err); ok {
		if field, ok := uniqueFields[key]; ok {
			return derrors.New(derrors.Conflict, "Another record already uses this value.",
				derrors.FieldError{Field: field, Message: "another record already has this " + fieldNoun[field]})
		}
	}
	return fmt.Errorf("write alumnus: %w", err)
}

var fieldNoun = map[string]string{"studentId": "student id", "email": "email"}
