package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/token"
)

const (
	loginTTL = 10 * time.Minute // from start to redeeming the ticket
	// iatLeeway is how far in the future an ID token's iat may be (clock drift); maxTokenAge
	// how old it may be: the token comes straight from the token endpoint.
	iatLeeway   = time.Minute
	maxTokenAge = 10 * time.Minute
	// CookieName is the cookie that binds a sign-in to the browser that started it.
	CookieName = "alumnid_sso"
)

// Service runs the sign-ins through the configured providers.
type Service struct {
	db        *sql.DB
	auth      *auth.Service
	log       *slog.Logger
	providers map[string]*provider
	order     []string
	publicURL string
	origins   []string // where a sign-in may return to, besides publicURL's origin
	client    *http.Client
	now       func() time.Time
}

type provider struct {
	cfg ProviderConfig
	mu  sync.Mutex
	op  *oidc.Provider // discovered at first use
}

// Config is what the Service needs besides the providers.
type Config struct {
	// PublicURL is where browsers reach this service (https://alumni.example.edu); the
	// providers send them back to PublicURL/api/v1/auth/sso/{id}/callback.
	PublicURL string
	// ReturnOrigins are the app origins a sign-in may return to (ALUMNI_ALLOWED_ORIGINS),
	// besides PublicURL's.
	ReturnOrigins []string
	// HTTPClient talks to the providers (nil: a client with a 10-second timeout).
	HTTPClient *http.Client
}

// New returns a Service for providers on sqlDB, handing identities to accounts.
func New(sqlDB *sql.DB, accounts *auth.Service, providers []ProviderConfig, cfg Config, log *slog.Logger) *Service {
	s := &Service{db: sqlDB, auth: accounts, log: log, providers: map[string]*provider{},
		publicURL: strings.TrimRight(cfg.PublicURL, "/"), origins: cfg.ReturnOrigins, client: cfg.HTTPClient, now: time.Now}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	for _, p := range providers {
		s.providers[p.ID] = &provider{cfg: p}
		s.order = append(s.order, p.ID)
	}
	return s
}

// Provider is a provider as the API lists it.
type Provider struct{ ID, Name string }

// Providers returns the configured providers in configuration order.
func (s *Service) Providers() []Provider {
	out := make([]Provider, 0, len(s.order))
	for _, id := range s.order {
		p := s.providers[id].cfg
		out = append(out, Provider{ID: p.ID, Name: p.Name})
	}
	return out
}

var (
	errUnknownProvider = derrors.New(derrors.NotFound, "No identity provider with this id is configured.")
	errBadState        = derrors.New(derrors.Unauthenticated, "This sign-in is unknown, expired, already used or was started in another browser; start again.")
	errRefused         = derrors.New(derrors.Unauthenticated, "The identity provider did not sign you in; start again.")
	errBadToken        = derrors.New(derrors.Unauthenticated, "The identity provider's answer could not be verified; start again.")
	errBadTicket       = derrors.New(derrors.Unauthenticated, "The sign-in ticket is unknown, expired or already used; start again.")
	errTooWeak         = derrors.New(derrors.Forbidden, "The identity provider did not report the sign-in this service requires (a second factor, or a recent sign-in); sign in there again with it.")
	// errStrength marks a verified token whose acr, amr or auth_time falls short.
	errStrength = errors.New("sign-in strength")
	errReturnTo = derrors.New(derrors.Invalid, "returnTo must be an address of this service or of an allowed app origin.",
		derrors.FieldError{Field: "returnTo", Message: "is not an allowed origin"})
)

func (s *Service) redirectURI(id string) string {
	return s.publicURL + "/api/v1/auth/sso/" + id + "/callback"
}

func (s *Service) clientCtx(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, s.client)
	return context.WithValue(ctx, oauth2.HTTPClient, s.client)
}

// discover returns the provider id's OpenID configuration, read once.
func (s *Service) discover(ctx context.Context, id string) (*provider, *oidc.Provider, error) {
	p, ok := s.providers[id]
	if !ok {
		return nil, nil, errUnknownProvider
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op == nil {
		// Discovery outlives the request: the key set it holds is reused by later ones.
		op, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), s.client), p.cfg.Issuer)
		if err != nil {
			s.log.WarnContext(ctx, "OIDC discovery failed", slog.String("provider", id), slog.String("error", err.Error()))
			return nil, nil, &derrors.Error{Kind: derrors.Unavailable, Detail: "The identity provider cannot be reached; try again shortly.", RetryAfter: 5 * time.Second}
		}
		p.op = op
	}
	return p, p.op, nil
}

