// Package audit keeps the audit trail: one event per change, written by the domain packages in
// the same transaction as the change, and read back by admins.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
)

// Actor is who makes the changes of a request, and from where. Middleware puts it in the
// request's context; UserID and Role are empty before authentication and for the CLI.
type Actor struct {
	UserID    string
	Role      string
	RequestID string
	ClientIP  string
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or the zero Actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Change is one field's value before and after. A nil value means "none"; secrets are
// recorded as a Change with both values nil (the field changed, its values are not kept).
type Change struct {
	Field  string `json:"field"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Actions are the actions the trail records: the contract's AuditEvent.action lists the
// same (a test compares them), and Record and RecordAll refuse any other, so that nothing is
// written that clients were not told about.
var Actions = []string{
	"alumnus.create", "alumnus.update", "alumnus.delete", "alumnus.restore",
	"alumnus.merge", "alumnus.absorb", "alumnus.unmerge", "alumnus.unabsorb",
	"user.create", "user.update", "user.delete", "user.password_change", "user.password_reset",
	"session.login", "session.login_failed", "session.logout", "session.refresh_reuse",
	"session.second_factor_due", "session.second_factor_failed",
	"user.totp_enrol", "user.totp_enable", "user.totp_disable",
	"user.passkey_enrol", "user.passkey_add", "user.passkey_remove",
	"invite.create", "invite.accept",
	"settings.update", "alumni.export", "duplicate.dismiss", "duplicate.reopen",
	"import.create", "import.progress", "import.complete",
	"backup.create", "alumnus.access_export",
}

// checkAction returns an error unless action is one of Actions.
func checkAction(action string) error {
	if !slices.Contains(Actions, action) {
		return fmt.Errorf("audit: %q is not one of the documented actions (audit.Actions)", action)
	}
	return nil
}

// Event is one change to record.
type Event struct {
	Action     string // entity.verb, e.g. alumnus.update
	EntityType string
	EntityID   string
	Changes    []Change
	// Actor overrides the context's user, for events where the actor becomes known during
	// the operation (a sign-in).
	Actor *Actor
}

// Record writes e with the actor of ctx through q, which should be the transaction of the
// change so that both commit or neither does. It returns the database's error.
func Record(ctx context.Context, q *db.Queries, e Event, now time.Time) error {
	p, err := params(ctx, e, now)
	if err != nil {
		return err
	}
	if err := q.CreateAuditEvent(ctx, p); err != nil {
		return fmt.Errorf("write audit event: %w", err)
	}
	return nil
}

// eventColumns are the columns RecordAll fills, as CreateAuditEvent does.
var eventColumns = []string{"occurred_at", "actor_id", "actor_role", "action", "entity_type", "entity_id", "changes", "request_id", "client_ip"}

// RecordAll writes events like Record, with multi-row INSERTs, through tx, which should be the
// transaction of the changes. Bulk writers (imports) use it. It returns the database's error.
func RecordAll(ctx context.Context, tx db.DBTX, events []Event, now time.Time) error {
	in := database.NewInserter(tx, "audit_events", eventColumns).MaxRows(500)
	for _, e := range events {
		p, err := params(ctx, e, now)
		if err != nil {
			return err
		}
		if err := in.Add(ctx, p.OccurredAt, p.ActorID, p.ActorRole, p.Action, p.EntityType, p.EntityID, p.Changes,
			p.RequestID, p.ClientIp); err != nil {
			return fmt.Errorf("write audit events: %w", err)
		}
	}
	if err := in.Flush(ctx); err != nil {
		return fmt.Errorf("write audit events: %w", err)
	}
	return nil
}

// params is the row of e made at now by the actor of ctx (or e's own). It refuses an action
// that is not one of Actions.
func params(ctx context.Context, e Event, now time.Time) (db.CreateAuditEventParams, error) {
	if err := checkAction(e.Action); err != nil {
		return db.CreateAuditEventParams{}, err
	}
	actor := ActorFrom(ctx)
	if e.Actor != nil {
		actor.UserID, actor.Role = e.Actor.UserID, e.Actor.Role
	}
	changes, err := encodeChanges(e.Changes)
	if err != nil {
		return db.CreateAuditEventParams{}, err
	}
	return db.CreateAuditEventParams{
		OccurredAt: now.UTC().Truncate(time.Microsecond),
		ActorID:    ptr.NonZero(actor.UserID),
		ActorRole:  ptr.NonZero(actor.Role),
		Action:     e.Action,
		EntityType: e.EntityType,
		EntityID:   ptr.NonZero(e.EntityID),
		Changes:    changes,
		RequestID:  ptr.NonZero(actor.RequestID),
		ClientIp:   ptr.NonZero(actor.ClientIP),
	}, nil
}

// encodeChanges is the changes column. Never SQL NULL: ListAuditEvents scans the column into
// a json.RawMessage, which cannot hold NULL, so one event without changes would break every
// read of the trail.
func encodeChanges(changes []Change) ([]byte, error) {
	if len(changes) == 0 {
		return []byte(`[]`), nil
	}
	b, err := json.Marshal(changes)
	if err != nil {
		return nil, fmt.Errorf("encode audit changes: %w", err)
	}
	return b, nil
}

// Diff returns the fields whose values differ between before and after, in field order.
// Either map may be nil (a creation or a deletion).
func Diff(before, after map[string]any) []Change {
	var out []Change
	seen := map[string]bool{}
	for _, m := range []map[string]any{before, after} {
		for field := range m {
			if seen[field] {
				continue
			}
			seen[field] = true
			b, a := before[field], after[field]
			if isEmpty(b) && isEmpty(a) || reflect.DeepEqual(b, a) {
				continue
			}
			out = append(out, Change{Field: field, Before: emptyToNil(b), After: emptyToNil(a)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return false
}

func emptyToNil(v any) any {
	if isEmpty(v) {
		return nil
	}
	return v
}
