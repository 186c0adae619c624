package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// Passkeys are tested with apitest.Authenticator, a software authenticator that builds real
// attestation objects and assertions (ECDSA P-256, "none" or "packed" attestation), checked by
// go-webauthn in the service like any browser's: nothing in the service is bypassed.

func newPasskeyServer(t *testing.T) *apitest.Server {
	t.Helper()
	t.Parallel()
	return apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithLocalhostURL())
}

// startRegistration asks for the options of a new passkey of c's user.
func startRegistration(t *testing.T, c *apitest.Client) api.PasskeyCeremony {
	t.Helper()
	var cer api.PasskeyCeremony
	mustStatus(t, c.Post("/api/v1/auth/passkeys/registration", nil), http.StatusOK).JSON(t, &cer)
	return cer
}

// registerPasskey registers a's credential for c's user under name.
func registerPasskey(t *testing.T, c *apitest.Client, a *apitest.Authenticator, name string) api.Passkey {
	t.Helper()
	cer := startRegistration(t, c)
	var pk api.Passkey
	mustStatus(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": name, "credential": a.Create(t, cer.PublicKey)}),
		http.StatusCreated).JSON(t, &pk)
	return pk
}

// passkeyOptions starts a passkey sign-in: the second step of the password sign-in challenge,
// or ("") one without a password.
func passkeyOptions(t *testing.T, s *apitest.Server, challenge string) api.PasskeyCeremony {
	t.Helper()
	body := map[string]string{}
	if challenge != "" {
		body["challenge"] = challenge
	}
	var cer api.PasskeyCeremony
	mustStatus(t, s.Anon.Post("/api/v1/auth/login/passkey/options", body), http.StatusOK).JSON(t, &cer)
	return cer
}

func passkeySignIn(s *apitest.Server, ceremony string, credential map[string]any) *apitest.Response {
	return s.Anon.Post("/api/v1/auth/login/passkey", map[string]any{"ceremony": ceremony, "credential": credential})
}

func hasChange(ev api.AuditEvent, field string, after any) bool {
	if ev.Changes == nil {
		return false
	}
	for _, c := range *ev.Changes {
		if c.Field == field && (after == nil || c.After == after) {
			return true
		}
	}
	return false
}

