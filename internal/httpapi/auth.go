package httpapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/metrics"
	"github.com/alumnid/alumnid/internal/token"
)

// authHandlers implements signing in and out, the caller's account, invitations and the key set.
type authHandlers struct {
	auth    *auth.Service
	jwks    api.JWKSet
	metrics *metrics.Metrics
}

func newAuthHandlers(svc *auth.Service, keys *token.KeySet) (authHandlers, error) {
	raw, err := keys.JWKS()
	if err != nil {
		return authHandlers{}, fmt.Errorf("publish keys: %w", err)
	}
	h := authHandlers{auth: svc}
	if err := json.Unmarshal(raw, &h.jwks); err != nil {
		return authHandlers{}, fmt.Errorf("publish keys: %w", err)
	}
	return h, nil
}

func clientIP(ctx context.Context) string { return audit.ActorFrom(ctx).ClientIP }

func (h authHandlers) Login(ctx context.Context, req api.LoginRequestObject) (api.LoginResponseObject, error) {
	in, err := h.auth.Login(ctx, req.Body.Email, req.Body.Password, clientIP(ctx))
	if err != nil {
		h.metrics.LoginFailed(loginFailure(err))
		return nil, err
	}
	if c := in.Challenge; c != nil {
		factors := make([]api.LoginChallengeFactors, len(c.Factors))
		for i, f := range c.Factors {
			factors[i] = api.LoginChallengeFactors(f)
		}
		return api.Login202JSONResponse{Challenge: c.Token, Next: api.LoginChallengeNext(c.Next), ExpiresAt: c.ExpiresAt, Factors: &factors}, nil
	}
	return api.Login200JSONResponse{TokensJSONResponse: toAPITokens(in.Tokens)}, nil
}

func (h authHandlers) CompleteLogin(ctx context.Context, req api.CompleteLoginRequestObject) (api.CompleteLoginResponseObject, error) {
	t, err := h.auth.CompleteLogin(ctx, req.Body.Challenge, ptr.Deref(req.Body.Code), ptr.Deref(req.Body.RecoveryCode), clientIP(ctx))
	if err != nil {
		h.metrics.LoginFailed(loginFailure(err))
		return nil, err
	}
	return api.CompleteLogin200JSONResponse{TokensJSONResponse: toAPITokens(t)}, nil
}

func (h authHandlers) StartLoginTotpEnrolment(ctx context.Context, req api.StartLoginTotpEnrolmentRequestObject) (api.StartLoginTotpEnrolmentResponseObject, error) {
	e, err := h.auth.StartLoginEnrolment(ctx, req.Body.Challenge)
	if err != nil {
		return nil, err
	}
	return api.StartLoginTotpEnrolment200JSONResponse{TotpEnrolmentJSONResponse: toAPIEnrolment(e)}, nil
}

