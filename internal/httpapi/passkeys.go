package httpapi

import (
	"context"
	"encoding/json"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/ptr"
)

// Passkeys (WebAuthn): registering, listing and deleting one's own, and signing in with one
// (internal/auth/passkey.go).

func (h authHandlers) ListPasskeys(ctx context.Context, _ api.ListPasskeysRequestObject) (api.ListPasskeysResponseObject, error) {
	keys, err := h.auth.Passkeys(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	out := api.ListPasskeys200JSONResponse{Items: make([]api.Passkey, len(keys))}
	for i, k := range keys {
		out.Items[i] = toAPIPasskey(k)
	}
	return out, nil
}

func (h authHandlers) StartPasskeyRegistration(ctx context.Context, _ api.StartPasskeyRegistrationRequestObject) (api.StartPasskeyRegistrationResponseObject, error) {
	c, err := h.auth.StartPasskeyRegistration(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	return api.StartPasskeyRegistration200JSONResponse(toAPICeremony(c)), nil
}

func (h authHandlers) CreatePasskey(ctx context.Context, req api.CreatePasskeyRequestObject) (api.CreatePasskeyResponseObject, error) {
	cred, err := json.Marshal(req.Body.Credential)
	if err != nil {
		return nil, err
	}
	k, err := h.auth.FinishPasskeyRegistration(ctx, principal(ctx), req.Body.Ceremony, req.Body.Name, cred)
	if err != nil {
		return nil, err
	}
	return api.CreatePasskey201JSONResponse(toAPIPasskey(k)), nil
}

func (h authHandlers) DeletePasskey(ctx context.Context, req api.DeletePasskeyRequestObject) (api.DeletePasskeyResponseObject, error) {
	if err := h.auth.DeletePasskey(ctx, principal(ctx), req.PasskeyId); err != nil {
		return nil, err
	}
	return api.DeletePasskey204Response{}, nil
}

func (h authHandlers) StartPasskeySignIn(ctx context.Context, req api.StartPasskeySignInRequestObject) (api.StartPasskeySignInResponseObject, error) {
	challenge := ""
	if req.Body != nil {
		challenge = ptr.Deref(req.Body.Challenge)
	}
	c, err := h.auth.StartPasskeySignIn(ctx, challenge)
	if err != nil {
		return nil, err
	}
	return api.StartPasskeySignIn200JSONResponse{PasskeyRequestOptionsJSONResponse: api.PasskeyRequestOptionsJSONResponse(toAPICeremony(c))}, nil
}

func (h authHandlers) FinishPasskeySignIn(ctx context.Context, req api.FinishPasskeySignInRequestObject) (api.FinishPasskeySignInResponseObject, error) {
	cred, err := json.Marshal(req.Body.Credential)
	if err != nil {
		return nil, err
	}
	t, err := h.auth.FinishPasskeySignIn(ctx, req.Body.Ceremony, cred, clientIP(ctx))
	if err != nil {
		h.metrics.LoginFailed(loginFailure(err))
		return nil, err
	}
	return api.FinishPasskeySignIn200JSONResponse{TokensJSONResponse: toAPITokens(t)}, nil
}

func (h userHandlers) ResetUserPasskeys(ctx context.Context, req api.ResetUserPasskeysRequestObject) (api.ResetUserPasskeysResponseObject, error) {
	if err := h.auth.ResetUserPasskeys(ctx, req.UserId); err != nil {
		return nil, err
	}
	return api.ResetUserPasskeys204Response{}, nil
}

func toAPICeremony(c auth.Ceremony) api.PasskeyCeremony {
	return api.PasskeyCeremony{Ceremony: c.Token, ExpiresAt: c.ExpiresAt, PublicKey: c.Options}
}

func toAPIPasskey(k auth.Passkey) api.Passkey {
	out := api.Passkey{Id: k.ID, Name: k.Name, CreatedAt: k.CreatedAt, CloneWarning: k.CloneWarning}
	if !k.LastUsedAt.IsZero() {
		out.LastUsedAt = &k.LastUsedAt
	}
	return out
}