// The whole life of a passkey: register it (signed in with a password), then it is the
// second step of a password sign-in, then it signs in without a password; its counter moves,
// the list shows it, deleting it brings the password alone back; every step audited.
func TestPasskeyLifecycle(t *testing.T) {
	s := newPasskeyServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, tok := s.Login(t, email, apitest.TestPassword)
	a := apitest.NewAuthenticator(t, s.PublicURL)

	cer := startRegistration(t, c)
	if d := time.Until(cer.ExpiresAt); d < 4*time.Minute || d > 6*time.Minute {
		t.Errorf("ceremony expires in %v, want about 5 minutes", d)
	}
	opts := cer.PublicKey.(map[string]any)
	if rp := opts["rp"].(map[string]any); rp["id"] != "localhost" {
		t.Errorf("RP id %v, want localhost (the public URL's host)", rp["id"])
	}
	if sel := opts["authenticatorSelection"].(map[string]any); sel["residentKey"] != "required" {
		t.Errorf("authenticatorSelection %v, want a discoverable credential", sel)
	}
	if handle, _ := base64.RawURLEncoding.DecodeString(opts["user"].(map[string]any)["id"].(string)); string(handle) != tok.User.Id {
		t.Errorf("user handle %q, want the user's public id", handle)
	}
	var pk api.Passkey
	mustStatus(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": "Laptop", "credential": a.Create(t, cer.PublicKey)}),
		http.StatusCreated).JSON(t, &pk)
	if pk.Name != "Laptop" || pk.CloneWarning || pk.LastUsedAt != nil {
		t.Errorf("registered %+v", pk)
	}
	// A second registration excludes it, and the same credential again is refused.
	cer = startRegistration(t, c)
	if ex, _ := cer.PublicKey.(map[string]any)["excludeCredentials"].([]any); len(ex) != 1 {
		t.Errorf("excludeCredentials %v, want the registered passkey", ex)
	}
	assertProblem(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": "Again", "credential": a.Create(t, cer.PublicKey)}),
		http.StatusConflict, "")

	// The second step of a password sign-in.
	var ch api.LoginChallenge
	mustStatus(t, s.Anon.Post("/api/v1/auth/login", map[string]string{"email": email, "password": apitest.TestPassword}), http.StatusAccepted).JSON(t, &ch)
	if ch.Next != api.LoginChallengeNextTotp || ch.Factors == nil || !slices.Equal(*ch.Factors, []api.LoginChallengeFactors{api.LoginChallengeFactorsPasskey}) {
		t.Fatalf("challenge %+v, want a second step by passkey", ch)
	}
	cer = passkeyOptions(t, s, ch.Challenge)
	if allow, _ := cer.PublicKey.(map[string]any)["allowCredentials"].([]any); len(allow) != 1 {
		t.Errorf("allowCredentials %v, want the user's passkey", allow)
	}
	var signedIn api.Tokens
	mustStatus(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusOK).JSON(t, &signedIn)
	if signedIn.User.Id != tok.User.Id {
		t.Errorf("signed in as %s, want %s", signedIn.User.Id, tok.User.Id)
	}
	mustStatus(t, s.Anon.WithToken(signedIn.AccessToken).Get("/api/v1/auth/me", nil), http.StatusOK)
	// The challenge is spent: neither a code nor another passkey answer opens a second session.
	assertProblem(t, s.Anon.Post("/api/v1/auth/login/passkey/options", map[string]string{"challenge": ch.Challenge}), http.StatusUnauthorized, "")

	// Without a password: a discoverable credential with user verification.
	cer = passkeyOptions(t, s, "")
	ro := cer.PublicKey.(map[string]any)
	if ro["userVerification"] != "required" || ro["allowCredentials"] != nil {
		t.Errorf("passwordless options %v, want user verification and no allowed list", ro)
	}
	mustStatus(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusOK).JSON(t, &signedIn)
	if signedIn.User.Id != tok.User.Id {
		t.Errorf("signed in as %s, want %s", signedIn.User.Id, tok.User.Id)
	}
	c2 := s.Anon.WithToken(signedIn.AccessToken)
	var list api.PasskeyList
	mustStatus(t, c2.Get("/api/v1/auth/passkeys", nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Id != pk.Id || list.Items[0].LastUsedAt == nil {
		t.Errorf("passkeys %+v, want the one, used", list.Items)
	}
	var counter int
	if err := s.DB.QueryRow("SELECT JSON_EXTRACT(record, '$.authenticator.signCount') FROM passkeys").Scan(&counter); err != nil {
		t.Fatal(err)
	}
	if counter != 2 {
		t.Errorf("stored signature counter %d, want 2 (written back after each sign-in)", counter)
	}

	// Somebody else's id is not found; deleting brings the password alone back.
	assertProblem(t, s.Client.Delete("/api/v1/auth/passkeys/"+pk.Id, ""), http.StatusNotFound, "")
	mustStatus(t, c2.Delete("/api/v1/auth/passkeys/"+pk.Id, ""), http.StatusNoContent)
	assertProblem(t, c2.Delete("/api/v1/auth/passkeys/"+pk.Id, ""), http.StatusNotFound, "")
	s.Login(t, email, apitest.TestPassword)
	cer = passkeyOptions(t, s, "")
	assertProblem(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusUnauthorized, "")
	unknown := false
	for _, ev := range auditAll(t, s.Client, "action=session.login_failed") {
		unknown = unknown || hasChange(ev, "reason", "unknown passkey")
	}
	if !unknown {
		t.Error("the deleted passkey's refused sign-in is not audited")
	}

	var actions []string
	for _, ev := range auditAll(t, s.Client, "entityId="+tok.User.Id) {
		actions = append(actions, ev.Action)
	}
	for _, want := range []string{"user.passkey_enrol", "user.passkey_add", "session.second_factor_due", "user.passkey_remove"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit trail lacks %s: %v", want, actions)
		}
	}
	var second, passwordless bool
	for _, ev := range auditAll(t, s.Client, "action=session.login&entityId="+tok.User.Id) {
		second = second || hasChange(ev, "secondFactor", "passkey") && hasChange(ev, "passkey", pk.Id)
		passwordless = passwordless || hasChange(ev, "method", "passkey") && hasChange(ev, "passkey", pk.Id)
	}
	if !second || !passwordless {
		t.Errorf("session.login events name the passkey as second factor %v, as the way in %v; want both", second, passwordless)
	}
}

// A packed self-attestation (signed with the credential's own key) is verified and accepted.
func TestPasskeyPackedAttestation(t *testing.T) {
	s := newPasskeyServer(t)
	c, _ := s.Login(t, s.CreateUser(t, auth.RoleViewer, ""), apitest.TestPassword)
	a := apitest.NewAuthenticator(t, s.PublicURL)
	a.Format = "packed"
	registerPasskey(t, c, a, "Security key")
	cer := passkeyOptions(t, s, "")
	mustStatus(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusOK)

	// A packed statement signed by another key than the credential's is refused.
	b := apitest.NewAuthenticator(t, s.PublicURL)
	b.Format = "packed"
	b.AttestationKey = apitest.NewAuthenticator(t, s.PublicURL).Key
	cer = startRegistration(t, c)
	assertProblem(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": "Forged", "credential": b.Create(t, cer.PublicKey)}),
		http.StatusUnprocessableEntity, "credential")
}

// Registration refuses what does not belong to the caller's ceremony.
func TestPasskeyRegistrationRefusals(t *testing.T) {
	s := newPasskeyServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	other, _ := s.Login(t, s.CreateUser(t, auth.RoleStaff, ""), apitest.TestPassword)

	cases := []struct {
		name  string
		setup func(t *testing.T) (ceremony string, credential map[string]any)
		field string
	}{
		{"wrong challenge", func(t *testing.T) (string, map[string]any) {
			mine, theirs := startRegistration(t, c), startRegistration(t, c)
			return mine.Ceremony, apitest.NewAuthenticator(t, s.PublicURL).Create(t, theirs.PublicKey)
		}, "credential"},
		{"wrong origin", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, c)
			return cer.Ceremony, apitest.NewAuthenticator(t, "https://evil.example").Create(t, cer.PublicKey)
		}, "credential"},
		{"wrong RP id", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, c)
			a := apitest.NewAuthenticator(t, s.PublicURL)
			a.RPID = "evil.example"
			return cer.Ceremony, a.Create(t, cer.PublicKey)
		}, "credential"},
		{"another user's ceremony", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, other)
			return cer.Ceremony, apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)
		}, "ceremony"},
		{"replayed ceremony", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, c)
			cred := apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)
			mustStatus(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": "First", "credential": cred}), http.StatusCreated)
			return cer.Ceremony, apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)
		}, "ceremony"},
		{"unknown ceremony", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, c)
			return "no-such-ceremony", apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)
		}, "ceremony"},
		{"expired ceremony", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, c)
			if _, err := s.DB.Exec("UPDATE webauthn_ceremonies SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE used_at IS NULL"); err != nil {
				t.Fatal(err)
			}
			return cer.Ceremony, apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)
		}, "ceremony"},
		{"a sign-in ceremony", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			return cer.Ceremony, apitest.NewAuthenticator(t, s.PublicURL).Create(t, startRegistration(t, c).PublicKey)
		}, "ceremony"},
		{"tampered client data", func(t *testing.T) (string, map[string]any) {
			cer := startRegistration(t, c)
			cred := apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)
			cred["response"].(map[string]any)["clientDataJSON"] = base64.RawURLEncoding.EncodeToString([]byte(`{"type":"webauthn.get"}`))
			return cer.Ceremony, cred
		}, "credential"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ceremony, cred := tc.setup(t)
			assertProblem(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": ceremony, "name": "Refused", "credential": cred}),
				http.StatusUnprocessableEntity, tc.field)
		})
	}
	var list api.PasskeyList
	mustStatus(t, c.Get("/api/v1/auth/passkeys", nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "First" {
		t.Errorf("passkeys %+v, want only the one registered by the replayed ceremony's first use", list.Items)
	}
	// A blank name, and malformed answers, which stop at the contract.
	cer := startRegistration(t, c)
	assertProblem(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": "  ",
		"credential": apitest.NewAuthenticator(t, s.PublicURL).Create(t, cer.PublicKey)}), http.StatusUnprocessableEntity, "name")
	assertProblem(t, c.Post("/api/v1/auth/passkeys", map[string]any{"ceremony": cer.Ceremony, "name": "X", "credential": map[string]any{"id": "x"}}),
		http.StatusBadRequest, "")
}

