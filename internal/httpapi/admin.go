package httpapi

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/settings"
)

// adminHandlers implements the audit trail and the system settings.
type adminHandlers struct {
	db       *sql.DB
	settings *settings.Store
}

func (h adminHandlers) ListAuditEvents(ctx context.Context, req api.ListAuditEventsRequestObject) (api.ListAuditEventsResponseObject, error) {
	res, err := audit.List(ctx, h.db, toAuditFilter(req.Params), ptr.Deref(req.Params.Cursor), pageSize(req.Params.Limit))
	if err != nil {
		return nil, err
	}
	out := api.ListAuditEvents200JSONResponse{Items: make([]api.AuditEvent, len(res.Items)), NextCursor: ptr.NonZero(res.NextCursor)}
	for i, e := range res.Items {
		out.Items[i] = toAPIAuditEvent(e)
	}
	return out, nil
}

func toAuditFilter(p api.ListAuditEventsParams) audit.Filter {
	return audit.Filter{
		ActorID: ptr.Deref(p.ActorId), EntityType: string(ptr.Deref(p.EntityType)), EntityID: ptr.Deref(p.EntityId),
		Action: ptr.Deref(p.Action), From: ptr.Deref(p.From), To: ptr.Deref(p.To),
	}
}

func toAPIAuditEvent(e audit.Entry) api.AuditEvent {
	ev := api.AuditEvent{
		Id: strconv.FormatInt(e.ID, 10), OccurredAt: e.OccurredAt, Action: e.Action,
		EntityType: api.AuditEntityType(e.EntityType), EntityId: ptr.NonZero(e.EntityID),
		RequestId: ptr.NonZero(e.RequestID), ClientIp: ptr.NonZero(e.ClientIP),
	}
	if e.ActorID != "" {
		ev.Actor = &api.AuditActor{Id: e.ActorID, Role: api.Role(e.ActorRole)}
	}
	if len(e.Changes) > 0 {
		changes := make([]api.AuditChange, len(e.Changes))
		for j, c := range e.Changes {
			changes[j] = api.AuditChange{Field: c.Field, Before: c.Before, After: c.After}
		}
		ev.Changes = &changes
	}
	return ev
}

func (h adminHandlers) GetSettings(ctx context.Context, _ api.GetSettingsRequestObject) (api.GetSettingsResponseObject, error) {
	st, err := h.settings.Get(ctx)
	if err != nil {
		return nil, err
	}
	tag := st.ETag()
	return api.GetSettings200JSONResponse{Body: toAPISettings(st), Headers: api.GetSettings200ResponseHeaders{ETag: &tag}}, nil
}

func (h adminHandlers) PutSettings(ctx context.Context, req api.PutSettingsRequestObject) (api.PutSettingsResponseObject, error) {
	if req.Params.IfMatch == nil {
		return nil, errIfMatchRequired
	}
	matches := func(etag string) bool { return ifMatch(*req.Params.IfMatch, etag) }
	st, err := h.settings.Put(ctx, toSettings(*req.Body), matches)
	if err != nil {
		return nil, err
	}
	tag := st.ETag()
	return api.PutSettings200JSONResponse{Body: toAPISettings(st), Headers: api.PutSettings200ResponseHeaders{ETag: &tag}}, nil
}

func toAPISettings(s settings.Settings) api.Settings {
	return api.Settings{
		OrganizationName: s.OrganizationName, DefaultDirectoryConsent: s.DefaultDirectoryConsent,
		AccessTokenMinutes: s.AccessTokenMinutes, RefreshIdleHours: s.RefreshIdleHours,
		RefreshAbsoluteDays: s.RefreshAbsoluteDays, InviteValidityDays: s.InviteValidityDays,
		AdminsRequireTotp: &s.AdminsRequireTotp, StaffRequireSso: &s.StaffRequireSso,
	}
}

// toSettings reads settings sent in full; adminsRequireTotp left out is on and
// staffRequireSso off (their defaults).
func toSettings(s api.Settings) settings.Settings {
	return settings.Settings{
		OrganizationName: s.OrganizationName, DefaultDirectoryConsent: s.DefaultDirectoryConsent,
		AccessTokenMinutes: s.AccessTokenMinutes, RefreshIdleHours: s.RefreshIdleHours,
		RefreshAbsoluteDays: s.RefreshAbsoluteDays, InviteValidityDays: s.InviteValidityDays,
		AdminsRequireTotp: s.AdminsRequireTotp == nil || *s.AdminsRequireTotp,
		StaffRequireSso:   ptr.Deref(s.StaffRequireSso),
	}
}