func (h authHandlers) GetTotp(ctx context.Context, _ api.GetTotpRequestObject) (api.GetTotpResponseObject, error) {
	st, err := h.auth.TOTPStatus(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	out := api.GetTotp200JSONResponse{Enabled: st.Enabled, RecoveryCodesLeft: st.RecoveryCodesLeft, Required: st.Required}
	if st.Enabled {
		out.EnabledAt = &st.EnabledAt
	}
	return out, nil
}

func (h authHandlers) StartTotpEnrolment(ctx context.Context, _ api.StartTotpEnrolmentRequestObject) (api.StartTotpEnrolmentResponseObject, error) {
	e, err := h.auth.StartTOTP(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	return api.StartTotpEnrolment200JSONResponse{TotpEnrolmentJSONResponse: toAPIEnrolment(e)}, nil
}

func (h authHandlers) ConfirmTotpEnrolment(ctx context.Context, req api.ConfirmTotpEnrolmentRequestObject) (api.ConfirmTotpEnrolmentResponseObject, error) {
	codes, err := h.auth.ConfirmTOTP(ctx, principal(ctx), req.Body.Code, clientIP(ctx))
	if err != nil {
		return nil, err
	}
	return api.ConfirmTotpEnrolment200JSONResponse{RecoveryCodes: codes}, nil
}

func (h authHandlers) DisableTotp(ctx context.Context, req api.DisableTotpRequestObject) (api.DisableTotpResponseObject, error) {
	if err := h.auth.DisableTOTP(ctx, principal(ctx), req.Body.Code, clientIP(ctx)); err != nil {
		return nil, err
	}
	return api.DisableTotp204Response{}, nil
}

func toAPIEnrolment(e auth.Enrolment) api.TotpEnrolmentJSONResponse {
	return api.TotpEnrolmentJSONResponse{Secret: e.Secret, OtpauthUri: e.URI}
}

func (h authHandlers) RefreshTokens(ctx context.Context, req api.RefreshTokensRequestObject) (api.RefreshTokensResponseObject, error) {
	t, err := h.auth.Refresh(ctx, req.Body.RefreshToken, clientIP(ctx))
	if err != nil {
		return nil, err
	}
	return api.RefreshTokens200JSONResponse{TokensJSONResponse: toAPITokens(t)}, nil
}

func (h authHandlers) Logout(ctx context.Context, _ api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	if err := h.auth.Logout(ctx, principal(ctx)); err != nil {
		return nil, err
	}
	return api.Logout204Response{}, nil
}

func (h authHandlers) GetMe(ctx context.Context, _ api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	p := principal(ctx)
	u, expires, err := h.auth.Me(ctx, p)
	if err != nil {
		return nil, err
	}
	return api.GetMe200JSONResponse{User: toAPIUser(u), SessionId: p.SessionID, SessionExpiresAt: expires}, nil
}

func (h authHandlers) ChangePassword(ctx context.Context, req api.ChangePasswordRequestObject) (api.ChangePasswordResponseObject, error) {
	if err := h.auth.ChangePassword(ctx, principal(ctx), req.Body.CurrentPassword, req.Body.NewPassword, clientIP(ctx)); err != nil {
		return nil, err
	}
	return api.ChangePassword204Response{}, nil
}

func (h authHandlers) CreateInvite(ctx context.Context, req api.CreateInviteRequestObject) (api.CreateInviteResponseObject, error) {
	email := ""
	if req.Body != nil && req.Body.Email != nil {
		email = string(*req.Body.Email)
	}
	inv, err := h.auth.CreateInvite(ctx, req.AlumnusId, email)
	if err != nil {
		return nil, err
	}
	return api.CreateInvite201JSONResponse{
		Id: inv.ID, AlumnusId: inv.AlumnusID, Email: api.Email(inv.Email), Token: inv.Token, ExpiresAt: inv.ExpiresAt,
	}, nil
}

func (h authHandlers) AcceptInvite(ctx context.Context, req api.AcceptInviteRequestObject) (api.AcceptInviteResponseObject, error) {
	t, err := h.auth.AcceptInvite(ctx, req.Body.Token, req.Body.Password, clientIP(ctx))
	if err != nil {
		return nil, err
	}
	return api.AcceptInvite200JSONResponse{TokensJSONResponse: toAPITokens(t)}, nil
}

func (h authHandlers) GetJwks(context.Context, api.GetJwksRequestObject) (api.GetJwksResponseObject, error) {
	return api.GetJwks200JSONResponse(h.jwks), nil
}

func toAPITokens(t auth.Tokens) api.TokensJSONResponse {
	out := api.TokensJSONResponse{
		AccessToken: t.AccessToken, TokenType: api.Bearer, ExpiresIn: int(t.ExpiresIn.Seconds()),
		RefreshToken: t.RefreshToken, RefreshExpiresAt: t.RefreshExpiresAt, User: toAPIUser(t.User),
	}
	if len(t.RecoveryCodes) > 0 {
		out.RecoveryCodes = &t.RecoveryCodes
	}
	return out
}

func toAPIUser(u auth.User) api.User {
	out := api.User{
		Id: u.ID, Email: api.Email(u.Email), Role: api.Role(u.Role), Enabled: u.Enabled,
		AlumnusId: ptr.NonZero(u.AlumnusID), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
	if !u.LastLoginAt.IsZero() {
		out.LastLoginAt = &u.LastLoginAt
	}
	return out
}

// loginFailure is the reason label of a refused sign-in.
func loginFailure(err error) string {
	switch derrors.KindOf(err) {
	case derrors.Unauthenticated:
		return "credentials"
	case derrors.Throttled:
		return "throttled"
	}
	return "other"
}