// Sign-in refuses every answer that is not the right passkey's to this ceremony, each with the
// same 401, and audits why.
func TestPasskeySignInRefusals(t *testing.T) {
	s := newPasskeyServer(t)
	aliceEmail, bobEmail := s.CreateUser(t, auth.RoleStaff, ""), s.CreateUser(t, auth.RoleViewer, "")
	alice, aliceTok := s.Login(t, aliceEmail, apitest.TestPassword)
	bob, _ := s.Login(t, bobEmail, apitest.TestPassword)
	aliceKey, bobKey := apitest.NewAuthenticator(t, s.PublicURL), apitest.NewAuthenticator(t, s.PublicURL)
	registerPasskey(t, alice, aliceKey, "Alice's laptop")
	registerPasskey(t, bob, bobKey, "Bob's phone")
	challenge := func(t *testing.T) string { return passwordStep(t, s, aliceEmail, api.LoginChallengeNextTotp) }

	cases := []struct {
		name   string
		answer func(t *testing.T) (ceremony string, credential map[string]any)
	}{
		{"wrong challenge", func(t *testing.T) (string, map[string]any) {
			mine, theirs := passkeyOptions(t, s, ""), passkeyOptions(t, s, "")
			return mine.Ceremony, aliceKey.Get(t, theirs.PublicKey)
		}},
		{"wrong origin", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			aliceKey.Origin = "https://evil.example"
			defer func() { aliceKey.Origin = s.PublicURL }()
			return cer.Ceremony, aliceKey.Get(t, cer.PublicKey)
		}},
		{"wrong RP id", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			aliceKey.RPID = "evil.example"
			defer func() { aliceKey.RPID = "" }()
			return cer.Ceremony, aliceKey.Get(t, cer.PublicKey)
		}},
		{"replayed ceremony", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			mustStatus(t, passkeySignIn(s, cer.Ceremony, aliceKey.Get(t, cer.PublicKey)), http.StatusOK)
			return cer.Ceremony, aliceKey.Get(t, cer.PublicKey)
		}},
		{"replayed assertion", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			cred := aliceKey.Get(t, cer.PublicKey)
			mustStatus(t, passkeySignIn(s, cer.Ceremony, cred), http.StatusOK)
			return passkeyOptions(t, s, "").Ceremony, cred // signed over the first ceremony's challenge
		}},
		{"unknown ceremony", func(t *testing.T) (string, map[string]any) {
			return "no-such-ceremony", aliceKey.Get(t, passkeyOptions(t, s, "").PublicKey)
		}},
		{"expired ceremony", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			if _, err := s.DB.Exec("UPDATE webauthn_ceremonies SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE used_at IS NULL"); err != nil {
				t.Fatal(err)
			}
			return cer.Ceremony, aliceKey.Get(t, cer.PublicKey)
		}},
		{"a registration ceremony", func(t *testing.T) (string, map[string]any) {
			return startRegistration(t, alice).Ceremony, aliceKey.Get(t, passkeyOptions(t, s, "").PublicKey)
		}},
		{"unknown credential", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			stranger := apitest.NewAuthenticator(t, s.PublicURL)
			stranger.UserHandle = []byte(aliceTok.User.Id)
			return cer.Ceremony, stranger.Get(t, cer.PublicKey)
		}},
		{"wrong user: another's passkey answers the second step", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, challenge(t))
			return cer.Ceremony, bobKey.Get(t, cer.PublicKey)
		}},
		{"wrong user: user handle of another user", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			cred := aliceKey.Get(t, cer.PublicKey)
			cred["response"].(map[string]any)["userHandle"] = base64.RawURLEncoding.EncodeToString(bobKey.UserHandle)
			return cer.Ceremony, cred
		}},
		{"no user verification without a password", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			aliceKey.NoUV = true
			defer func() { aliceKey.NoUV = false }()
			return cer.Ceremony, aliceKey.Get(t, cer.PublicKey)
		}},
		{"bad signature", func(t *testing.T) (string, map[string]any) {
			cer := passkeyOptions(t, s, "")
			cred := aliceKey.Get(t, cer.PublicKey)
			cred["response"].(map[string]any)["signature"] = bobKey.Get(t, cer.PublicKey)["response"].(map[string]any)["signature"]
			return cer.Ceremony, cred
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ceremony, cred := tc.answer(t)
			assertProblem(t, passkeySignIn(s, ceremony, cred), http.StatusUnauthorized, "")
		})
	}

	// Without user verification a passkey still answers a password sign-in's second step.
	aliceKey.NoUV = true
	cer := passkeyOptions(t, s, challenge(t))
	mustStatus(t, passkeySignIn(s, cer.Ceremony, aliceKey.Get(t, cer.PublicKey)), http.StatusOK)
	aliceKey.NoUV = false

	// Wrong answers kill the password sign-in's challenge after five, as wrong codes do.
	ch := challenge(t)
	for range 5 {
		cer := passkeyOptions(t, s, ch)
		assertProblem(t, passkeySignIn(s, cer.Ceremony, bobKey.Get(t, cer.PublicKey)), http.StatusUnauthorized, "")
	}
	assertProblem(t, s.Anon.Post("/api/v1/auth/login/passkey/options", map[string]string{"challenge": ch}), http.StatusUnauthorized, "")

	// Other start refusals: a challenge of a user without passkeys, a malformed body.
	carol := s.CreateUser(t, auth.RoleStaff, "")
	cc, _ := s.Login(t, carol, apitest.TestPassword)
	enrolTOTP(t, cc)
	assertProblem(t, s.Anon.Post("/api/v1/auth/login/passkey/options", map[string]string{"challenge": passwordStep(t, s, carol, api.LoginChallengeNextTotp)}),
		http.StatusUnprocessableEntity, "challenge")
	assertProblem(t, s.Anon.Post("/api/v1/auth/login/passkey/options", map[string]any{"challenge": 5}), http.StatusBadRequest, "")

	failed := 0
	for _, ev := range append(auditAll(t, s.Client, "action=session.login_failed"), auditAll(t, s.Client, "action=session.second_factor_failed")...) {
		if hasChange(ev, "factor", "passkey") && hasChange(ev, "reason", nil) {
			failed++
		}
	}
	if failed != len(cases)+5 {
		t.Errorf("%d refused passkey answers audited with their reason, want every one (%d)", failed, len(cases)+5)
	}
}

