package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
)

// Filter selects events; zero values mean "any". To is exclusive.
type Filter struct {
	ActorID    string
	EntityType string
	EntityID   string
	Action     string
	From, To   time.Time
}

// Entry is a recorded event.
type Entry struct {
	ID         int64
	OccurredAt time.Time
	ActorID    string
	ActorRole  string
	Action     string
	EntityType string
	EntityID   string
	Changes    []Change
	RequestID  string
	ClientIP   string
}

// Page is one page of events, newest first; NextCursor is empty on the last page.
type Page struct {
	Items      []Entry
	NextCursor string
}

// List returns the page of events matching f older than the cursor after ("" for the newest).
// It returns a Malformed error for a bad cursor or an empty time range.
func List(ctx context.Context, sqlDB *sql.DB, f Filter, after string, limit int) (_ Page, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Page{}, derrors.New(derrors.Malformed, "The time range is empty.",
			derrors.FieldError{Field: "to", Message: "must be after from"})
	}
	params := db.ListAuditEventsParams{
		ActorID: ptr.NonZero(f.ActorID), EntityType: ptr.NonZero(f.EntityType), EntityID: ptr.NonZero(f.EntityID),
		Action: ptr.NonZero(f.Action), Limit: page.FetchLimit(limit),
	}
	if !f.From.IsZero() {
		t := database.ClampTime(f.From)
		params.FromTime = &t
	}
	if !f.To.IsZero() {
		t := database.ClampTime(f.To)
		params.Before = &t
	}
	if after != "" {
		var c position
		if err := page.Decode(after, f, &c); err != nil {
			return Page{}, err
		}
		if c.ID < 1 {
			return Page{}, page.Invalid()
		}
		params.BeforeID = c.ID
	}
	rows, err := db.New(sqlDB).ListAuditEvents(ctx, params)
	if err != nil {
		return Page{}, fmt.Errorf("list audit events: %w", err)
	}
	var out Page
	rows, out.NextCursor = page.Trim(rows, limit, f, func(r db.AuditEvent) any { return position{ID: r.ID} })
	if out.Items, err = toEntries(rows); err != nil {
		return Page{}, err
	}
	return out, nil
}

// toEntries decodes rows.
func toEntries(rows []db.AuditEvent) ([]Entry, error) {
	out := make([]Entry, len(rows))
	for i, r := range rows {
		e := Entry{
			ID: r.ID, OccurredAt: r.OccurredAt, ActorID: ptr.Deref(r.ActorID), ActorRole: ptr.Deref(r.ActorRole),
			Action: r.Action, EntityType: r.EntityType, EntityID: ptr.Deref(r.EntityID),
			RequestID: ptr.Deref(r.RequestID), ClientIP: ptr.Deref(r.ClientIp),
		}
		if len(r.Changes) > 0 {
			if err := json.Unmarshal(r.Changes, &e.Changes); err != nil {
				return nil, fmt.Errorf("decode audit event %d: %w", r.ID, err)
			}
		}
		out[i] = e
	}
	return out, nil
}

// position is the keyset position after the last event of a page (newest first).
type position struct {
	ID int64 `json:"i"`
}
