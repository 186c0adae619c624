package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// A sign-in returns well-formed tokens; the access token is an RFC 9068 JWT signed with the
// key the JWKS publishes, and it opens the caller's own account.
func TestAuthLogin(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")

	resp := s.Anon.Post("/api/v1/auth/login", map[string]string{"email": email, "password": apitest.TestPassword})
	if resp.Status != http.StatusOK {
		t.Fatalf("login: %d %s", resp.Status, resp.Body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("tokens must not be cached: Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	var tok api.Tokens
	resp.JSON(t, &tok)
	if tok.TokenType != api.Bearer || tok.ExpiresIn != 900 || tok.AccessToken == "" {
		t.Errorf("tokens: type %q, expiresIn %d", tok.TokenType, tok.ExpiresIn)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(tok.RefreshToken); err != nil || len(raw) != 32 {
		t.Errorf("refresh token %q is not 256 random bits in base64url", tok.RefreshToken)
	}
	if tok.User.Email != api.Email(email) || tok.User.Role != api.Role(auth.RoleStaff) || !tok.User.Enabled || tok.User.LastLoginAt == nil {
		t.Errorf("user: %+v", tok.User)
	}
	if d := time.Until(tok.RefreshExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("refreshExpiresAt %v is not about the default 24 idle hours away", tok.RefreshExpiresAt)
	}

	// The token opens the caller's account.
	c := s.Anon.WithToken(tok.AccessToken)
	me := c.Get("/api/v1/auth/me", nil)
	if me.Status != http.StatusOK {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	var m api.Me
	me.JSON(t, &m)
	if m.User.Id != tok.User.Id || m.User.Email != api.Email(email) {
		t.Errorf("me is %+v, want the signed-in user %s", m.User, tok.User.Id)
	}

	// The published key set lists our public key, and only its public part.
	jwks := s.Anon.Get("/.well-known/jwks.json", nil)
	if jwks.Status != http.StatusOK {
		t.Fatalf("jwks: %d %s", jwks.Status, jwks.Body)
	}
	var set api.JWKSet
	jwks.JSON(t, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("jwks lists %d keys, want 1: %s", len(set.Keys), jwks.Body)
	}
	k := set.Keys[0]
	pub := base64.RawURLEncoding.EncodeToString(testSigningKey(t).Public().(ed25519.PublicKey))
	if k.Kty != "OKP" || k.Crv == nil || *k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.X == nil || *k.X != pub || k.Kid == "" {
		t.Errorf("jwk %s does not describe our Ed25519 key %s", jwks.Body, pub)
	}
	var rawSet struct{ Keys []map[string]any }
	jwks.JSON(t, &rawSet)
	if _, leaked := rawSet.Keys[0]["d"]; leaked {
		t.Fatalf("the JWKS publishes the private key: %s", jwks.Body)
	}

	header, claims := jwtSegments(t, tok.AccessToken)
	wantHeader := map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": k.Kid}
	if diff := cmp.Diff(wantHeader, header); diff != "" {
		t.Errorf("access token header (-want +got):\n%s", diff)
	}
	for _, name := range []string{"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid", "role"} {
		if v, ok := claims[name]; !ok || v == "" {
			t.Errorf("claim %s missing: %v", name, claims)
		}
	}
	checks := map[string][2]any{
		"iss":     {claims["iss"], apitest.Issuer},
		"aud":     {claims["aud"], apitest.Audience},
		"sub":     {claims["sub"], tok.User.Id},
		"sid":     {claims["sid"], m.SessionId},
		"role":    {claims["role"], "staff"},
		"exp-iat": {numericClaim(t, claims, "exp") - numericClaim(t, claims, "iat"), int64(900)},
		"nbf":     {numericClaim(t, claims, "nbf"), numericClaim(t, claims, "iat")},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}

	// A second sign-in is a second session with its own token id.
	_, again := s.Login(t, email, apitest.TestPassword)
	_, claims2 := jwtSegments(t, again.AccessToken)
	if claims2["jti"] == claims["jti"] || claims2["sid"] == claims["sid"] || again.RefreshToken == tok.RefreshToken {
		t.Errorf("two sign-ins share jti, sid or refresh token")
	}
	if strings.Contains(s.Logs(), tok.RefreshToken) || strings.Contains(s.Logs(), tok.AccessToken) {
		t.Errorf("the logs contain a token")
	}
}

// An unknown email, a wrong password and a disabled account cannot be told apart by the
// answer: same status, same headers, same body except the request id.
func TestAuthLoginFailuresLookAlike(t *testing.T) {
	s := newServer(t)
	known := s.CreateUser(t, auth.RoleStaff, "")
	disabled := s.CreateUser(t, auth.RoleViewer, "")
	_, tok := s.Login(t, disabled, apitest.TestPassword)
	if r := authPatchUser(t, s, tok.User.Id, map[string]any{"enabled": false}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}

	attempts := []struct{ name, email, password string }{
		{"unknown email", "nobody.at.all@users.example.org", apitest.TestPassword},
		{"wrong password", known, "not the password, clearly"},
		{"disabled user, right password", disabled, apitest.TestPassword},
	}
	type answer struct {
		header http.Header
		body   map[string]any
	}
	var answers []answer
	for _, a := range attempts {
		resp := s.Anon.Post("/api/v1/auth/login", map[string]string{"email": a.email, "password": a.password})
		p := assertProblem(t, resp, http.StatusUnauthorized, "")
		if p.Type != "https://alumnid.dev/problems/unauthorized" {
			t.Errorf("%s: problem type %s", a.name, p.Type)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="alumnid"` {
			t.Errorf("%s: WWW-Authenticate = %q", a.name, got)
		}
		h := resp.Header.Clone()
		h.Del("Date")
		h.Del("X-Request-Id")
		var body map[string]any
		resp.JSON(t, &body)
		delete(body, "requestId")
		answers = append(answers, answer{h, body})
	}
	for i := 1; i < len(answers); i++ {
		if diff := cmp.Diff(answers[0].header, answers[i].header); diff != "" {
			t.Errorf("headers of %q and %q differ (-%s +%s):\n%s", attempts[0].name, attempts[i].name, attempts[0].name, attempts[i].name, diff)
		}
		if diff := cmp.Diff(answers[0].body, answers[i].body); diff != "" {
			t.Errorf("bodies of %q and %q differ:\n%s", attempts[0].name, attempts[i].name, diff)
		}
	}
}

// Every token the service did not issue for a live session is refused with the same generic
// 401; a hand-made token with the right claims and key is accepted, which shows that each
// refusal is for the one thing the case changes.
func TestAuthRejectedTokens(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	_, tok := s.Login(t, email, apitest.TestPassword)
	_, other := s.Login(t, s.CreateUser(t, auth.RoleAdmin, ""), apitest.TestPassword)
	_, otherClaims := jwtSegments(t, other.AccessToken)

	key := testSigningKey(t)
	_, attacker, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hdr, claims := jwtSegments(t, tok.AccessToken)
	now := time.Now().Unix()
	ours := edSigner(key)
	pub := key.Public().(ed25519.PublicKey)
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	attackerJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(attacker.Public().(ed25519.PublicKey))}
	segs := strings.Split(tok.AccessToken, ".")
	tampered := segs[0] + "." + jwsSegment(t, withMembers(claims, "role", "admin")) + "." + segs[2]

	// Positive controls: the crafting below is right.
	for name, authz := range map[string]string{
		"hand-made token":               "Bearer " + craftJWS(t, hdr, claims, ours),
		"typ application/at+jwt":        "Bearer " + craftJWS(t, withMembers(hdr, "typ", "application/at+jwt"), claims, ours),
		"lower-case scheme":             "bearer " + tok.AccessToken,
		"token as issued, to compare":   "Bearer " + tok.AccessToken,
		"fresh iat and exp, same sid":   "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now, "nbf", now, "exp", now+60), ours),
		"aud as an array containing":    "Bearer " + craftJWS(t, hdr, withMembers(claims, "aud", []string{"someone-else", apitest.Audience}), ours),
		"no nbf (it is optional here)":  "Bearer " + craftJWS(t, hdr, withMembers(claims, "nbf", nil), ours),
		"lifetime as configured (15 m)": "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now, "nbf", now, "exp", now+15*60), ours),
	} {
		if r := s.Anon.Get("/api/v1/auth/me", map[string]string{"Authorization": authz}); r.Status != http.StatusOK {
			t.Fatalf("control %q: %d %s", name, r.Status, r.Body)
		}
	}

	tests := []struct{ name, authorization string }{
		{"no Authorization header", ""},
		{"Basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+apitest.TestPassword))},
		{"token without scheme", tok.AccessToken},
		{"Bearer without token", "Bearer "},
		{"garbage", "Bearer garbage"},
		{"three garbage segments", "Bearer a.b.c"},
		{"JSON serialization", "Bearer " + `{"payload":"e30","signatures":[]}`},
		{"alg none", "Bearer " + craftJWS(t, withMembers(hdr, "alg", "none"), claims, func([]byte) []byte { return nil })},
		{"alg none with our signature", "Bearer " + craftJWS(t, withMembers(hdr, "alg", "none"), claims, ours)},
		{"HS256 keyed with the public key", "Bearer " + craftJWS(t, withMembers(hdr, "alg", "HS256"), claims, hsSigner(pub))},
		{"HS256 keyed with the public key PEM", "Bearer " + craftJWS(t, withMembers(hdr, "alg", "HS256"), claims, hsSigner(pubPEM))},
		{"foreign key with our kid", "Bearer " + craftJWS(t, hdr, claims, edSigner(attacker))},
		{"unknown kid", "Bearer " + craftJWS(t, withMembers(hdr, "kid", "not-our-key"), claims, ours)},
		{"no kid", "Bearer " + craftJWS(t, withMembers(hdr, "kid", nil), claims, ours)},
		{"embedded jwk, foreign key", "Bearer " + craftJWS(t, withMembers(hdr, "jwk", attackerJWK), claims, edSigner(attacker))},
		{"embedded jwk, our key", "Bearer " + craftJWS(t, withMembers(hdr, "jwk", attackerJWK), claims, ours)},
		{"jku header", "Bearer " + craftJWS(t, withMembers(hdr, "jku", "https://evil.example.com/jwks.json"), claims, ours)},
		{"wrong iss", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iss", "someone-else"), ours)},
		{"wrong aud", "Bearer " + craftJWS(t, hdr, withMembers(claims, "aud", "someone-else"), ours)},
		{"typ JWT", "Bearer " + craftJWS(t, withMembers(hdr, "typ", "JWT"), claims, ours)},
		{"no typ", "Bearer " + craftJWS(t, withMembers(hdr, "typ", nil), claims, ours)},
		{"expired", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now-7200, "nbf", now-7200, "exp", now-3600), ours)},
		{"nbf in the future", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now, "nbf", now+3600, "exp", now+7200), ours)},
		{"iat in the future", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now+3600, "nbf", nil, "exp", now+7200), ours)},
		{"no exp", "Bearer " + craftJWS(t, hdr, withMembers(claims, "exp", nil), ours)},
		{"lifetime of ten years", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now, "nbf", now, "exp", now+10*365*24*3600), ours)},
		{"lifetime a second over the configured", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now, "nbf", now, "exp", now+15*60+1), ours)},
		{"old iat stretching the lifetime", "Bearer " + craftJWS(t, hdr, withMembers(claims, "iat", now-3600, "nbf", nil, "exp", now+60), ours)},
		{"role escalated, signed", "Bearer " + craftJWS(t, hdr, withMembers(claims, "role", "admin"), ours)},
		{"role escalated, signature kept", "Bearer " + tampered},
		{"another user's session", "Bearer " + craftJWS(t, hdr, withMembers(claims, "sid", otherClaims["sid"]), ours)},
		{"session that does not exist", "Bearer " + apitest.SignedToken(t, "01JD3M5X7V8Q9R2S4T6W8Y0Z1D", "staff", time.Minute)},
	}
	var first *api.Problem
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.authorization != "" {
				h["Authorization"] = tt.authorization
			}
			resp := s.Anon.Get("/api/v1/auth/me", h)
			p := assertProblem(t, resp, http.StatusUnauthorized, "")
			if resp.Header.Get("WWW-Authenticate") != `Bearer realm="alumnid"` {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
			if first == nil {
				first = &p
				return
			}
			if p.Type != first.Type || p.Title != first.Title || *p.Detail != *first.Detail || p.Errors != nil {
				t.Errorf("problem %+v differs from the first refusal %+v", p, *first)
			}
		})
	}
	if first != nil && *first.Detail != "Sign in to use this operation." {
		t.Errorf("the refusal says %q", *first.Detail)
	}
	if !strings.Contains(s.Logs(), "token refused") {
		t.Error("refused tokens are not logged for operators")
	}
}

// A refresh token works once. Using one again ends its session: every token of the session
// stops working, the reuse is logged and audited.
func TestAuthRefreshRotation(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c1, first := s.Login(t, email, apitest.TestPassword)
	_, claims := jwtSegments(t, first.AccessToken)

	resp := authRefresh(s.Anon, first.RefreshToken)
	if resp.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.Status, resp.Body)
	}
	var second api.Tokens
	resp.JSON(t, &second)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || second.User.Id != first.User.Id {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	_, claims2 := jwtSegments(t, second.AccessToken)
	if claims2["sid"] != claims["sid"] {
		t.Errorf("refresh changed the session: %v -> %v", claims["sid"], claims2["sid"])
	}
	c2 := s.Anon.WithToken(second.AccessToken)
	for _, c := range []*apitest.Client{c1, c2} {
		if r := c.Get("/api/v1/auth/me", nil); r.Status != http.StatusOK {
			t.Fatalf("before reuse: %d %s", r.Status, r.Body)
		}
	}
	// The third generation, so that "newest" is not the one the thief would have.
	resp = authRefresh(s.Anon, second.RefreshToken)
	if resp.Status != http.StatusOK {
		t.Fatalf("second refresh: %d %s", resp.Status, resp.Body)
	}
	var third api.Tokens
	resp.JSON(t, &third)
	c3 := s.Anon.WithToken(third.AccessToken)

	// The first refresh token again: refused, and the session is over for everyone.
	assertProblem(t, authRefresh(s.Anon, first.RefreshToken), http.StatusUnauthorized, "")
	for name, c := range map[string]*apitest.Client{"first": c1, "second": c2, "newest": c3} {
		t.Run(name+" access token after reuse", func(t *testing.T) {
			assertProblem(t, c.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
		})
	}
	assertProblem(t, authRefresh(s.Anon, third.RefreshToken), http.StatusUnauthorized, "")
	// Reusing it once more stays refused (and does not fail differently).
	assertProblem(t, authRefresh(s.Anon, first.RefreshToken), http.StatusUnauthorized, "")

	// The reuse is audited once, naming the session and its user (the API's view of the trail
	// is checked in TestAuthRefreshReuseInAuditTrail).
	var n int
	var actor string
	err := s.DB.QueryRowContext(context.Background(),
		"SELECT COUNT(*), COALESCE(MAX(actor_id), '') FROM audit_events WHERE action = 'session.refresh_reuse' AND entity_type = 'session' AND entity_id = ?",
		claims["sid"]).Scan(&n, &actor)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || actor != first.User.Id {
		t.Errorf("%d session.refresh_reuse events for the session by %q, want 1 by %s", n, actor, first.User.Id)
	}
	logs := s.Logs()
	if !strings.Contains(logs, "refresh token reused") {
		t.Error(`the logs lack "refresh token reused"`)
	}
	for _, secret := range []string{first.RefreshToken, second.RefreshToken, third.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Error("the logs contain a refresh token")
		}
	}

	tests := []struct{ name, token string }{
		{"unknown", "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE"},
		{"an access token", second.AccessToken[:min(200, len(second.AccessToken))]},
		{"one character off", third.RefreshToken[:len(third.RefreshToken)-1] + "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, authRefresh(s.Anon, tt.token), http.StatusUnauthorized, "")
		})
	}
}

// An admin finds a refresh-token reuse in the audit trail, from a session of its own.
func TestAuthRefreshReuseInAuditTrail(t *testing.T) {
	s := newServer(t)
	_, tok := s.Login(t, s.CreateUser(t, auth.RoleViewer, ""), apitest.TestPassword)
	_, claims := jwtSegments(t, tok.AccessToken)
	if r := authRefresh(s.Anon, tok.RefreshToken); r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	assertProblem(t, authRefresh(s.Anon, tok.RefreshToken), http.StatusUnauthorized, "")

	events := s.Client.Get("/api/v1/audit-events?action=session.refresh_reuse", nil)
	if events.Status != http.StatusOK {
		t.Fatalf("audit: %d %s\n%s", events.Status, events.Body, failureLines(s.Logs()))
	}
	var page api.AuditEventPage
	events.JSON(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("%d refresh_reuse events, want 1: %s", len(page.Items), events.Body)
	}
	ev := page.Items[0]
	if ev.EntityType != "session" || ev.EntityId == nil || *ev.EntityId != claims["sid"] || ev.Actor == nil || ev.Actor.Id != tok.User.Id {
		t.Errorf("audit event %s does not name the session %v and its user %s", events.Body, claims["sid"], tok.User.Id)
	}
}

// A session ends after its idle time without a refresh and after its absolute lifetime; past
// the absolute end even the access token is refused.
func TestAuthRefreshExpiry(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")

	t.Run("idle", func(t *testing.T) {
		_, tok := s.Login(t, email, apitest.TestPassword)
		authSetSession(t, s, tok.AccessToken, "idle_expires_at = NOW(6) - INTERVAL 1 SECOND")
		assertProblem(t, authRefresh(s.Anon, tok.RefreshToken), http.StatusUnauthorized, "")
	})
	t.Run("absolute", func(t *testing.T) {
		c, tok := s.Login(t, email, apitest.TestPassword)
		authSetSession(t, s, tok.AccessToken, "expires_at = NOW(6) - INTERVAL 1 SECOND")
		assertProblem(t, authRefresh(s.Anon, tok.RefreshToken), http.StatusUnauthorized, "")
		assertProblem(t, c.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
	})
	t.Run("idle end never passes the absolute end", func(t *testing.T) {
		_, tok := s.Login(t, email, apitest.TestPassword)
		authSetSession(t, s, tok.AccessToken, "expires_at = NOW(6) + INTERVAL 1 HOUR")
		resp := authRefresh(s.Anon, tok.RefreshToken)
		if resp.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", resp.Status, resp.Body)
		}
		var next api.Tokens
		resp.JSON(t, &next)
		if d := time.Until(next.RefreshExpiresAt); d > time.Hour+time.Minute {
			t.Errorf("refreshExpiresAt is %v away, past the session's end in 1h", d)
		}
	})
}

// The lifetimes come from the settings, changed at run time.
func TestAuthLifetimesFollowSettings(t *testing.T) {
	s := newServer(t)
	get := s.Client.Get("/api/v1/settings", nil)
	if get.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", get.Status, get.Body)
	}
	var st api.Settings
	get.JSON(t, &st)
	st.AccessTokenMinutes, st.RefreshIdleHours, st.RefreshAbsoluteDays = 5, 2, 1
	if r := s.Client.Do(apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Body: st,
		Header: map[string]string{"If-Match": get.Header.Get("ETag")}}); r.Status != http.StatusOK {
		t.Fatalf("put settings: %d %s", r.Status, r.Body)
	}

	c, tok := s.Login(t, s.CreateUser(t, auth.RoleViewer, ""), apitest.TestPassword)
	_, claims := jwtSegments(t, tok.AccessToken)
	if tok.ExpiresIn != 300 || numericClaim(t, claims, "exp")-numericClaim(t, claims, "iat") != 300 {
		t.Errorf("expiresIn %d, exp-iat %d; want 300", tok.ExpiresIn, numericClaim(t, claims, "exp")-numericClaim(t, claims, "iat"))
	}
	if d := time.Until(tok.RefreshExpiresAt); d < time.Hour+50*time.Minute || d > 2*time.Hour+time.Minute {
		t.Errorf("refreshExpiresAt %v away, want about 2h", d)
	}
	var m api.Me
	c.Get("/api/v1/auth/me", nil).JSON(t, &m)
	if d := time.Until(m.SessionExpiresAt); d < 23*time.Hour || d > 24*time.Hour+time.Minute {
		t.Errorf("sessionExpiresAt %v away, want about 1 day", d)
	}
}

// Signing out ends the session at once: its access and refresh tokens stop working.
func TestAuthLogout(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleViewer, "")
	c, tok := s.Login(t, email, apitest.TestPassword)
	other, _ := s.Login(t, email, apitest.TestPassword)

	resp := c.Post("/api/v1/auth/logout", nil)
	if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
		t.Fatalf("logout: %d %s", resp.Status, resp.Body)
	}
	assertProblem(t, c.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
	assertProblem(t, authRefresh(s.Anon, tok.RefreshToken), http.StatusUnauthorized, "")
	assertProblem(t, c.Post("/api/v1/auth/logout", nil), http.StatusUnauthorized, "")
	assertProblem(t, s.Anon.Post("/api/v1/auth/logout", nil), http.StatusUnauthorized, "")
	// Only that session: the user's other session goes on.
	if r := other.Get("/api/v1/auth/me", nil); r.Status != http.StatusOK {
		t.Errorf("other session after logout: %d %s", r.Status, r.Body)
	}
}

// Changing the password needs the current one and a strong new one; it ends every other
// session of the user and keeps this one.
func TestAuthChangePassword(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, tok := s.Login(t, email, apitest.TestPassword)
	other, otherTok := s.Login(t, email, apitest.TestPassword)
	const next = "amber lanterns drift past the old mill"

	tests := []struct {
		name             string
		current, newPass string
		field            string
	}{
		{"wrong current password", "not the current password", next, "currentPassword"},
		{"common new password", apitest.TestPassword, "password1234", "newPassword"},
		{"short new password", apitest.TestPassword, "short", "newPassword"},
		{"new password contains the email", apitest.TestPassword, email + " forever", "newPassword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.Post("/api/v1/auth/password", map[string]string{"currentPassword": tt.current, "newPassword": tt.newPass})
			assertProblem(t, resp, http.StatusUnprocessableEntity, tt.field)
		})
	}
	// Nothing changed so far: both sessions work, the old password signs in.
	if r := other.Get("/api/v1/auth/me", nil); r.Status != http.StatusOK {
		t.Fatalf("other session after refused changes: %d", r.Status)
	}

	resp := c.Post("/api/v1/auth/password", map[string]string{"currentPassword": apitest.TestPassword, "newPassword": next})
	if resp.Status != http.StatusNoContent {
		t.Fatalf("change: %d %s", resp.Status, resp.Body)
	}
	if r := c.Get("/api/v1/auth/me", nil); r.Status != http.StatusOK {
		t.Errorf("this session after the change: %d %s", r.Status, r.Body)
	}
	if r := authRefresh(s.Anon, tok.RefreshToken); r.Status != http.StatusOK {
		t.Errorf("this session's refresh token after the change: %d %s", r.Status, r.Body)
	}
	assertProblem(t, other.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
	assertProblem(t, authRefresh(s.Anon, otherTok.RefreshToken), http.StatusUnauthorized, "")
	assertProblem(t, authLogin(s.Anon, email, apitest.TestPassword, ""), http.StatusUnauthorized, "")
	if r := authLogin(s.Anon, email, next, ""); r.Status != http.StatusOK {
		t.Errorf("login with the new password: %d %s", r.Status, r.Body)
	}
}

// Wrong current passwords count like failed sign-ins: a session cannot be used to guess the
// password without limit.
func TestAuthChangePasswordThrottled(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	for i := range 5 {
		resp := c.Post("/api/v1/auth/password", map[string]string{"currentPassword": fmt.Sprintf("guess number %d", i), "newPassword": "amber lanterns drift past the old mill"})
		assertProblem(t, resp, http.StatusUnprocessableEntity, "currentPassword")
	}
	resp := c.Post("/api/v1/auth/password", map[string]string{"currentPassword": apitest.TestPassword, "newPassword": "amber lanterns drift past the old mill"})
	assertThrottled(t, resp)
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, ""))
}

// Disabling a user or changing its role ends its sessions at once; a change to neither does
// not.
func TestAuthUserChangeEndsSessions(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name  string
		patch map[string]any
		ended bool
	}{
		{"disable", map[string]any{"enabled": false}, true},
		{"role change", map[string]any{"role": "viewer"}, true},
		{"promotion", map[string]any{"role": "admin"}, true},
		{"no change", map[string]any{"enabled": true, "role": "staff"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, tok := s.Login(t, s.CreateUser(t, auth.RoleStaff, ""), apitest.TestPassword)
			if r := c.Get("/api/v1/auth/me", nil); r.Status != http.StatusOK {
				t.Fatalf("before: %d", r.Status)
			}
			if r := authPatchUser(t, s, tok.User.Id, tt.patch); r.Status != http.StatusOK {
				t.Fatalf("patch: %d %s", r.Status, r.Body)
			}
			me := c.Get("/api/v1/auth/me", nil)
			refresh := authRefresh(s.Anon, tok.RefreshToken)
			if !tt.ended {
				if me.Status != http.StatusOK || refresh.Status != http.StatusOK {
					t.Errorf("session ended by a change to nothing: me %d, refresh %d", me.Status, refresh.Status)
				}
				return
			}
			assertProblem(t, me, http.StatusUnauthorized, "")
			assertProblem(t, refresh, http.StatusUnauthorized, "")
		})
	}
}

// Five failures for one account from one address block that pair, even for the right
// password, with 429 and Retry-After; the account still signs in from elsewhere.
func TestAuthThrottlePerAccountAndAddress(t *testing.T) {
	s := newProxiedServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	const here, elsewhere = "203.0.113.7", "198.51.100.23"
	for i := range 5 {
		assertProblem(t, authLogin(s.Anon, email, fmt.Sprintf("wrong guess %d", i), here), http.StatusUnauthorized, "")
	}
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, here))
	if r := authLogin(s.Anon, email, apitest.TestPassword, elsewhere); r.Status != http.StatusOK {
		t.Errorf("from another address: %d %s", r.Status, r.Body)
	}
	// Another account from the blocked address is not affected.
	if r := authLogin(s.Anon, s.CreateUser(t, auth.RoleViewer, ""), apitest.TestPassword, here); r.Status != http.StatusOK {
		t.Errorf("another account from the blocked address: %d %s", r.Status, r.Body)
	}
	// Being blocked is not a free guess either: the right password stays blocked.
	assertThrottled(t, authLogin(s.Anon, email, "wrong guess again", here))
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, here))
	// The block ends with its window.
	if _, err := s.DB.ExecContext(context.Background(), "UPDATE login_throttle SET window_start = window_start - INTERVAL 16 MINUTE"); err != nil {
		t.Fatal(err)
	}
	if r := authLogin(s.Anon, email, apitest.TestPassword, here); r.Status != http.StatusOK {
		t.Errorf("after the window: %d %s", r.Status, r.Body)
	}
}

// Without trusted proxies X-Forwarded-For is the client's own text: changing it does not
// change the address the throttle counts.
func TestAuthThrottleIgnoresUntrustedForwardedFor(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	for i := range 5 {
		assertProblem(t, authLogin(s.Anon, email, fmt.Sprintf("wrong guess %d", i), fmt.Sprintf("192.0.2.%d", i+1)), http.StatusUnauthorized, "")
	}
	for _, xff := range []string{"", "192.0.2.99", "10.0.0.1", "203.0.113.7, 198.51.100.1", "::1"} {
		assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, xff))
	}
	// Nor do the other headers proxies use.
	for _, h := range []string{"X-Real-IP", "True-Client-IP", "CF-Connecting-IP", "X-Client-IP"} {
		resp := s.Anon.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/login",
			Body: map[string]string{"email": email, "password": apitest.TestPassword}, Header: map[string]string{h: "192.0.2.77"}})
		assertThrottled(t, resp)
	}
	resp := s.Anon.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/login",
		Body: map[string]string{"email": email, "password": apitest.TestPassword}, Header: map[string]string{"Forwarded": "for=192.0.2.78"}})
	assertThrottled(t, resp)
}

// Behind a trusted proxy only the entry the proxy added (the rightmost untrusted one) counts:
// entries the client put in front do not give it new addresses.
func TestAuthThrottleForwardedForPrefix(t *testing.T) {
	s := newProxiedServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	for i := range 5 {
		xff := fmt.Sprintf("198.51.100.%d, 203.0.113.7", i+1)
		assertProblem(t, authLogin(s.Anon, email, fmt.Sprintf("wrong guess %d", i), xff), http.StatusUnauthorized, "")
	}
	for _, xff := range []string{"203.0.113.7", "1.2.3.4, 203.0.113.7", "::ffff:203.0.113.7"} {
		assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, xff))
	}
}

// Other spellings of the sign-in path do not reach it: they give neither tokens nor extra
// guesses.
func TestAuthThrottleRouteVariants(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	for i := range 5 {
		assertProblem(t, authLogin(s.Anon, email, fmt.Sprintf("wrong guess %d", i), ""), http.StatusUnauthorized, "")
	}
	for _, path := range []string{"/api/v1/Auth/Login", "/api/v1/auth/login/", "/api/v1/AUTH/LOGIN", "/api/v1/auth/%6Cogin", "/api/v1/auth//login", "/api//v1/auth/login"} {
		t.Run(path, func(t *testing.T) {
			resp := s.Anon.Post(path, map[string]string{"email": email, "password": apitest.TestPassword})
			if resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
				t.Errorf("%s: %d %s, want 404 or 405", path, resp.Status, resp.Body)
			}
		})
	}
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, ""))
}

// The email is one account however it is written.
func TestAuthThrottleEmailCase(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	variants := []string{strings.ToUpper(email), " " + email, strings.ToUpper(email[:1]) + email[1:], email + " ", "\t" + strings.ToUpper(email)}
	for i, v := range variants {
		assertProblem(t, authLogin(s.Anon, v, fmt.Sprintf("wrong guess %d", i), ""), http.StatusUnauthorized, "")
	}
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, ""))
	assertThrottled(t, authLogin(s.Anon, strings.ToUpper(email), apitest.TestPassword, ""))
}

// Unknown emails are throttled exactly like known ones, so the throttle does not tell which
// accounts exist.
func TestAuthThrottleUnknownEmails(t *testing.T) {
	s := newServer(t)
	known := s.CreateUser(t, auth.RoleStaff, "")
	for _, email := range []string{known, "no.such.person@users.example.org"} {
		var statuses []int
		var last *apitest.Response
		for i := range 6 {
			last = authLogin(s.Anon, email, fmt.Sprintf("wrong guess %d", i), "")
			statuses = append(statuses, last.Status)
		}
		if want := []int{401, 401, 401, 401, 401, 429}; !cmp.Equal(statuses, want) {
			t.Errorf("%s: statuses %v, want %v", email, statuses, want)
		}
		assertThrottled(t, last)
	}
}

// Guesses at one account from many addresses trip the account limit: new addresses are
// refused, but an address the user signed in from before still works.
func TestAuthThrottlePerAccountSparesKnownAddresses(t *testing.T) {
	s := newProxiedServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	const home = "198.51.100.10"
	if r := authLogin(s.Anon, email, apitest.TestPassword, home); r.Status != http.StatusOK {
		t.Fatalf("first sign-in: %d %s", r.Status, r.Body)
	}
	var statuses []int
	for i := range 21 {
		statuses = append(statuses, authLogin(s.Anon, email, "a wrong guess", fmt.Sprintf("203.0.113.%d", i+1)).Status)
	}
	for i, st := range statuses {
		want := http.StatusUnauthorized
		if i == 20 {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("attempt %d from a new address: %d, want %d (all: %v)", i+1, st, want, statuses)
		}
	}
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, "192.0.2.200"))
	if r := authLogin(s.Anon, email, apitest.TestPassword, home); r.Status != http.StatusOK {
		t.Errorf("from the known address: %d %s", r.Status, r.Body)
	}
}

// One address guessing at many accounts (password spraying) is stopped after 50 failures,
// for every account; other addresses are not affected.
func TestAuthThrottlePerAddress(t *testing.T) {
	s := newProxiedServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	const sprayer = "203.0.113.66"
	for i := range 50 {
		r := authLogin(s.Anon, fmt.Sprintf("sprayed%d@users.example.org", i), "Summer2024!", sprayer)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, sprayer))
	assertThrottled(t, authLogin(s.Anon, "someone.new@users.example.org", "Summer2024!", sprayer))
	if r := authLogin(s.Anon, email, apitest.TestPassword, "198.51.100.1"); r.Status != http.StatusOK {
		t.Errorf("from another address: %d %s", r.Status, r.Body)
	}
}

// Successful sign-ins are not failures: many of them, for one account from many new
// addresses, do not trip the account limit.
func TestAuthThrottleCountsOnlyFailures(t *testing.T) {
	s := newProxiedServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	for i := range 22 {
		if r := authLogin(s.Anon, email, apitest.TestPassword, fmt.Sprintf("203.0.113.%d", i+1)); r.Status != http.StatusOK {
			t.Fatalf("sign-in %d from a new address: %d %s", i+1, r.Status, r.Body)
		}
	}
	// And a failure after them is just one failure.
	assertProblem(t, authLogin(s.Anon, email, "a wrong guess", "198.51.100.1"), http.StatusUnauthorized, "")
}

// Guesses sent all at once get no more tries than guesses sent one after another.
func TestAuthThrottleConcurrentGuesses(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	const attempts = 20
	statuses := make([]int, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			statuses[i] = authLogin(s.Anon, email, fmt.Sprintf("wrong guess %d", i), "").Status
		})
	}
	wg.Wait()
	checked := 0
	for _, st := range statuses {
		switch st {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("status %d", st)
		}
	}
	if checked > 5 {
		t.Errorf("%d of %d concurrent guesses were checked, want at most 5: %v", checked, attempts, statuses)
	}
	// Exactly the guesses that were checked count as failures; refused ones do not.
	var counted int
	if err := s.DB.QueryRowContext(context.Background(), "SELECT COALESCE(MAX(failures), 0) FROM login_throttle").Scan(&counted); err != nil || counted != checked {
		t.Errorf("%d failures counted for %d checked guesses (%v)", counted, checked, err)
	}
	if checked == 5 {
		assertThrottled(t, authLogin(s.Anon, email, apitest.TestPassword, ""))
	}
}

// A burst of right passwords at once (one office behind one address) may be asked to wait a
// moment, but never leaves failures behind: afterwards the account signs in at once.
func TestAuthThrottleBurstOfRightPasswords(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	const attempts = 20
	resps := make([]*apitest.Response, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() { resps[i] = authLogin(s.Anon, email, apitest.TestPassword, "") })
	}
	wg.Wait()
	for _, r := range resps {
		switch {
		case r.Status == http.StatusOK:
		case r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "1":
		default:
			t.Errorf("status %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	if r := authLogin(s.Anon, email, apitest.TestPassword, ""); r.Status != http.StatusOK {
		t.Errorf("after the burst: %d %s", r.Status, r.Body)
	}
	var failures int
	if err := s.DB.QueryRowContext(context.Background(), "SELECT COALESCE(SUM(failures), 0) FROM login_throttle").Scan(&failures); err != nil || failures != 0 {
		t.Errorf("failures counted after only right passwords: %d, %v", failures, err)
	}
}

// An invitation lets the person set a password once and signs them in as the record's
// alumnus.
func TestAuthAcceptInvite(t *testing.T) {
	s := newServer(t)
	staff := s.As(t, auth.RoleStaff)
	rec, _ := create(t, staff, map[string]any{"firstName": "Grace", "lastName": "Hopper", "email": "grace.hopper@example.org"})
	other, _ := create(t, staff, map[string]any{"firstName": "Alan", "lastName": "Turing", "email": "alan.turing@example.org"})
	noEmail, _ := create(t, staff, map[string]any{"firstName": "Nameless", "lastName": "Person"})
	const good = "copper kettles hum beneath winter stars"

	inv := authInvite(t, staff, rec.Id)
	if inv.AlumnusId != rec.Id || inv.Email != "grace.hopper@example.org" || inv.Token == "" || !inv.ExpiresAt.After(time.Now().Add(13*24*time.Hour)) {
		t.Errorf("invite: %+v", inv)
	}

	resp := s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": inv.Token, "password": good})
	if resp.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", resp.Status, resp.Body)
	}
	var tok api.Tokens
	resp.JSON(t, &tok)
	if tok.User.Role != api.Role(auth.RoleAlumnus) || tok.User.AlumnusId == nil || *tok.User.AlumnusId != rec.Id || tok.User.Email != inv.Email {
		t.Errorf("accepted user: %+v", tok.User)
	}
	var m api.Me
	if r := s.Anon.WithToken(tok.AccessToken).Get("/api/v1/auth/me", nil); r.Status == http.StatusOK {
		r.JSON(t, &m)
	} else {
		t.Fatalf("me as the new alumnus: %d %s", r.Status, r.Body)
	}
	if m.User.Id != tok.User.Id {
		t.Errorf("me: %+v", m.User)
	}
	if r := s.Anon.WithToken(tok.AccessToken).Get("/api/v1/alumni/"+rec.Id, nil); r.Status != http.StatusOK {
		t.Errorf("the alumnus reads their own record: %d %s", r.Status, r.Body)
	}
	if r := authLogin(s.Anon, string(inv.Email), good, ""); r.Status != http.StatusOK {
		t.Errorf("the alumnus signs in with the password: %d %s", r.Status, r.Body)
	}

	assertProblem(t, s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": inv.Token, "password": good}), http.StatusUnprocessableEntity, "token")
	assertProblem(t, s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE", "password": good}), http.StatusUnprocessableEntity, "token")
	assertProblem(t, staff.Post("/api/v1/alumni/"+rec.Id+"/invites", map[string]any{}), http.StatusConflict, "alumnusId")
	assertProblem(t, staff.Post("/api/v1/alumni/"+noEmail.Id+"/invites", map[string]any{}), http.StatusUnprocessableEntity, "email")
	assertProblem(t, staff.Post("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A/invites", map[string]any{}), http.StatusNotFound, "")
	assertProblem(t, s.As(t, auth.RoleViewer).Post("/api/v1/alumni/"+other.Id+"/invites", map[string]any{}), http.StatusForbidden, "")
	assertProblem(t, s.Anon.Post("/api/v1/alumni/"+other.Id+"/invites", map[string]any{}), http.StatusUnauthorized, "")

	// A weak password is refused and leaves the invitation usable.
	inv2 := authInvite(t, staff, other.Id)
	for _, weak := range []string{"short", "password1234", "alan.turing secret"} {
		assertProblem(t, s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": inv2.Token, "password": weak}), http.StatusUnprocessableEntity, "password")
	}
	if r := s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": inv2.Token, "password": good}); r.Status != http.StatusOK {
		t.Fatalf("accept after a weak password: %d %s", r.Status, r.Body)
	}
	if strings.Contains(s.Logs(), inv.Token) || strings.Contains(s.Logs(), inv2.Token) {
		t.Error("the logs contain an invitation token")
	}
}

// An invitation that expired, whose record went to the trash or was claimed meanwhile, or
// whose email another user has, signs no one in.
func TestAuthAcceptInviteRefusals(t *testing.T) {
	s := newServer(t)
	staff := s.As(t, auth.RoleStaff)
	const good = "copper kettles hum beneath winter stars"
	tests := []struct {
		name    string
		prepare func(t *testing.T, recID string) api.Invite
		status  int
		field   string
	}{
		{"expired", func(t *testing.T, recID string) api.Invite {
			inv := authInvite(t, staff, recID)
			if _, err := s.DB.ExecContext(context.Background(), "UPDATE invites SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE public_id = ?", inv.Id); err != nil {
				t.Fatal(err)
			}
			return inv
		}, http.StatusUnprocessableEntity, "token"},
		{"record in the trash", func(t *testing.T, recID string) api.Invite {
			inv := authInvite(t, staff, recID)
			if r := staff.Delete("/api/v1/alumni/"+recID, ""); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			return inv
		}, http.StatusUnprocessableEntity, "token"},
		{"record claimed with an earlier invitation", func(t *testing.T, recID string) api.Invite {
			first, second := authInvite(t, staff, recID), authInvite(t, staff, recID)
			if r := s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": first.Token, "password": good}); r.Status != http.StatusOK {
				t.Fatalf("accept the first: %d %s", r.Status, r.Body)
			}
			return second
		}, http.StatusConflict, "alumnusId"},
		{"email of another user", func(t *testing.T, recID string) api.Invite {
			taken := s.CreateUser(t, auth.RoleViewer, "")
			resp := staff.Post("/api/v1/alumni/"+recID+"/invites", map[string]any{"email": taken})
			if resp.Status != http.StatusCreated {
				t.Fatalf("invite: %d %s", resp.Status, resp.Body)
			}
			var inv api.Invite
			resp.JSON(t, &inv)
			return inv
		}, http.StatusUnprocessableEntity, "token"}, // not 409: the answer must not tell that the email has an account
	}
	invalid := map[string]string{} // the detail and field errors of each 422, which must not differ
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := create(t, staff, map[string]any{"firstName": "Case", "lastName": fmt.Sprintf("Number%d", i), "email": fmt.Sprintf("case%d@example.org", i)})
			inv := tt.prepare(t, rec.Id)
			p := assertProblem(t, s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": inv.Token, "password": good}), tt.status, tt.field)
			if tt.status == http.StatusUnprocessableEntity {
				invalid[tt.name] = fmt.Sprintf("%s %s %v", p.Title, *p.Detail, *p.Errors)
			}
		})
	}
	if invalid["email of another user"] != invalid["expired"] || invalid["expired"] == "" {
		t.Errorf("an invitation to a taken email is answered differently from an expired one:\n%s\n%s", invalid["email of another user"], invalid["expired"])
	}
}

// Bad invitation tokens are counted per address: whoever sends them cannot block the
// invitations of everyone else.
func TestAuthInviteThrottleIsPerAddress(t *testing.T) {
	s := newProxiedServer(t)
	staff := s.As(t, auth.RoleStaff)
	rec, _ := create(t, staff, map[string]any{"firstName": "Grace", "lastName": "Hopper", "email": "grace.hopper@example.org"})
	inv := authInvite(t, staff, rec.Id)
	const good = "copper kettles hum beneath winter stars"

	for a := range 5 {
		addr := fmt.Sprintf("203.0.113.%d", a+1)
		for i := range 5 {
			resp := authAccept(s.Anon, fmt.Sprintf("made-up-token-%d-%d", a, i), good, addr)
			assertProblem(t, resp, http.StatusUnprocessableEntity, "token")
		}
		assertThrottled(t, authAccept(s.Anon, "made-up-token", good, addr))
	}
	// The guesser's addresses are blocked, even for a real invitation...
	assertThrottled(t, authAccept(s.Anon, inv.Token, good, "203.0.113.1"))
	// ...but the invited person, elsewhere, is not.
	if r := authAccept(s.Anon, inv.Token, good, "198.51.100.7"); r.Status != http.StatusOK {
		t.Errorf("accept from an address that guessed nothing: %d %s", r.Status, r.Body)
	}
}

// Swagger UI's Authorize button needs the bearer scheme in the served contract.
func TestAuthSwaggerSecurityScheme(t *testing.T) {
	s := newServer(t)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/openapi.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Security   []map[string][]string `json:"security"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type, Scheme, BearerFormat string
			} `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	scheme, ok := doc.Components.SecuritySchemes["bearerAuth"]
	if !ok || scheme.Type != "http" || !strings.EqualFold(scheme.Scheme, "bearer") {
		t.Fatalf("components.securitySchemes.bearerAuth = %+v (present %v)", scheme, ok)
	}
	if len(doc.Security) == 0 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("the contract does not require bearerAuth by default: %v", doc.Security)
	}
	var login struct {
		Security *[]map[string][]string `json:"security"`
	}
	if err := json.Unmarshal(doc.Paths["/api/v1/auth/login"]["post"], &login); err != nil {
		t.Fatal(err)
	}
	if login.Security == nil || len(*login.Security) != 0 {
		t.Errorf("login must be public (security: []), got %v", login.Security)
	}
}

// newProxiedServer starts a server that believes X-Forwarded-For from this host, so tests can
// sign in from any address.
func newProxiedServer(t *testing.T) *apitest.Server {
	t.Helper()
	t.Parallel()
	cfg := apitest.DefaultConfig()
	_, loopback, err := net.ParseCIDR("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TrustedProxies = []*net.IPNet{loopback}
	return apitest.NewServer(t, cfg)
}

// authLogin signs in with X-Forwarded-For set to xff (none when empty).
func authLogin(c *apitest.Client, email, pw, xff string) *apitest.Response {
	h := map[string]string{}
	if xff != "" {
		h["X-Forwarded-For"] = xff
	}
	return c.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/login",
		Body: map[string]string{"email": email, "password": pw}, Header: h})
}

// authAccept accepts an invitation with X-Forwarded-For set to xff (none when empty).
func authAccept(c *apitest.Client, tok, pw, xff string) *apitest.Response {
	h := map[string]string{}
	if xff != "" {
		h["X-Forwarded-For"] = xff
	}
	return c.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/accept-invite",
		Body: map[string]string{"token": tok, "password": pw}, Header: h})
}

func authRefresh(c *apitest.Client, refreshToken string) *apitest.Response {
	return c.Post("/api/v1/auth/refresh", map[string]string{"refreshToken": refreshToken})
}

// assertThrottled checks a 429 with a Retry-After of at most one throttle window.
func assertThrottled(t *testing.T, resp *apitest.Response) {
	t.Helper()
	p := assertProblem(t, resp, http.StatusTooManyRequests, "")
	if p.Type != "https://alumnid.dev/problems/too-many-requests" {
		t.Errorf("problem type %s", p.Type)
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs <= 0 || secs > int(auth.ThrottleWindow/time.Second) {
		t.Errorf("Retry-After = %q, want whole seconds in (0, 900]", resp.Header.Get("Retry-After"))
	}
}

// patchUser applies patch to the user id as the admin, with the user's current ETag.
func authPatchUser(t *testing.T, s *apitest.Server, id string, patch map[string]any) *apitest.Response {
	t.Helper()
	get := s.Client.Get("/api/v1/users/"+id, nil)
	if get.Status != http.StatusOK {
		t.Fatalf("get user: %d %s", get.Status, get.Body)
	}
	return s.Client.Patch("/api/v1/users/"+id, get.Header.Get("ETag"), patch)
}

// invite creates an invitation for the record id to its own email.
func authInvite(t *testing.T, c *apitest.Client, id string) api.Invite {
	t.Helper()
	resp := c.Post("/api/v1/alumni/"+id+"/invites", map[string]any{})
	if resp.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", resp.Status, resp.Body)
	}
	var inv api.Invite
	resp.JSON(t, &inv)
	return inv
}

// setSession changes the session of an access token directly in the database.
func authSetSession(t *testing.T, s *apitest.Server, accessToken, assignments string) {
	t.Helper()
	_, claims := jwtSegments(t, accessToken)
	res, err := s.DB.ExecContext(context.Background(), "UPDATE sessions SET "+assignments+" WHERE public_id = ?", claims["sid"])
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("updated %d sessions", n)
	}
}

// jwtSegments decodes the header and claims of a compact JWS.
func jwtSegments(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", tok)
	}
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	return header, claims
}

// numClaim returns the integer claim name.
func numericClaim(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s = %v is not a number", name, claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %s: %v", name, err)
	}
	return v
}

// signingKey returns the test servers' private key.
func testSigningKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(apitest.KeyPEM())
	if block == nil {
		t.Fatal("apitest.KeyPEM is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("the test key is a %T", k)
	}
	return priv
}

// with returns a copy of m with the pairs of kv set; a nil value removes the member.
func withMembers(m map[string]any, kv ...any) map[string]any {
	out := maps.Clone(m)
	for i := 0; i+1 < len(kv); i += 2 {
		name := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, name)
			continue
		}
		out[name] = kv[i+1]
	}
	return out
}

func jwsSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft builds a compact JWS by hand, signing "header.payload" with sign.
func craftJWS(t *testing.T, header, claims map[string]any, sign func(signingInput []byte) []byte) string {
	t.Helper()
	input := jwsSegment(t, header) + "." + jwsSegment(t, claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func edSigner(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

func hsSigner(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

// failureLog returns the "request failed" lines of logs: the causes of 500s.
func failureLines(logs string) string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"msg":"request failed"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