// A signature counter that goes back (a copy of the authenticator answering) is refused and
// flags the passkey; the authenticator whose counter is ahead still signs in.
func TestPasskeyCloneWarning(t *testing.T) {
	s := newPasskeyServer(t)
	c, _ := s.Login(t, s.CreateUser(t, auth.RoleStaff, ""), apitest.TestPassword)
	a := apitest.NewAuthenticator(t, s.PublicURL)
	registerPasskey(t, c, a, "Key")
	for range 3 {
		cer := passkeyOptions(t, s, "")
		mustStatus(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusOK)
	}
	clone := *a
	clone.Counter = 1
	cer := passkeyOptions(t, s, "")
	assertProblem(t, passkeySignIn(s, cer.Ceremony, clone.Get(t, cer.PublicKey)), http.StatusUnauthorized, "")
	var list api.PasskeyList
	mustStatus(t, c.Get("/api/v1/auth/passkeys", nil), http.StatusOK).JSON(t, &list)
	if !list.Items[0].CloneWarning {
		t.Errorf("passkey %+v, want cloneWarning", list.Items[0])
	}
	found := false
	for _, ev := range auditAll(t, s.Client, "action=session.login_failed") {
		for _, ch := range *ev.Changes {
			if s, ok := ch.After.(string); ch.Field == "reason" && ok && strings.Contains(s, "cloned") {
				found = true
			}
		}
	}
	if !found {
		t.Error("the refused clone is not audited")
	}
	cer = passkeyOptions(t, s, "")
	mustStatus(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusOK)
}

