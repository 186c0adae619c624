package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
)

// trailRow is one row of the audit trail, with the change only for actions the feed shows.
type trailRow struct {
	id         int64
	occurredAt time.Time
	action     string
	entityID   string
	changes    []byte
}

// actions maps the audit actions the feed shows to their event types.
var actions = map[string]Type{
	"alumnus.create":  AlumnusCreated,
	"alumnus.update":  AlumnusUpdated,
	"alumnus.delete":  AlumnusDeleted,
	"alumnus.restore": AlumnusRestored,
	// A merge changes the survivor and takes the absorbed record away; its undo changes the
	// survivor back and brings the absorbed record back.
	"alumnus.merge":    AlumnusUpdated,
	"alumnus.absorb":   AlumnusDeleted,
	"alumnus.unmerge":  AlumnusUpdated,
	"alumnus.unabsorb": AlumnusCreated,
	"import.progress":  ImportProgress,
	"import.complete":  ImportCompleted,
}

// mergeNotes are the entries of a merge's changes that name the records and the merge.
var mergeNotes = map[string]bool{"absorbedId": true, "mergeId": true, "userId": true}

// readSettledTrail is readTrail of the rows after after, with a locking read that waits for
// the transactions still inserting rows in that range to end. READ COMMITTED takes no gap
// locks, so writers adding new rows are not held up.
func readSettledTrail(ctx context.Context, db *sql.DB, after int64, limit int) ([]trailRow, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return readTrail(ctx, tx, after, 0, limit, " LOCK IN SHARE MODE")
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readTrail returns up to limit rows with ids after after (and up to upTo, when not 0), in
// id order, with suffix (a locking clause) at the end of the statement. The changes of other
// actions are not read: the feed needs their ids only.
func readTrail(ctx context.Context, db querier, after, upTo int64, limit int, suffix string) ([]trailRow, error) {
	q := "SELECT id, occurred_at, action, COALESCE(entity_id, ''), " +
		"CASE WHEN action IN ('alumnus.update', 'alumnus.merge', 'alumnus.unmerge', 'import.progress', 'import.complete') THEN changes ELSE '[]' END " +
		"FROM audit_events WHERE id > ?"
	args := []any{after}
	if upTo > 0 {
		q += " AND id <= ?"
		args = append(args, upTo)
	}
	rows, err := db.QueryContext(ctx, q+" ORDER BY id LIMIT ?"+suffix, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	defer rows.Close()
	var out []trailRow
	for rows.Next() {
		var r trailRow
		if err := rows.Scan(&r.id, &r.occurredAt, &r.action, &r.entityID, &r.changes); err != nil {
			return nil, fmt.Errorf("read the audit trail: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the audit trail: %w", err)
	}
	return out, nil
}

// record is what deciding who may see an alumnus event needs: the record's state now.
type record struct {
	found bool
	a     alumni.Alumnus
}

// toEvents turns the rows of shown actions into events, with the current state of the records
// they are about (one query for all of them).
func toEvents(ctx context.Context, db *sql.DB, rows []trailRow) ([]Event, error) {
	var out []Event
	records := map[string]*record{}
	for _, r := range rows {
		typ, ok := actions[r.action]
		if !ok {
			continue
		}
		e := Event{ID: r.id, Type: typ, OccurredAt: r.occurredAt}
		var changes []struct {
			Field string `json:"field"`
			After any    `json:"after"`
		}
		if err := json.Unmarshal(r.changes, &changes); err != nil {
			return nil, fmt.Errorf("audit event %d: %w", r.id, err)
		}
		switch typ {
		case ImportProgress, ImportCompleted:
			st := &ImportState{ID: r.entityID}
			for _, c := range changes {
				n, _ := c.After.(float64)
				switch c.Field {
				case "status":
					st.Status, _ = c.After.(string)
				case "processedRows":
					st.ProcessedRows = int(n)
				case "created":
					st.Created = int(n)
				case "updated":
					st.Updated = int(n)
				case "unchanged":
					st.Unchanged = int(n)
				case "rejected":
					st.Rejected = int(n)
				}
			}
			e.Import = st
		default:
			e.AlumnusID = r.entityID
			for _, c := range changes {
				if mergeNotes[c.Field] {
					continue // not a field of the record
				}
				// Only names travel, never values; nested names count as their top field.
				name, _, _ := strings.Cut(c.Field, ".")
				if !slices.Contains(e.Fields, name) {
					e.Fields = append(e.Fields, name)
				}
			}
			rec, ok := records[r.entityID]
			if !ok {
				rec = &record{}
				records[r.entityID] = rec
			}
			e.record = rec
		}
		out = append(out, e)
	}
	if err := loadRecords(ctx, db, records); err != nil {
		return nil, err
	}
	return out, nil
}

// loadRecords fills records (by public id) with the state that decides who may read them.
func loadRecords(ctx context.Context, sqlDB *sql.DB, records map[string]*record) error {
	if len(records) == 0 {
		return nil
	}
	ids := make([]string, 0, len(records))
	for id := range records {
		ids = append(ids, id)
	}
	rows, err := db.New(sqlDB).ListAlumniAccessByPublicIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("read the records of events: %w", err)
	}
	for _, r := range rows {
		a := alumni.Alumnus{ID: r.PublicID, DeletedAt: r.DeletedAt}
		a.DirectoryConsent, a.Status = r.DirectoryConsent, alumni.Status(r.Status)
		records[a.ID].found, records[a.ID].a = true, a
	}
	return nil
}

// visible returns e as p may see it: only events about records p may read, with only the
// fields p may read; import events only for the office.
func visible(p auth.Principal, e Event) (Event, bool) {
	switch {
	case e.Import != nil:
		return e, p.Role.Office()
	case e.record == nil:
		return e, false
	case !e.record.found:
		return e, p.Role.Office() // purged since: only the office saw every record
	}
	a := e.record.a
	if e.Type == AlumnusDeleted {
		a.DeletedAt = nil // those who could read it until it was deleted learn that it was
	}
	if !alumni.CanRead(p, a) {
		return e, false
	}
	if len(e.Fields) > 0 {
		withheld := alumni.Withheld(p, a)
		fields := make([]string, 0, len(e.Fields))
		for _, f := range e.Fields {
			if !slices.Contains(withheld, f) {
				fields = append(fields, f)
			}
		}
		if len(fields) == 0 {
			return e, false // nothing the subscriber may read changed
		}
		e.Fields = fields
	}
	return e, true
}
