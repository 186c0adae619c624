package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/ptr"
)

// About returns the page of events that match any of filters (each an entity, or an actor),
// older than the cursor after ("" for the newest), newest first and each once: the events
// about one person, which sit under several entities. It runs one indexed query per filter
// through q. It returns a Malformed error for a bad cursor or limit, and an error for an
// empty filter.
func About(ctx context.Context, q *db.Queries, filters []Filter, after string, limit int) (Page, error) {
	if err := page.CheckLimit(limit); err != nil {
		return Page{}, err
	}
	var before int64
	if after != "" {
		var c position
		if err := page.Decode(after, filters, &c); err != nil {
			return Page{}, err
		}
		if c.ID < 1 {
			return Page{}, page.Invalid()
		}
		before = c.ID
	}
	var rows []db.AuditEvent
	for _, f := range filters {
		if f == (Filter{}) {
			return Page{}, fmt.Errorf("audit.About: an empty filter would match every event")
		}
		found, err := q.ListAuditEvents(ctx, db.ListAuditEventsParams{
			ActorID: ptr.NonZero(f.ActorID), EntityType: ptr.NonZero(f.EntityType), EntityID: ptr.NonZero(f.EntityID),
			BeforeID: before, Limit: page.FetchLimit(limit),
		})
		if err != nil {
			return Page{}, fmt.Errorf("list audit events: %w", err)
		}
		rows = append(rows, found...)
	}
	slices.SortFunc(rows, func(a, b db.AuditEvent) int { return cmp.Compare(b.ID, a.ID) })
	rows = slices.CompactFunc(rows, func(a, b db.AuditEvent) bool { return a.ID == b.ID })
	var out Page
	var err error
	rows, out.NextCursor = page.Trim(rows, limit, filters, func(r db.AuditEvent) any { return position{ID: r.ID} })
	if out.Items, err = toEntries(rows); err != nil {
		return Page{}, err
	}
	return out, nil
}