// An admin removes a user's passkeys (lost or stolen) and the user's sessions end.
func TestPasskeyResetByAdmin(t *testing.T) {
	s := newPasskeyServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, tok := s.Login(t, email, apitest.TestPassword)
	a := apitest.NewAuthenticator(t, s.PublicURL)
	registerPasskey(t, c, a, "Lost")
	registerPasskey(t, c, apitest.NewAuthenticator(t, s.PublicURL), "Also lost")
	mustStatus(t, s.Client.Delete("/api/v1/users/"+tok.User.Id+"/passkeys", ""), http.StatusNoContent)
	assertProblem(t, c.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
	s.Login(t, email, apitest.TestPassword) // the password alone again
	cer := passkeyOptions(t, s, "")
	assertProblem(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusUnauthorized, "")
	assertProblem(t, s.Client.Delete("/api/v1/users/"+tok.User.Id+"/passkeys", ""), http.StatusConflict, "")
	assertProblem(t, s.Client.Delete("/api/v1/users/01JD3M5X7V8Q9R2S4T6W8Y0Z1C/passkeys", ""), http.StatusNotFound, "")
	evs := auditAll(t, s.Client, "action=user.passkey_remove&entityId="+tok.User.Id)
	if len(evs) != 1 || !hasChange(evs[0], "reset", true) {
		t.Errorf("reset audited as %+v", evs)
	}
}

// A passkey is an admin's second factor while adminsRequireTotp is on: the password step asks
// for it (not for an enrolment), and the admin cannot delete the last one.
func TestPasskeyAsAdminsSecondFactor(t *testing.T) {
	s := newPasskeyServer(t)
	email := s.CreateUser(t, auth.RoleAdmin, "")
	c, _ := s.Login(t, email, apitest.TestPassword) // the setting is off in test servers
	a := apitest.NewAuthenticator(t, s.PublicURL)
	pk := registerPasskey(t, c, a, "Admin key")
	apitest.SetAdminsRequireTOTP(t, s.DB, true)
	cer := passkeyOptions(t, s, passwordStep(t, s, email, api.LoginChallengeNextTotp))
	var tok api.Tokens
	mustStatus(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusOK).JSON(t, &tok)
	admin := s.Anon.WithToken(tok.AccessToken)
	assertProblem(t, admin.Delete("/api/v1/auth/passkeys/"+pk.Id, ""), http.StatusConflict, "")
	registerPasskey(t, admin, apitest.NewAuthenticator(t, s.PublicURL), "Spare")
	mustStatus(t, admin.Delete("/api/v1/auth/passkeys/"+pk.Id, ""), http.StatusNoContent)
}

// Signing in without a password obeys staffRequireSso like a password does; accounts that
// sign in through an identity provider register no passkeys.
func TestPasskeyAndSingleSignOn(t *testing.T) {
	s := newPasskeyServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	a := apitest.NewAuthenticator(t, s.PublicURL)
	registerPasskey(t, c, a, "Key")
	r := mustStatus(t, s.Client.Get("/api/v1/settings", nil), http.StatusOK)
	var st api.Settings
	r.JSON(t, &st)
	on := true
	st.StaffRequireSso = &on
	mustStatus(t, s.Client.Do(apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Body: st,
		Header: map[string]string{"If-Match": r.Header.Get("ETag")}}), http.StatusOK)
	cer := passkeyOptions(t, s, "")
	assertProblem(t, passkeySignIn(s, cer.Ceremony, a.Get(t, cer.PublicKey)), http.StatusForbidden, "")

	linked := s.CreateUser(t, auth.RoleViewer, "")
	lc, _ := s.Login(t, linked, apitest.TestPassword)
	if _, err := s.Auth.LinkIdentity(t.Context(), linked, "https://idp.example.edu", "subject-1"); err != nil {
		t.Fatal(err)
	}
	assertProblem(t, lc.Post("/api/v1/auth/passkeys/registration", nil), http.StatusConflict, "")
}

// Without a public URL whose host is a domain name there is no relying party: passkeys are off.
func TestPasskeysOffWithoutDomain(t *testing.T) {
	s := newServer(t) // public URL http://127.0.0.1:port
	assertProblem(t, s.Client.Post("/api/v1/auth/passkeys/registration", nil), http.StatusNotFound, "")
	assertProblem(t, s.Anon.Post("/api/v1/auth/login/passkey/options", nil), http.StatusNotFound, "")
	var list api.PasskeyList
	mustStatus(t, s.Client.Get("/api/v1/auth/passkeys", nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("passkeys %+v", list.Items)
	}
}
