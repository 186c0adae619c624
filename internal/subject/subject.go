// Package subject assembles the access document (GDPR art. 15): everything the service holds
// about one alumnus, as one read, audited.
package subject

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/ptr"
)

// Bounds of one document (docs/PRIVACY.md). The audit events are paged: a document holds
// EventsPerDocument of them, newest first, and the cursor of the next ones. The consent history
// holds its first ConsentPerDocument changes and the cursor of the rest
// (GET /alumni/{id}/consent-history). Sessions and invitations are few (ended sessions are
// purged); at most MaxSessions and MaxInvites, newest first.
const (
	EventsPerDocument  = 200
	ConsentPerDocument = 200
	MaxSessions        = 200
	MaxInvites         = 200
)

// ActionAccessExport is the audit action of a read of the document.
const ActionAccessExport = "alumnus.access_export"

// Document is everything held about one alumnus. User is nil when no account is linked to the
// record; Sessions and Identities are then empty.
type Document struct {
	GeneratedAt time.Time
	Record      alumni.Alumnus
	Consent     alumni.ConsentPage
	Events      audit.Page
	User        *User
	Sessions    []Session
	Invites     []Invite
	Identities  []Identity
}

// User is the account linked to the record, without its secrets (password hash, second
// factor, recovery codes).
type User struct {
	ID          string
	Email       string
	Role        string
	Enabled     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastLoginAt *time.Time
}

// Session is one sign-in of the user: times and client address, never tokens.
type Session struct {
	ID          string
	CreatedAt   time.Time
	RefreshedAt time.Time
	ExpiresAt   time.Time
	EndedAt     *time.Time
	EndReason   string
	ClientIP    string
}

// Invite is an invitation to claim the record (never its token).
type Invite struct {
	ID         string
	Email      string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
}

// Identity is the user's identity at an OpenID Connect provider (no tokens are kept).
type Identity struct {
	Issuer      string
	Subject     string
	CreatedAt   time.Time
	LastLoginAt *time.Time
}

var errNotFound = derrors.New(derrors.NotFound, "No alumnus with this id.")

// Read returns the access document of record id (live or in the trash) for p, with the page of
// audit events after eventsCursor ("" for the newest), and records the read in the audit trail
// (ActionAccessExport) in the same transaction. It returns NotFound when there is no such
// record or p may not read its document (alumni.CanReadSubjectData), and Malformed for a bad
// cursor.
func Read(ctx context.Context, sqlDB *sql.DB, p auth.Principal, id, eventsCursor string) (Document, error) {
	if id == "" || !alumni.CanReadSubjectData(p, id) {
		return Document{}, errNotFound
	}
	var d Document
	err := database.Transact(ctx, sqlDB, func(tx *sql.Tx) error {
		q := db.New(tx)
		var key int64
		var err error
		d.GeneratedAt = time.Now().UTC().Truncate(time.Microsecond)
		if d.Record, key, d.Consent, err = alumni.SubjectRecord(ctx, q, id, ConsentPerDocument); err != nil {
			return err
		}
		about := []audit.Filter{{EntityType: "alumnus", EntityID: id}}
		if d.Invites, err = invites(ctx, q, key); err != nil {
			return err
		}
		for _, inv := range d.Invites {
			about = append(about, audit.Filter{EntityType: "invite", EntityID: inv.ID})
		}
		u, err := q.GetUserOfAlumnus(ctx, &key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("get user of alumnus: %w", err)
		default:
			d.User = &User{ID: u.PublicID, Email: u.Email, Role: u.Role, Enabled: u.Enabled,
				CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt}
			about = append(about, audit.Filter{EntityType: "user", EntityID: u.PublicID}, audit.Filter{ActorID: u.PublicID})
			if d.Sessions, err = sessions(ctx, q, u.ID); err != nil {
				return err
			}
			if d.Identities, err = identities(ctx, q, u.ID); err != nil {
				return err
			}
		}
		if d.Events, err = audit.About(ctx, q, about, eventsCursor, EventsPerDocument); err != nil {
			return err
		}
		return audit.Record(ctx, q, audit.Event{Action: ActionAccessExport, EntityType: "alumnus", EntityID: id,
			Changes: []audit.Change{{Field: "auditEvents", After: len(d.Events.Items)}}}, d.GeneratedAt)
	})
	if err != nil {
		return Document{}, err
	}
	return d, nil
}

func invites(ctx context.Context, q *db.Queries, key int64) ([]Invite, error) {
	rows, err := q.ListInvitesOfAlumnus(ctx, db.ListInvitesOfAlumnusParams{AlumnusID: key, Limit: MaxInvites})
	if err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	out := make([]Invite, len(rows))
	for i, r := range rows {
		out[i] = Invite{ID: r.PublicID, Email: r.Email, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, AcceptedAt: r.AcceptedAt}
	}
	return out, nil
}

func sessions(ctx context.Context, q *db.Queries, userID int64) ([]Session, error) {
	rows, err := q.ListSessionsOfUser(ctx, db.ListSessionsOfUserParams{UserID: userID, Limit: MaxSessions})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		out[i] = Session{ID: r.PublicID, CreatedAt: r.CreatedAt, RefreshedAt: r.RefreshedAt, ExpiresAt: r.ExpiresAt,
			EndedAt: r.EndedAt, EndReason: ptr.Deref(r.EndReason), ClientIP: ptr.Deref(r.ClientIp)}
	}
	return out, nil
}

func identities(ctx context.Context, q *db.Queries, userID int64) ([]Identity, error) {
	rows, err := q.ListIdentitiesOfUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	out := make([]Identity, len(rows))
	for i, r := range rows {
		out[i] = Identity{Issuer: r.Issuer, Subject: r.Subject, CreatedAt: r.CreatedAt, LastLoginAt: r.LastLoginAt}
	}
	return out, nil
}
