package alumni

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/ptr"
)

// The consent history: every change of a record's directory consent or one of its
// do-not-contact flags, with when, by whom (the actor of the change's context, as its audit
// event has) and from where (the change's source). The write path writes it in the same
// transaction as the change (writeConsentChanges); a record starts with no consent and no
// flag, so a create writes rows only for what it turns on, and an update only for what it
// changes — an import that sets job titles writes none.

// Sources of a change, as the consent history records them.
const (
	SourceStaff       = "staff"        // the office, through the API
	SourceSelfService = "self-service" // the alumnus, on their own record
	SourceImport      = "import"       // a CSV import
	SourceSeed        = "seed"         // synthetic data (alumnid seed)
	SourceMerge       = "merge"        // a merge of two records, or its undo
)

// Consent fields, by their API names.
const (
	ConsentDirectory  = "directoryConsent"
	ConsentDoNotEmail = "contactPermissions.doNotEmail"
	ConsentDoNotMail  = "contactPermissions.doNotMail"
	ConsentDoNotPhone = "contactPermissions.doNotPhone"
	ConsentDoNotSMS   = "contactPermissions.doNotSms"
)

// consentValues are the consent fields of f, in a fixed order.
func consentValues(f Fields) [5]bool {
	p := f.ContactPermissions
	return [5]bool{f.DirectoryConsent, p.DoNotEmail, p.DoNotMail, p.DoNotPhone, p.DoNotSMS}
}

var consentNames = [5]string{ConsentDirectory, ConsentDoNotEmail, ConsentDoNotMail, ConsentDoNotPhone, ConsentDoNotSMS}

// sourceOf is the source of a change p makes through the API.
func sourceOf(p auth.Principal) string {
	if p.Role == auth.RoleAlumnus {
		return SourceSelfService
	}
	return SourceStaff
}

// consentChangeColumns are the alumni_consent_changes columns writeConsentChanges fills.
var consentChangeColumns = []string{"alumnus_id", "field", "value", "changed_at", "actor_id", "actor_role", "source"}

// writeConsentChanges writes the consent history rows of the creates and updates of changes
// that were not rejected, made by the actor of ctx at the records' new UpdatedAt, with
// multi-row INSERTs.
func writeConsentChanges(ctx context.Context, tx db.DBTX, changes []*change) error {
	actor := audit.ActorFrom(ctx)
	var rows [][]any
	for _, c := range changes {
		if c.rejected != nil || (!c.creates() && !c.updates()) {
			continue
		}
		before, after := consentValues(c.before.Fields), consentValues(c.after.Fields)
		if c.creates() {
			before = [5]bool{}
		}
		for i := range after {
			if after[i] != before[i] {
				rows = append(rows, []any{c.key, consentNames[i], after[i], c.after.UpdatedAt, ptr.NonZero(actor.UserID), ptr.NonZero(actor.Role), c.source})
			}
		}
	}
	if err := database.InsertRows(ctx, tx, "alumni_consent_changes", consentChangeColumns, rows); err != nil {
		return fmt.Errorf("write consent history: %w", err)
	}
	return nil
}

// ConsentChange is one change of a consent field.
type ConsentChange struct {
	ID        int64
	Field     string // one of the Consent* names
	Value     bool
	ChangedAt time.Time
	ActorID   string // empty for the command line (seed)
	ActorRole string
	Source    string
}

// ConsentPage is one page of a record's consent history, oldest first; NextCursor is empty
// on the last page.
type ConsentPage struct {
	Items      []ConsentChange
	NextCursor string
}

// ConsentHistory returns the page of the consent history of record id (live or in the trash)
// after the cursor after ("" for the first). It returns NotFound when there is no such record
// or p may not read its history (CanReadConsentHistory), and Malformed for a bad cursor or
// limit.
func (s *Store) ConsentHistory(ctx context.Context, p auth.Principal, id, after string, limit int) (_ ConsentPage, err error) {
	defer database.ClassifyErr(&err)
	if !CanReadConsentHistory(p, id) {
		return ConsentPage{}, errNotFound
	}
	key, err := recordKey(ctx, db.New(s.db), id)
	if err != nil {
		return ConsentPage{}, err
	}
	return consentHistory(ctx, db.New(s.db), key, id, after, limit)
}

// recordKey returns the internal key of the record id, live or in the trash, or NotFound.
func recordKey(ctx context.Context, q *db.Queries, id string) (int64, error) {
	row, err := q.GetAlumnusKey(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("find alumnus: %w", err)
	}
	return row.ID, nil
}

// consentPosition is the keyset position after the last change of a page.
type consentPosition struct {
	ID int64 `json:"i"`
}

// consentHistory reads a page of the history of the record with internal key key (public id
// id, which binds the cursor).
func consentHistory(ctx context.Context, q *db.Queries, key int64, id, after string, limit int) (ConsentPage, error) {
	if err := page.CheckLimit(limit); err != nil {
		return ConsentPage{}, err
	}
	params := db.ListConsentChangesParams{AlumnusID: key, Limit: page.FetchLimit(limit)}
	filter := struct{ Consent string }{id}
	if after != "" {
		var c consentPosition
		if err := page.Decode(after, filter, &c); err != nil {
			return ConsentPage{}, err
		}
		if c.ID < 1 {
			return ConsentPage{}, page.Invalid()
		}
		params.AfterID = c.ID
	}
	rows, err := q.ListConsentChanges(ctx, params)
	if err != nil {
		return ConsentPage{}, fmt.Errorf("list consent changes: %w", err)
	}
	var out ConsentPage
	rows, out.NextCursor = page.Trim(rows, limit, filter, func(r db.ListConsentChangesRow) any { return consentPosition{ID: r.ID} })
	out.Items = make([]ConsentChange, len(rows))
	for i, r := range rows {
		out.Items[i] = ConsentChange{ID: r.ID, Field: r.Field, Value: r.Value, ChangedAt: r.ChangedAt,
			ActorID: ptr.Deref(r.ActorID), ActorRole: ptr.Deref(r.ActorRole), Source: r.Source}
	}
	return out, nil
}

// SubjectRecord returns, for the access document, the whole record id (live or in the trash,
// not redacted: CanReadSubjectData decides who may have it), its internal key, and the first
// page of limit changes of its consent history. It returns NotFound when there is no such
// record.
func SubjectRecord(ctx context.Context, q *db.Queries, id string, limit int) (Alumnus, int64, ConsentPage, error) {
	row, err := q.GetAlumnusLiveOrDeleted(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Alumnus{}, 0, ConsentPage{}, errNotFound
	}
	if err != nil {
		return Alumnus{}, 0, ConsentPage{}, fmt.Errorf("get alumnus: %w", err)
	}
	list, err := WithChildren(ctx, q, []db.Alumni{row})
	if err != nil {
		return Alumnus{}, 0, ConsentPage{}, err
	}
	history, err := consentHistory(ctx, q, row.ID, id, "", limit)
	if err != nil {
		return Alumnus{}, 0, ConsentPage{}, err
	}
	return list[0], row.ID, history, nil
}