func (p *provider) oauth2(op *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: redirectURI, Scopes: append([]string{oidc.ScopeOpenID}, p.cfg.Scopes...)}
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkReturnTo returns returnTo when it is an absolute http(s) address on this service's
// origin or an allowed app origin.
func (s *Service) checkReturnTo(returnTo string) (string, error) {
	u, err := url.Parse(returnTo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(returnTo) > 2000 {
		return "", errReturnTo
	}
	origin := u.Scheme + "://" + u.Host
	if pu, err := url.Parse(s.publicURL); err == nil && pu.Scheme+"://"+pu.Host == origin {
		return returnTo, nil
	}
	for _, o := range s.origins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return returnTo, nil
		}
	}
	return "", errReturnTo
}

// Started is where to send the browser to sign in, and the cookie that binds the sign-in to it.
type Started struct {
	URL     string
	Binding string
}

// Start begins a sign-in through provider id that ends at returnTo: it stores the state,
// nonce and PKCE verifier and returns the provider's authorization URL. It returns NotFound
// for an unknown provider, Invalid for a returnTo elsewhere, Unavailable when the provider
// cannot be reached.
func (s *Service) Start(ctx context.Context, id, returnTo string) (_ Started, err error) {
	defer database.ClassifyErr(&err)
	p, op, err := s.discover(ctx, id)
	if err != nil {
		return Started{}, err
	}
	if returnTo, err = s.checkReturnTo(returnTo); err != nil {
		return Started{}, err
	}
	state, nonce, binding, verifier := random(), random(), random(), oauth2.GenerateVerifier()
	now := s.now().UTC().Truncate(time.Microsecond)
	err = db.New(s.db).CreateSSOLogin(ctx, db.CreateSSOLoginParams{
		StateHash: token.HashOpaque(state), BindingHash: token.HashOpaque(binding), Provider: id, Nonce: nonce,
		Verifier: verifier, ReturnTo: returnTo, CreatedAt: now, ExpiresAt: now.Add(loginTTL),
	})
	if err != nil {
		return Started{}, fmt.Errorf("store sign-in: %w", err)
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if len(p.cfg.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(p.cfg.ACRValues, " ")))
	}
	if p.cfg.MaxAge > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.Itoa(p.cfg.MaxAge)))
	}
	u := p.oauth2(op, s.redirectURI(id)).AuthCodeURL(state, opts...)
	return Started{URL: u, Binding: binding}, nil
}

