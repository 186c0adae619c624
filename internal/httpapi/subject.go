package httpapi

import (
	"context"
	"database/sql"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/ptr"
	"github.com/alumnid/alumnid/internal/subject"
)

// subjectHandlers implements the access document's operations.
type subjectHandlers struct {
	db *sql.DB
}

func (h subjectHandlers) GetSubjectData(ctx context.Context, req api.GetSubjectDataRequestObject) (api.GetSubjectDataResponseObject, error) {
	d, err := subject.Read(ctx, h.db, principal(ctx), req.AlumnusId, ptr.Deref(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return api.GetSubjectData200JSONResponse(toAPISubjectData(d)), nil
}

func (h subjectHandlers) GetMyData(ctx context.Context, req api.GetMyDataRequestObject) (api.GetMyDataResponseObject, error) {
	p := principal(ctx)
	d, err := subject.Read(ctx, h.db, p, p.AlumnusID, ptr.Deref(req.Params.Cursor))
	if err != nil {
		return nil, err
	}
	return api.GetMyData200JSONResponse(toAPISubjectData(d)), nil
}

func toAPISubjectData(d subject.Document) api.SubjectData {
	out := api.SubjectData{
		GeneratedAt:    d.GeneratedAt,
		Alumnus:        toAPIAlumnus(d.Record),
		ConsentHistory: api.ConsentChangePage{Items: toAPIConsentChanges(d.Consent.Items), NextCursor: ptr.NonZero(d.Consent.NextCursor)},
		AuditEvents:    api.AuditEventPage{Items: make([]api.AuditEvent, len(d.Events.Items)), NextCursor: ptr.NonZero(d.Events.NextCursor)},
		Sessions:       make([]api.SubjectSession, len(d.Sessions)),
		Invites:        make([]api.SubjectInvite, len(d.Invites)),
		Identities:     make([]api.SubjectIdentity, len(d.Identities)),
	}
	for i, e := range d.Events.Items {
		out.AuditEvents.Items[i] = toAPIAuditEvent(e)
	}
	if u := d.User; u != nil {
		out.User = &api.User{Id: u.ID, Email: api.Email(u.Email), Role: api.Role(u.Role), Enabled: u.Enabled,
			AlumnusId: &d.Record.ID, LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	}
	for i, s := range d.Sessions {
		out.Sessions[i] = api.SubjectSession{Id: s.ID, CreatedAt: s.CreatedAt, RefreshedAt: s.RefreshedAt, ExpiresAt: s.ExpiresAt,
			EndedAt: s.EndedAt, EndReason: ptr.NonZero(s.EndReason), ClientIp: ptr.NonZero(s.ClientIP)}
	}
	for i, inv := range d.Invites {
		out.Invites[i] = api.SubjectInvite{Id: inv.ID, Email: api.Email(inv.Email), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt,
			AcceptedAt: inv.AcceptedAt}
	}
	for i, id := range d.Identities {
		out.Identities[i] = api.SubjectIdentity{Issuer: id.Issuer, Subject: id.Subject, CreatedAt: id.CreatedAt, LastLoginAt: id.LastLoginAt}
	}
	return out
}
