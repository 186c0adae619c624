package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/apitest/oidctest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/sso"
)

// ssoWorld is a service with two providers on one real OP ("uni" provisions users, "linked"
// only signs in users it already knows) and the OP's people.
type ssoWorld struct {
	s  *apitest.Server
	op *oidctest.Provider
}

var (
	grace = oidctest.User{ID: "u-grace", Username: "grace", Password: "cobol compiler 1959", Email: "grace@uni.example", Groups: []string{"alumni-office"}}
	alan  = oidctest.User{ID: "u-alan", Username: "alan", Password: "bombe at bletchley", Email: "alan@uni.example", Groups: []string{"students"}}
)

func newSSOWorld(t *testing.T) ssoWorld {
	t.Helper()
	t.Parallel()
	op := oidctest.Start(t, grace, alan)
	cfg := apitest.DefaultConfig()
	roles := map[string]auth.Role{"alumni-office": auth.RoleStaff, "it": auth.RoleAdmin, "board": auth.RoleViewer}
	cfg.Domain.SSOProviders = []sso.ProviderConfig{
		{ID: "uni", Name: "University login", Issuer: op.Issuer, ClientID: "alumnid", ClientSecret: "uni-secret",
			GroupsClaim: "groups", Scopes: []string{"profile", "email"}, Roles: roles, Provision: true},
		{ID: "linked", Name: "Linked only", Issuer: op.Issuer, ClientID: "alumnid-linked", ClientSecret: "linked-secret",
			GroupsClaim: "groups", Scopes: []string{"email"}, Roles: roles},
	}
	s := apitest.NewServer(t, cfg)
	op.AddClient("alumnid", "uni-secret", s.URL+"/api/v1/auth/sso/uni/callback")
	op.AddClient("alumnid-linked", "linked-secret", s.URL+"/api/v1/auth/sso/linked/callback")
	return ssoWorld{s: s, op: op}
}

// start begins a sign-in through provider and returns the provider's URL and the binding cookie.
func (w ssoWorld) start(t *testing.T, provider string) (string, string) {
	t.Helper()
	r := mustStatus(t, w.s.Anon.NoRedirects().Get("/api/v1/auth/sso/"+provider+"/start?returnTo="+url.QueryEscape(w.s.URL+"/app/"), nil), http.StatusFound)
	c, err := http.ParseSetCookie(r.Header.Get("Set-Cookie"))
	if err != nil || c.Name != sso.CookieName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Value == "" {
		t.Fatalf("binding cookie %q: %v", r.Header.Get("Set-Cookie"), err)
	}
	loc := r.Header.Get("Location")
	q := mustParse(t, loc).Query()
	if !strings.HasPrefix(loc, w.op.Issuer) || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("nonce") == "" || q.Get("state") == "" || q.Get("redirect_uri") != w.s.URL+"/api/v1/auth/sso/"+provider+"/callback" {
		t.Fatalf("start sends the browser to %s", loc)
	}
	return loc, c.Value
}

// callback delivers the provider's answer (URL back) to the service with the cookie.
func (w ssoWorld) callback(back, cookie string) *apitest.Response {
	h := map[string]string{}
	if cookie != "" {
		h["Cookie"] = sso.CookieName + "=" + cookie
	}
	return w.s.Anon.NoRedirects().Get(strings.TrimPrefix(back, w.s.URL), h)
}

// signIn runs the whole sign-in of user through provider and returns the callback's answer.
func (w ssoWorld) signIn(t *testing.T, provider string, user oidctest.User) *apitest.Response {
	t.Helper()
	loc, cookie := w.start(t, provider)
	return w.callback(w.op.SignIn(t, oidctest.Browser(), loc, user.Username, user.Password), cookie)
}