// Callback is the provider's answer to a sign-in: it spends the state (once, from the browser
// that started it), exchanges the code with the PKCE verifier, verifies the ID token in full
// and resolves the user (auth.ResolveExternal). It returns the address to send the browser
// back to, with a one-time ticket in its fragment for the app to redeem. Every failure of the
// protocol is Unauthenticated; auth's refusals (Forbidden, Conflict) pass through.
func (s *Service) Callback(ctx context.Context, id, code, state, providerError, binding string) (_ string, err error) {
	defer database.ClassifyErr(&err)
	p, op, err := s.discover(ctx, id)
	if err != nil {
		return "", err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	defer func() {
		// Protocol failures go to the audit trail with the provider and the reason (never a
		// code, state, token or cookie); refusals of the person (auth.ResolveExternal) are
		// audited there.
		if reason, ok := protocolFailure(err, providerError); ok {
			s.audit(ctx, id, reason, now)
		}
	}()
	var login db.SsoLogin
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetSSOLoginByStateForUpdate(ctx, token.HashOpaque(state))
		if errors.Is(err, sql.ErrNoRows) {
			return errBadState
		}
		if err != nil {
			return fmt.Errorf("find sign-in: %w", err)
		}
		if row.Provider != id || !now.Before(row.ExpiresAt) || row.CalledBackAt != nil ||
			subtle.ConstantTimeCompare(row.BindingHash, token.HashOpaque(binding)) != 1 {
			return errBadState
		}
		if n, err := q.SetSSOLoginCalledBack(ctx, db.SetSSOLoginCalledBackParams{CalledBackAt: &now, ID: row.ID}); err != nil || n != 1 {
			if err != nil {
				return fmt.Errorf("spend sign-in: %w", err)
			}
			return errBadState
		}
		login = row
		return nil
	})
	if err != nil {
		return "", err
	}
	if providerError != "" || code == "" {
		return "", errRefused
	}
	cctx := s.clientCtx(ctx)
	tok, err := p.oauth2(op, s.redirectURI(id)).Exchange(cctx, code, oauth2.VerifierOption(login.Verifier))
	if err != nil {
		s.log.InfoContext(ctx, "OIDC code exchange refused", slog.String("provider", id), slog.String("error", err.Error()))
		return "", &failure{errRefused, "code exchange refused by the provider"}
	}
	raw, _ := tok.Extra("id_token").(string)
	ident, err := s.verify(cctx, p, op, raw, login.Nonce)
	if err != nil {
		s.log.InfoContext(ctx, "OIDC ID token refused", slog.String("provider", id), slog.String("error", err.Error()))
		if errors.Is(err, errStrength) {
			return "", &failure{errTooWeak, err.Error()}
		}
		return "", &failure{errBadToken, "ID token: " + err.Error()}
	}
	userKey, err := s.auth.ResolveExternal(ctx, ident)
	if err != nil {
		return "", err
	}
	ticket, hash := token.NewOpaque()
	if err := db.New(s.db).SetSSOLoginTicket(ctx, db.SetSSOLoginTicketParams{UserID: &userKey, TicketHash: binaryArg(hash), ID: login.ID}); err != nil {
		return "", fmt.Errorf("store ticket: %w", err)
	}
	return login.ReturnTo + "#ssoTicket=" + url.QueryEscape(ticket), nil
}

