package httpapi

import (
	"context"
	"net/http"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/ptr"
	"github.com/alumnid/alumnid/internal/sso"
)

// ssoHandlers implements sign-in through OpenID Connect providers.
type ssoHandlers struct {
	sso *sso.Service
	// secure marks the binding cookie Secure (the service's public URL is https).
	secure bool
}

func (h ssoHandlers) ListSsoProviders(context.Context, api.ListSsoProvidersRequestObject) (api.ListSsoProvidersResponseObject, error) {
	out := api.ListSsoProviders200JSONResponse{Items: []api.SsoProvider{}}
	for _, p := range h.sso.Providers() {
		out.Items = append(out.Items, api.SsoProvider{Id: p.ID, Name: p.Name, StartUrl: "/api/v1/auth/sso/" + p.ID + "/start"})
	}
	return out, nil
}

func (h ssoHandlers) StartSso(ctx context.Context, req api.StartSsoRequestObject) (api.StartSsoResponseObject, error) {
	st, err := h.sso.Start(ctx, req.ProviderId, req.Params.ReturnTo)
	if err != nil {
		return nil, err
	}
	cookie := h.cookie(st.Binding, 600)
	return api.StartSso302Response{Headers: api.StartSso302ResponseHeaders{Location: &st.URL, SetCookie: &cookie}}, nil
}

func (h ssoHandlers) SsoCallback(ctx context.Context, req api.SsoCallbackRequestObject) (api.SsoCallbackResponseObject, error) {
	p := req.Params
	to, err := h.sso.Callback(ctx, req.ProviderId, ptr.Deref(p.Code), ptr.Deref(p.State), ptr.Deref(p.Error), ptr.Deref(p.AlumnidSso))
	if err != nil {
		return nil, err
	}
	cookie := h.cookie("", -1)
	return api.SsoCallback302Response{Headers: api.SsoCallback302ResponseHeaders{Location: &to, SetCookie: &cookie}}, nil
}

func (h ssoHandlers) RedeemSsoTicket(ctx context.Context, req api.RedeemSsoTicketRequestObject) (api.RedeemSsoTicketResponseObject, error) {
	t, err := h.sso.Redeem(ctx, req.Body.Ticket, clientIP(ctx))
	if err != nil {
		return nil, err
	}
	return api.RedeemSsoTicket200JSONResponse{TokensJSONResponse: toAPITokens(t)}, nil
}

// cookie is the Set-Cookie value of the binding cookie (maxAge < 0 deletes it).
func (h ssoHandlers) cookie(value string, maxAge int) string {
	c := http.Cookie{ //nolint:gosec // HttpOnly and SameSite=Lax always; Secure when the public URL is https (tests run on http)
		Name: sso.CookieName, Value: value, Path: "/api/v1/auth/sso/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}
	return c.String()
}