// redeem exchanges the ticket of a successful callback for tokens.
func (w ssoWorld) redeem(t *testing.T, cb *apitest.Response) api.Tokens {
	t.Helper()
	mustStatus(t, cb, http.StatusFound)
	loc := cb.Header.Get("Location")
	ticket, ok := strings.CutPrefix(loc, w.s.URL+"/app/#ssoTicket=")
	if !ok {
		t.Fatalf("callback sends the browser to %s", loc)
	}
	ticket, _ = url.QueryUnescape(ticket)
	var tok api.Tokens
	mustStatus(t, w.s.Anon.Post("/api/v1/auth/sso/redeem", map[string]string{"ticket": ticket}), http.StatusOK).JSON(t, &tok)
	assertProblem(t, w.s.Anon.Post("/api/v1/auth/sso/redeem", map[string]string{"ticket": ticket}), http.StatusUnauthorized, "")
	return tok
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// The whole flow against a real provider: start, the provider's login page, the callback,
// the ticket; the session is the same as a password sign-in's; the user was created from the
// verified email with the role the groups map to; a second sign-in is the same user.
func TestSSOSignIn(t *testing.T) {
	w := newSSOWorld(t)
	var list api.SsoProviderList
	mustStatus(t, w.s.Anon.Get("/api/v1/auth/sso/providers", nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].Id != "uni" || list.Items[0].StartUrl != "/api/v1/auth/sso/uni/start" {
		t.Errorf("providers: %+v", list)
	}

	tok := w.redeem(t, w.signIn(t, "uni", grace))
	if tok.User.Email != api.Email(grace.Email) || tok.User.Role != api.Role(auth.RoleStaff) {
		t.Errorf("signed in as %+v", tok.User)
	}
	var me api.Me
	mustStatus(t, w.s.Anon.WithToken(tok.AccessToken).Get("/api/v1/auth/me", nil), http.StatusOK).JSON(t, &me)
	if me.User.Id != tok.User.Id {
		t.Errorf("me: %+v", me)
	}
	// Refresh works as for a password session.
	mustStatus(t, w.s.Anon.Post("/api/v1/auth/refresh", map[string]string{"refreshToken": tok.RefreshToken}), http.StatusOK)

	again := w.redeem(t, w.signIn(t, "uni", grace))
	if again.User.Id != tok.User.Id {
		t.Errorf("second sign-in is user %s, first %s", again.User.Id, tok.User.Id)
	}
	logins := auditAll(t, w.s.Client, "action=session.login&entityId="+tok.User.Id)
	if len(logins) != 2 || logins[0].Changes == nil || (*logins[0].Changes)[0].After != "uni" {
		t.Errorf("audited logins: %+v", logins)
	}
}

// The protocol's refusals: a replayed callback, a wrong or missing state, a callback from
// another browser (no or another binding cookie), the provider's error, an unknown provider,
// a returnTo elsewhere, a bad ticket.
func TestSSORefusals(t *testing.T) {
	w := newSSOWorld(t)
	anon := w.s.Anon.NoRedirects()

	t.Run("replayed callback", func(t *testing.T) {
		loc, cookie := w.start(t, "uni")
		back := w.op.SignIn(t, oidctest.Browser(), loc, grace.Username, grace.Password)
		mustStatus(t, w.callback(back, cookie), http.StatusFound)
		assertProblem(t, w.callback(back, cookie), http.StatusUnauthorized, "")
	})
	t.Run("wrong state", func(t *testing.T) {
		loc, cookie := w.start(t, "uni")
		back := mustParse(t, w.op.SignIn(t, oidctest.Browser(), loc, grace.Username, grace.Password))
		q := back.Query()
		q.Set("state", "not-the-state")
		back.RawQuery = q.Encode()
		assertProblem(t, w.callback(back.String(), cookie), http.StatusUnauthorized, "")
	})
	t.Run("another browser", func(t *testing.T) {
		loc, _ := w.start(t, "uni")
		back := w.op.SignIn(t, oidctest.Browser(), loc, grace.Username, grace.Password)
		assertProblem(t, w.callback(back, ""), http.StatusUnauthorized, "")
		_, otherCookie := w.start(t, "uni")
		assertProblem(t, w.callback(back, otherCookie), http.StatusUnauthorized, "")
	})
	t.Run("callback for another provider", func(t *testing.T) {
		loc, cookie := w.start(t, "uni")
		back := w.op.SignIn(t, oidctest.Browser(), loc, grace.Username, grace.Password)
		assertProblem(t, w.callback(strings.Replace(back, "/sso/uni/", "/sso/linked/", 1), cookie), http.StatusUnauthorized, "")
	})
	t.Run("provider error", func(t *testing.T) {
		loc, cookie := w.start(t, "uni")
		state := mustParse(t, loc).Query().Get("state")
		assertProblem(t, w.callback(w.s.URL+"/api/v1/auth/sso/uni/callback?error=access_denied&state="+url.QueryEscape(state), cookie), http.StatusUnauthorized, "")
	})
	t.Run("forged code", func(t *testing.T) {
		loc, cookie := w.start(t, "uni")
		state := mustParse(t, loc).Query().Get("state")
		assertProblem(t, w.callback(w.s.URL+"/api/v1/auth/sso/uni/callback?code=forged&state="+url.QueryEscape(state), cookie), http.StatusUnauthorized, "")
	})
	t.Run("unknown provider", func(t *testing.T) {
		assertProblem(t, anon.Get("/api/v1/auth/sso/nowhere/start?returnTo="+url.QueryEscape(w.s.URL+"/app/"), nil), http.StatusNotFound, "")
		assertProblem(t, anon.Get("/api/v1/auth/sso/nowhere/callback?code=x&state=y", nil), http.StatusNotFound, "")
		assertProblem(t, anon.Get("/api/v1/auth/sso/Not_An_Id/start?returnTo=x", nil), http.StatusBadRequest, "")
	})
	t.Run("returnTo elsewhere", func(t *testing.T) {
		for _, to := range []string{"https://evil.example/", "javascript:alert(1)", "/relative", "https://user@" + strings.TrimPrefix(w.s.URL, "http://") + "/"} {
			assertProblem(t, anon.Get("/api/v1/auth/sso/uni/start?returnTo="+url.QueryEscape(to), nil), http.StatusUnprocessableEntity, "returnTo")
		}
		// An allowed app origin is fine.
		mustStatus(t, anon.Get("/api/v1/auth/sso/uni/start?returnTo="+url.QueryEscape("https://app.example.org/signed-in"), nil), http.StatusFound)
	})
	t.Run("bad ticket", func(t *testing.T) {
		assertProblem(t, w.s.Anon.Post("/api/v1/auth/sso/redeem", map[string]string{"ticket": "no-such-ticket"}), http.StatusUnauthorized, "")
		assertProblem(t, w.s.Anon.Post("/api/v1/auth/sso/redeem", map[string]string{}), http.StatusBadRequest, "ticket")
	})
}

// Who may come in: roles follow the group mapping at every sign-in (a removed group drops
// the role); a person whose groups map to nothing, a user not linked where the provider does
// not provision, and a disabled user are refused; an account's email is never a link.
func TestSSOUsersAndRoles(t *testing.T) {
	w := newSSOWorld(t)

	t.Run("group removed, role drops", func(t *testing.T) {
		w.op.SetGroups(grace.ID, "alumni-office", "board")
		tok := w.redeem(t, w.signIn(t, "uni", grace))
		if tok.User.Role != api.Role(auth.RoleStaff) {
			t.Fatalf("role %s, want staff", tok.User.Role)
		}
		w.op.SetGroups(grace.ID, "board")
		tok2 := w.redeem(t, w.signIn(t, "uni", grace))
		if tok2.User.Role != api.Role(auth.RoleViewer) || tok2.User.Id != tok.User.Id {
			t.Errorf("after leaving alumni-office: %+v", tok2.User)
		}
		// The staff session from before does not outlive the change.
		assertProblem(t, w.s.Anon.WithToken(tok.AccessToken).Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
		w.op.SetGroups(grace.ID)
		assertProblem(t, w.signIn(t, "uni", grace), http.StatusForbidden, "")
		w.op.SetGroups(grace.ID, "alumni-office")
	})
	t.Run("no mapped group", func(t *testing.T) {
		assertProblem(t, w.signIn(t, "uni", alan), http.StatusForbidden, "")
	})
	t.Run("not provisioned", func(t *testing.T) {
		w.op.SetGroups(alan.ID, "board")
		assertProblem(t, w.signIn(t, "linked", alan), http.StatusForbidden, "")
	})
	t.Run("email of a local account is not a link", func(t *testing.T) {
		// A local user with alan's email exists; alan's first sign-in must not become them.
		local := postUser(t, w.s.Client, map[string]any{"email": alan.Email, "role": "admin"})
		assertProblem(t, w.signIn(t, "uni", alan), http.StatusConflict, "")
		// The refusal's audit event names the identity; an admin links it, and then alan
		// signs in as that user, with the role his groups give.
		var issuer, subject string
		for _, ev := range auditAll(t, w.s.Client, "action=session.login_failed")[:1] { // the newest
			for _, c := range deref(ev.Changes) {
				switch c.Field {
				case "issuer":
					issuer, _ = c.After.(string)
				case "subject":
					subject, _ = c.After.(string)
				}
			}
		}
		if issuer != w.op.Issuer || subject != alan.ID {
			t.Fatalf("refusal audited with issuer %q subject %q", issuer, subject)
		}
		if _, err := w.s.Auth.LinkIdentity(t.Context(), alan.Email, issuer, subject); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Auth.LinkIdentity(t.Context(), grace.Email, issuer, subject); err == nil {
			t.Error("one identity linked to two users")
		}
		tok := w.redeem(t, w.signIn(t, "uni", alan))
		if tok.User.Id != local.Id || tok.User.Role != api.Role(auth.RoleViewer) {
			t.Errorf("after linking: %+v, want user %s as viewer", tok.User, local.Id)
		}
	})
	t.Run("disabled user cannot come back", func(t *testing.T) {
		tok := w.redeem(t, w.signIn(t, "uni", grace))
		pending := mustStatus(t, w.signIn(t, "uni", grace), http.StatusFound) // a ticket not yet redeemed
		r := mustStatus(t, w.s.Client.Get("/api/v1/users/"+tok.User.Id, nil), http.StatusOK)
		mustStatus(t, w.s.Client.Patch("/api/v1/users/"+tok.User.Id, r.Header.Get("ETag"), map[string]any{"enabled": false}), http.StatusOK)
		assertProblem(t, w.signIn(t, "uni", grace), http.StatusForbidden, "")
		assertProblem(t, w.signIn(t, "linked", grace), http.StatusForbidden, "")
		// The ticket issued before the user was disabled does not open a session either.
		ticket, _ := url.QueryUnescape(strings.TrimPrefix(pending.Header.Get("Location"), w.s.URL+"/app/#ssoTicket="))
		assertProblem(t, w.s.Anon.Post("/api/v1/auth/sso/redeem", map[string]string{"ticket": ticket}), http.StatusForbidden, "")
	})
}

// With staffRequireSso on, office staff cannot sign in with a password (they get 403 after
// the password is checked), other roles still can, and staff come in through the provider.
func TestSSORequiredForStaff(t *testing.T) {
	w := newSSOWorld(t)
	staffEmail := w.s.CreateUser(t, auth.RoleStaff, "")
	viewerEmail := w.s.CreateUser(t, auth.RoleViewer, "")
	r := mustStatus(t, w.s.Client.Get("/api/v1/settings", nil), http.StatusOK)
	var st api.Settings
	r.JSON(t, &st)
	if st.StaffRequireSso == nil || *st.StaffRequireSso {
		t.Fatalf("staffRequireSso is not off by default: %s", r.Body)
	}
	on := true
	st.StaffRequireSso = &on
	mustStatus(t, w.s.Client.Do(apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Body: st,
		Header: map[string]string{"If-Match": r.Header.Get("ETag")}}), http.StatusOK)

	assertProblem(t, w.s.Anon.Post("/api/v1/auth/login", map[string]string{"email": staffEmail, "password": apitest.TestPassword}), http.StatusForbidden, "")
	assertProblem(t, w.s.Anon.Post("/api/v1/auth/login", map[string]string{"email": staffEmail, "password": "not the password at all"}), http.StatusUnauthorized, "")
	w.s.Login(t, viewerEmail, apitest.TestPassword)
	tok := w.redeem(t, w.signIn(t, "uni", grace))
	if tok.User.Role != api.Role(auth.RoleStaff) {
		t.Errorf("staff through SSO: %+v", tok.User)
	}
}

// A group mapping never leaves the service without an admin: demoting the last enabled admin
// at sign-in is refused (409), and the admin keeps the role.
func TestSSOKeepsTheLastAdmin(t *testing.T) {
	w := newSSOWorld(t)
	w.op.SetGroups(grace.ID, "it")
	tok := w.redeem(t, w.signIn(t, "uni", grace))
	if tok.User.Role != api.Role(auth.RoleAdmin) {
		t.Fatalf("role %s, want admin", tok.User.Role)
	}
	// Grace becomes the only enabled admin.
	if _, err := w.s.DB.Exec("UPDATE users SET enabled = FALSE WHERE role = 'admin' AND public_id <> ?", tok.User.Id); err != nil {
		t.Fatal(err)
	}
	w.op.SetGroups(grace.ID, "alumni-office")
	assertProblem(t, w.signIn(t, "uni", grace), http.StatusConflict, "role")
	mustStatus(t, w.s.Anon.WithToken(tok.AccessToken).Get("/api/v1/auth/me", nil), http.StatusOK) // still an admin
}

// ASVS V6.8.4: a provider configured to require a multi-factor sign-in (requireAmr) refuses
// an ID token whose amr does not show one, with 403 and an audit event; the same OP's token
// passes where its method is accepted and its auth_time is recent (maxAge). zitadel's example
// OP signs people in with a password only: its ID tokens carry amr ["pwd"] and auth_time.
func TestSSOSignInStrength(t *testing.T) {
	t.Parallel()
	op := oidctest.Start(t, grace)
	cfg := apitest.DefaultConfig()
	roles := map[string]auth.Role{"alumni-office": auth.RoleStaff}
	cfg.Domain.SSOProviders = []sso.ProviderConfig{
		{ID: "mfa", Name: "Needs MFA", Issuer: op.Issuer, ClientID: "mfa", ClientSecret: "mfa-secret",
			GroupsClaim: "groups", Scopes: []string{"email"}, Roles: roles, Provision: true, RequireAMR: []string{"mfa", "hwk"}},
		{ID: "pwd", Name: "Password is enough", Issuer: op.Issuer, ClientID: "pwd", ClientSecret: "pwd-secret",
			GroupsClaim: "groups", Scopes: []string{"email"}, Roles: roles, Provision: true, RequireAMR: []string{"pwd"}, MaxAge: 300},
	}
	s := apitest.NewServer(t, cfg)
	op.AddClient("mfa", "mfa-secret", s.URL+"/api/v1/auth/sso/mfa/callback")
	op.AddClient("pwd", "pwd-secret", s.URL+"/api/v1/auth/sso/pwd/callback")
	w := ssoWorld{s: s, op: op}

	loc, _ := w.start(t, "pwd")
	if mustParse(t, loc).Query().Get("max_age") != "300" {
		t.Errorf("start does not ask for max_age: %s", loc)
	}
	assertProblem(t, w.signIn(t, "mfa", grace), http.StatusForbidden, "")
	evs := auditAll(t, s.Client, "action=session.login_failed")
	if len(evs) != 1 || !hasChange(evs[0], "provider", "mfa") {
		t.Fatalf("refusal audited as %+v", evs)
	}
	for _, c := range *evs[0].Changes {
		if r, ok := c.After.(string); c.Field == "reason" && (!ok || !strings.Contains(r, `amr ["pwd"] has none of ["mfa" "hwk"]`)) {
			t.Errorf("reason %v", c.After)
		}
	}
	tok := w.redeem(t, w.signIn(t, "pwd", grace))
	if tok.User.Email != api.Email(grace.Email) {
		t.Errorf("signed in as %+v", tok.User)
	}
}

// Failures of the protocol (not of the person) are audited too, with the provider and the
// reason and nothing secret: a wrong state, an answer without code, the provider's error, a
// forged code.
func TestSSOProtocolFailuresAudited(t *testing.T) {
	w := newSSOWorld(t)
	_, cookie := w.start(t, "uni")
	state := "state-the-service-never-issued"
	assertProblem(t, w.callback("/api/v1/auth/sso/uni/callback?code=abc&state="+state, cookie), http.StatusUnauthorized, "")
	loc, cookie := w.start(t, "uni")
	realState := mustParse(t, loc).Query().Get("state")
	assertProblem(t, w.callback("/api/v1/auth/sso/uni/callback?error=access_denied&state="+url.QueryEscape(realState), cookie), http.StatusUnauthorized, "")
	loc, cookie = w.start(t, "uni")
	realState = mustParse(t, loc).Query().Get("state")
	assertProblem(t, w.callback("/api/v1/auth/sso/uni/callback?code=forged-code-123&state="+url.QueryEscape(realState), cookie), http.StatusUnauthorized, "")

	evs := auditAll(t, w.s.Client, "action=session.login_failed")
	reasons := map[string]bool{}
	for _, ev := range evs {
		if !hasChange(ev, "provider", "uni") {
			t.Errorf("event without the provider: %+v", ev)
		}
		for _, c := range *ev.Changes {
			if c.Field == "reason" {
				r, _ := c.After.(string)
				reasons[r] = true
				for _, secret := range []string{state, realState, "forged-code-123", cookie} {
					if strings.Contains(r, secret) {
						t.Errorf("reason %q holds a secret", r)
					}
				}
			}
		}
	}
	for _, want := range []string{
		"state unknown, expired, used, of another provider or started in another browser",
		`the provider answered error "access_denied"`,
		"code exchange refused by the provider",
	} {
		if !reasons[want] {
			t.Errorf("no refusal audited as %q: %v", want, reasons)
		}
	}
}