// failure is a protocol failure of a callback: what the caller gets, and the reason the audit
// trail gets (no secret in it).
type failure struct {
	err    error
	reason string
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// protocolFailure returns the audit reason of err, a Callback's failure, when it is one of the
// protocol's (not of auth's, which audits its own, nor of the database).
func protocolFailure(err error, providerError string) (string, bool) {
	var f *failure
	switch {
	case err == nil:
		return "", false
	case errors.As(err, &f):
		return f.reason, true
	case errors.Is(err, errBadState):
		return "state unknown, expired, used, of another provider or started in another browser", true
	case errors.Is(err, errRefused) && providerError != "":
		return "the provider answered error " + strconv.Quote(truncate(providerError, 64)), true
	case errors.Is(err, errRefused):
		return "the provider's answer has no code", true
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// audit records a refused sign-in through provider id with reason; a failure to record is
// logged (the refusal stands).
func (s *Service) audit(ctx context.Context, id, reason string, now time.Time) {
	err := audit.Record(ctx, db.New(s.db), audit.Event{Action: "session.login_failed", EntityType: "user",
		Changes: []audit.Change{{Field: "provider", After: id}, {Field: "reason", After: truncate(reason, 300)}}}, now)
	if err != nil {
		s.log.WarnContext(ctx, "audit of a refused single sign-on failed", slog.String("error", err.Error()))
	}
}

// binaryArg passes a hash to a nullable BINARY column (sqlc types those as sql.NullString).
func binaryArg(b []byte) sql.NullString { return sql.NullString{String: string(b), Valid: true} }

// idClaims are the claims read besides those go-oidc checks.
type idClaims struct {
	AuthorizedParty string   `json:"azp"`
	Email           string   `json:"email"`
	EmailVerified   *bool    `json:"email_verified"`
	ACR             string   `json:"acr"`
	AMR             []string `json:"amr"`
	AuthTime        int64    `json:"auth_time"`
}

// strength checks the sign-in's strength the provider reports (ASVS V6.8.4) against what p
// requires: an amr method, an acr value, an auth_time recent enough. Its errors wrap errStrength.
func (p *provider) strength(c idClaims, now time.Time) error {
	if want := p.cfg.RequireAMR; len(want) > 0 && !slices.ContainsFunc(c.AMR, func(m string) bool { return slices.Contains(want, m) }) {
		return fmt.Errorf("%w: amr %q has none of %q", errStrength, c.AMR, want)
	}
	if want := p.cfg.ACRValues; len(want) > 0 && !slices.Contains(want, c.ACR) {
		return fmt.Errorf("%w: acr %q is none of %q", errStrength, c.ACR, want)
	}
	if p.cfg.MaxAge > 0 {
		if c.AuthTime == 0 {
			return fmt.Errorf("%w: no auth_time", errStrength)
		}
		if at := time.Unix(c.AuthTime, 0); now.Sub(at) > time.Duration(p.cfg.MaxAge)*time.Second+iatLeeway {
			return fmt.Errorf("%w: auth_time %s is more than %d seconds ago", errStrength, at.UTC().Format(time.RFC3339), p.cfg.MaxAge)
		}
	}
	return nil
}

// verify checks raw, an ID token of provider p, in full: signature against the provider's
// published keys, iss, aud, exp (go-oidc), then azp, iat, sub and nonce. It returns the
// identity it vouches for, with the role its groups give.
func (s *Service) verify(ctx context.Context, p *provider, op *oidc.Provider, raw, nonce string) (auth.ExternalIdentity, error) {
	if raw == "" {
		return auth.ExternalIdentity{}, errors.New("no id_token in the token response")
	}
	now := s.now()
	idt, err := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: s.now}).Verify(ctx, raw)
	if err != nil {
		return auth.ExternalIdentity{}, err
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return auth.ExternalIdentity{}, err
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1:
		return auth.ExternalIdentity{}, errors.New("nonce does not match the sign-in")
	case len(idt.Audience) > 1 && c.AuthorizedParty == "":
		return auth.ExternalIdentity{}, errors.New("several audiences and no azp")
	case c.AuthorizedParty != "" && c.AuthorizedParty != p.cfg.ClientID:
		return auth.ExternalIdentity{}, fmt.Errorf("azp %q is not this client", c.AuthorizedParty)
	case idt.IssuedAt.IsZero() || idt.IssuedAt.After(now.Add(iatLeeway)) || idt.IssuedAt.Before(now.Add(-maxTokenAge)):
		return auth.ExternalIdentity{}, fmt.Errorf("iat %v is not about now", idt.IssuedAt)
	case idt.Subject == "":
		return auth.ExternalIdentity{}, errors.New("no sub")
	}
	if err := p.strength(c, now); err != nil {
		return auth.ExternalIdentity{}, err
	}
	groups, err := groupsClaim(idt, p.cfg.GroupsClaim)
	if err != nil {
		return auth.ExternalIdentity{}, err
	}
	ident := auth.ExternalIdentity{Provider: p.cfg.ID, Issuer: idt.Issuer, Subject: idt.Subject,
		Role: p.cfg.role(groups), Provision: p.cfg.Provision}
	if c.EmailVerified != nil && *c.EmailVerified {
		ident.Email = c.Email
	}
	return ident, nil
}

// groupsClaim reads the claim name of idt as a list of strings (a single string is a list of
// one; no claim is no groups).
func groupsClaim(idt *oidc.IDToken, name string) ([]string, error) {
	var all map[string]json.RawMessage
	if err := idt.Claims(&all); err != nil {
		return nil, err
	}
	raw, ok := all[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("claim %s is neither a string nor a list of strings", name)
	}
	return []string{one}, nil
}

// Redeem exchanges a ticket from Callback for the session's tokens, once.
func (s *Service) Redeem(ctx context.Context, ticket, clientIP string) (_ auth.Tokens, err error) {
	defer database.ClassifyErr(&err)
	now := s.now().UTC().Truncate(time.Microsecond)
	q := db.New(s.db)
	row, err := q.GetSSOLoginByTicket(ctx, db.GetSSOLoginByTicketParams{TicketHash: binaryArg(token.HashOpaque(ticket)), ExpiresAt: now})
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Tokens{}, errBadTicket
	}
	if err != nil {
		return auth.Tokens{}, fmt.Errorf("find ticket: %w", err)
	}
	if n, err := q.RedeemSSOLogin(ctx, db.RedeemSSOLoginParams{RedeemedAt: &now, ID: row.ID}); err != nil || n != 1 || row.UserID == nil {
		if err != nil {
			return auth.Tokens{}, fmt.Errorf("redeem ticket: %w", err)
		}
		return auth.Tokens{}, errBadTicket
	}
	return s.auth.OpenExternalSession(ctx, *row.UserID, row.Provider, clientIP)
}
