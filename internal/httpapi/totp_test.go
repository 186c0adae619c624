package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// authenticator is a user's authenticator app: it gives the code of the earliest time step
// the server still accepts (one step either side of now) that was not used before, so a test
// can use up to three codes in one 30-second step without waiting, and never sends a code
// the server is right to refuse as replayed.
type authenticator struct {
	secret string
	last   int64 // the last step whose code was handed out
}

func (a *authenticator) code(t *testing.T) string {
	t.Helper()
	for {
		now := time.Now()
		if 30-now.Unix()%30 <= 2 { // too close to the next step: the server may already be there
			time.Sleep(3 * time.Second)
			continue
		}
		cur := now.Unix() / 30
		for st := cur - 1; st <= cur+1; st++ {
			if st > a.last {
				a.last = st
				return apitest.TOTPCode(t, a.secret, time.Unix(st*30, 0))
			}
		}
		time.Sleep(time.Until(time.Unix((cur+1)*30, 0)) + 100*time.Millisecond)
	}
}

// lastCode is the code handed out last: one the server has accepted (or will refuse as used).
func (a *authenticator) lastCode(t *testing.T) string {
	return apitest.TOTPCode(t, a.secret, time.Unix(a.last*30, 0))
}

// enrolTOTP turns the second factor of c's user on and returns its authenticator and
// recovery codes.
func enrolTOTP(t *testing.T, c *apitest.Client) (*authenticator, []string) {
	t.Helper()
	var e api.TotpEnrolment
	mustStatus(t, c.Post("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &e)
	a := &authenticator{secret: e.Secret}
	var rc api.RecoveryCodes
	mustStatus(t, c.Post("/api/v1/auth/totp/confirm", map[string]string{"code": a.code(t)}), http.StatusOK).JSON(t, &rc)
	return a, rc.RecoveryCodes
}

// passwordStep signs in with email and the test password and returns the challenge, which
// must ask for next.
func passwordStep(t *testing.T, s *apitest.Server, email string, next api.LoginChallengeNext) string {
	t.Helper()
	var ch api.LoginChallenge
	mustStatus(t, s.Anon.Post("/api/v1/auth/login", map[string]string{"email": email, "password": apitest.TestPassword}), http.StatusAccepted).JSON(t, &ch)
	if ch.Next != next {
		t.Fatalf("challenge asks for %q, want %q", ch.Next, next)
	}
	if d := time.Until(ch.ExpiresAt); d < 4*time.Minute || d > 6*time.Minute {
		t.Errorf("challenge expires in %v, want about 5 minutes", d)
	}
	return ch.Challenge
}

func secondStep(s *apitest.Server, challenge string, answer map[string]string) *apitest.Response {
	body := map[string]string{"challenge": challenge}
	for k, v := range answer {
		body[k] = v
	}
	return s.Anon.Post("/api/v1/auth/login/totp", body)
}

// The whole life of a second factor: enrol (otpauth URI, secret sealed at rest), a wrong
// first code, confirm (ten recovery codes), sign in with password then code, then turn it
// off with a fresh code; every step in the audit trail.
func TestTOTPLifecycle(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)

	var st api.TotpStatus
	mustStatus(t, c.Get("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &st)
	if st.Enabled || st.Required || st.RecoveryCodesLeft != 0 {
		t.Errorf("status before enrolment: %+v", st)
	}

	var e api.TotpEnrolment
	mustStatus(t, c.Post("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &e)
	if !strings.HasPrefix(e.OtpauthUri, "otpauth://totp/") || !strings.Contains(e.OtpauthUri, "secret="+e.Secret) ||
		!strings.Contains(e.OtpauthUri, "issuer=Alumni") || len(e.Secret) < 32 {
		t.Errorf("enrolment %+v is not an otpauth URI with a 160-bit secret", e)
	}
	var stored []byte
	if err := s.DB.QueryRow("SELECT secret FROM user_totp").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), e.Secret) || stored[0] != 1 {
		t.Errorf("the secret is stored unsealed")
	}
	// Until confirmed, sign-in does not change.
	s.Login(t, email, apitest.TestPassword)

	a := &authenticator{secret: e.Secret}
	wrong := "000000"
	if a.code(t) == wrong { // astronomically unlikely; keeps the test honest
		wrong = "000001"
	}
	a.last-- // that code was not sent
	assertProblem(t, c.Post("/api/v1/auth/totp/confirm", map[string]string{"code": wrong}), http.StatusUnprocessableEntity, "code")
	var rc api.RecoveryCodes
	mustStatus(t, c.Post("/api/v1/auth/totp/confirm", map[string]string{"code": a.code(t)}), http.StatusOK).JSON(t, &rc)
	seen := map[string]bool{}
	for _, code := range rc.RecoveryCodes {
		if len(code) != 27 || strings.Count(code, "-") != 3 || seen[code] {
			t.Errorf("recovery code %q is not a new xxxxxx-xxxxxx-xxxxxx-xxxxxx code", code)
		}
		seen[code] = true
	}
	assertProblem(t, c.Post("/api/v1/auth/totp/confirm", map[string]string{"code": a.code(t)}), http.StatusConflict, "")
	assertProblem(t, c.Post("/api/v1/auth/totp", nil), http.StatusConflict, "")
	mustStatus(t, c.Get("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &st)
	if !st.Enabled || st.EnabledAt == nil || st.RecoveryCodesLeft != 10 {
		t.Errorf("status after enrolment: %+v", st)
	}

	// Sign-in is now two steps.
	ch := passwordStep(t, s, email, api.LoginChallengeNextTotp)
	var tok api.Tokens
	mustStatus(t, secondStep(s, ch, map[string]string{"code": a.code(t)}), http.StatusOK).JSON(t, &tok)
	if tok.User.Email != api.Email(email) || tok.RecoveryCodes != nil {
		t.Errorf("tokens: %+v", tok)
	}
	mustStatus(t, s.Anon.WithToken(tok.AccessToken).Get("/api/v1/auth/me", nil), http.StatusOK)

	// Off, with a fresh code; then sign-in is one step again.
	c2 := s.Anon.WithToken(tok.AccessToken)
	mustStatus(t, c2.Post("/api/v1/auth/totp/disable", map[string]string{"code": a.code(t)}), http.StatusNoContent)
	assertProblem(t, c2.Post("/api/v1/auth/totp/disable", map[string]string{"code": a.code(t)}), http.StatusConflict, "")
	s.Login(t, email, apitest.TestPassword)

	var actions []string
	for _, ev := range auditAll(t, s.Client, "entityId="+tok.User.Id) {
		actions = append(actions, ev.Action)
	}
	for _, want := range []string{"user.totp_enrol", "session.second_factor_failed", "user.totp_enable", "session.second_factor_due", "user.totp_disable"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit trail lacks %s: %v", want, actions)
		}
	}
	logins := auditAll(t, s.Client, "action=session.login&entityId="+tok.User.Id)
	found := false
	for _, ev := range logins {
		if ev.Changes != nil && len(*ev.Changes) == 1 && (*ev.Changes)[0].Field == "secondFactor" {
			found = true
		}
	}
	if !found {
		t.Errorf("no session.login names the second factor: %+v", logins)
	}
}

// The second step refuses, without opening a session: a wrong code, a replayed one, an
// expired, used, unknown or worn-out challenge, and answers of the wrong shape. Every refusal
// is a problem the contract documents.
func TestTOTPSignInRefusals(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	a, _ := enrolTOTP(t, c)

	tests := []struct {
		name   string
		setup  func(t *testing.T, challenge string) // before the answer
		answer func(t *testing.T) map[string]string
		status int
		field  string
	}{
		{name: "wrong code", answer: func(*testing.T) map[string]string { return map[string]string{"code": "999999"} }, status: http.StatusUnauthorized},
		{name: "replayed code", answer: func(t *testing.T) map[string]string { return map[string]string{"code": a.lastCode(t)} }, status: http.StatusUnauthorized},
		{name: "expired challenge", setup: func(t *testing.T, _ string) {
			if _, err := s.DB.Exec("UPDATE login_challenges SET expires_at = ? WHERE used_at IS NULL", time.Now().UTC().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}, answer: func(t *testing.T) map[string]string { return map[string]string{"code": a.code(t)} }, status: http.StatusUnauthorized},
		{name: "both code and recovery code", answer: func(*testing.T) map[string]string {
			return map[string]string{"code": "123456", "recoveryCode": "abcde-fghij"}
		}, status: http.StatusUnprocessableEntity, field: "code"},
		{name: "no answer", answer: func(*testing.T) map[string]string { return nil }, status: http.StatusUnprocessableEntity, field: "code"},
		{name: "not six digits", answer: func(*testing.T) map[string]string { return map[string]string{"code": "12a456"} }, status: http.StatusBadRequest, field: "code"},
		{name: "recovery code never issued", answer: func(*testing.T) map[string]string { return map[string]string{"recoveryCode": "zzzzz-zzzzz"} }, status: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := passwordStep(t, s, email, api.LoginChallengeNextTotp)
			if tc.setup != nil {
				tc.setup(t, ch)
			}
			assertProblem(t, secondStep(s, ch, tc.answer(t)), tc.status, tc.field)
		})
	}

	t.Run("unknown challenge", func(t *testing.T) {
		assertProblem(t, secondStep(s, "no-such-challenge", map[string]string{"code": "123456"}), http.StatusUnauthorized, "")
		assertProblem(t, s.Anon.Post("/api/v1/auth/login/totp-enrolment", map[string]string{"challenge": "no-such-challenge"}), http.StatusUnauthorized, "")
	})
	t.Run("used challenge", func(t *testing.T) {
		ch := passwordStep(t, s, email, api.LoginChallengeNextTotp)
		mustStatus(t, secondStep(s, ch, map[string]string{"code": a.code(t)}), http.StatusOK)
		assertProblem(t, secondStep(s, ch, map[string]string{"code": a.code(t)}), http.StatusUnauthorized, "")
		a.last-- // refused before its code was looked at: still fresh
	})
	t.Run("a totp challenge cannot enrol", func(t *testing.T) {
		ch := passwordStep(t, s, email, api.LoginChallengeNextTotp)
		assertProblem(t, s.Anon.Post("/api/v1/auth/login/totp-enrolment", map[string]string{"challenge": ch}), http.StatusUnauthorized, "")
	})
	t.Run("disabled meanwhile", func(t *testing.T) {
		ch := passwordStep(t, s, email, api.LoginChallengeNextTotp)
		if _, err := s.DB.Exec("UPDATE users SET enabled = FALSE WHERE email = ?", email); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = s.DB.Exec("UPDATE users SET enabled = TRUE WHERE email = ?", email) }()
		assertProblem(t, secondStep(s, ch, map[string]string{"code": a.code(t)}), http.StatusUnauthorized, "")
		a.last--
	})
}

// A challenge dies after five wrong codes, and wrong codes count in the sign-in throttle:
// the sixth wrong code from the same address, on a fresh challenge, is refused with 429
// and Retry-After before it is checked.
func TestTOTPThrottled(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleViewer, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	a, _ := enrolTOTP(t, c)

	ch := passwordStep(t, s, email, api.LoginChallengeNextTotp)
	for range 5 {
		assertProblem(t, secondStep(s, ch, map[string]string{"code": "999999"}), http.StatusUnauthorized, "")
	}
	// The right code no longer helps this challenge...
	p := secondStep(s, ch, map[string]string{"code": a.code(t)})
	if p.Status != http.StatusUnauthorized && p.Status != http.StatusTooManyRequests {
		t.Fatalf("right code on a worn-out challenge: %d %s", p.Status, p.Body)
	}
	a.last--
	// ...and a fresh challenge from this address waits for the window to end.
	ch = passwordStep(t, s, email, api.LoginChallengeNextTotp)
	r := secondStep(s, ch, map[string]string{"code": a.code(t)})
	assertProblem(t, r, http.StatusTooManyRequests, "")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	// Recovery codes are throttled the same way.
	assertProblem(t, secondStep(s, ch, map[string]string{"recoveryCode": "abcde-fghij"}), http.StatusTooManyRequests, "")
	// Confirming and disabling count in the same buckets.
	assertProblem(t, c.Post("/api/v1/auth/totp/disable", map[string]string{"code": a.code(t)}), http.StatusTooManyRequests, "")
}

// Each recovery code works once, whatever its case and dashes; a used one is refused.
func TestTOTPRecoveryCodes(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	_, codes := enrolTOTP(t, c)

	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	var tok api.Tokens
	mustStatus(t, secondStep(s, passwordStep(t, s, email, api.LoginChallengeNextTotp), map[string]string{"recoveryCode": typed}), http.StatusOK).JSON(t, &tok)
	assertProblem(t, secondStep(s, passwordStep(t, s, email, api.LoginChallengeNextTotp), map[string]string{"recoveryCode": codes[3]}), http.StatusUnauthorized, "")
	mustStatus(t, secondStep(s, passwordStep(t, s, email, api.LoginChallengeNextTotp), map[string]string{"recoveryCode": codes[4]}), http.StatusOK)

	var st api.TotpStatus
	mustStatus(t, s.Anon.WithToken(tok.AccessToken).Get("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &st)
	if st.RecoveryCodesLeft != 8 {
		t.Errorf("%d recovery codes left, want 8", st.RecoveryCodesLeft)
	}
	logins := auditAll(t, s.Client, "action=session.login&entityId="+tok.User.Id)
	recovered := 0
	for _, ev := range logins {
		if ev.Changes != nil && len(*ev.Changes) == 1 && (*ev.Changes)[0].After == "recovery_code" {
			recovered++
		}
	}
	if recovered != 2 {
		t.Errorf("%d sign-ins audited as by recovery code, want 2", recovered)
	}
}

// Turning the factor off needs a fresh code: not a wrong one, not the one just used.
func TestTOTPDisableNeedsFreshCode(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, _ := s.Login(t, email, apitest.TestPassword)
	a, codes := enrolTOTP(t, c)

	tests := []struct {
		name string
		body map[string]any
		want int
	}{
		{"wrong code", map[string]any{"code": "999999"}, http.StatusUnprocessableEntity},
		{"the code just used", map[string]any{"code": a.lastCode(t)}, http.StatusUnprocessableEntity},
		{"a recovery code", map[string]any{"code": codes[0]}, http.StatusBadRequest},
		{"no code", map[string]any{}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			field := "code"
			assertProblem(t, c.Post("/api/v1/auth/totp/disable", tc.body), tc.want, field)
		})
	}
	var st api.TotpStatus
	mustStatus(t, c.Get("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &st)
	if !st.Enabled {
		t.Fatalf("a refused disable turned the factor off")
	}
	mustStatus(t, c.Post("/api/v1/auth/totp/disable", map[string]string{"code": a.code(t)}), http.StatusNoContent)
	if n := countRows(t, s, "SELECT COUNT(*) FROM recovery_codes"); n != 0 {
		t.Errorf("%d recovery codes left after disabling", n)
	}
}

// With adminsRequireTotp on (the default), an admin without a second factor is told to set
// one up at sign-in and can do nothing else with that challenge; the first code opens the
// session and shows the recovery codes; the admin cannot turn the factor off while the
// setting is on. Other roles are not asked.
func TestTOTPRequiredForAdmins(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithAdminTOTPRequired())
	email := s.CreateUser(t, auth.RoleAdmin, "")

	ch := passwordStep(t, s, email, api.LoginChallengeNextEnrol)
	// The challenge opens nothing but enrolment: a code before there is a secret, a recovery
	// code, a bearer token made of it.
	assertProblem(t, secondStep(s, ch, map[string]string{"code": "123456"}), http.StatusUnprocessableEntity, "code")
	assertProblem(t, secondStep(s, ch, map[string]string{"recoveryCode": "abcde-fghij"}), http.StatusUnprocessableEntity, "recoveryCode")
	assertProblem(t, s.Anon.WithToken(ch).Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")

	var e api.TotpEnrolment
	mustStatus(t, s.Anon.Post("/api/v1/auth/login/totp-enrolment", map[string]string{"challenge": ch}), http.StatusOK).JSON(t, &e)
	a := &authenticator{secret: e.Secret}
	assertProblem(t, secondStep(s, ch, map[string]string{"code": "999999"}), http.StatusUnauthorized, "")
	var tok api.Tokens
	mustStatus(t, secondStep(s, ch, map[string]string{"code": a.code(t)}), http.StatusOK).JSON(t, &tok)
	if tok.RecoveryCodes == nil || len(*tok.RecoveryCodes) != 10 || tok.User.Role != api.Role(auth.RoleAdmin) {
		t.Fatalf("first sign-in of the admin: %+v", tok)
	}
	admin := s.Anon.WithToken(tok.AccessToken)
	var st api.TotpStatus
	mustStatus(t, admin.Get("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &st)
	if !st.Enabled || !st.Required || st.RecoveryCodesLeft != 10 {
		t.Errorf("admin status: %+v", st)
	}
	// Next time, the usual second step.
	mustStatus(t, secondStep(s, passwordStep(t, s, email, api.LoginChallengeNextTotp), map[string]string{"code": a.code(t)}), http.StatusOK)

	// The admin must keep it while the setting is on...
	assertProblem(t, admin.Post("/api/v1/auth/totp/disable", map[string]string{"code": a.code(t)}), http.StatusConflict, "")
	a.last--
	// ...and staff are not asked.
	s.Login(t, s.CreateUser(t, auth.RoleStaff, ""), apitest.TestPassword)

	// The setting is the admins' to change; off, an admin without a factor signs in with a
	// password, and this admin may turn theirs off.
	var cur api.Settings
	r := mustStatus(t, admin.Get("/api/v1/settings", nil), http.StatusOK)
	r.JSON(t, &cur)
	if cur.AdminsRequireTotp == nil || !*cur.AdminsRequireTotp {
		t.Fatalf("adminsRequireTotp is not on by default: %s", r.Body)
	}
	off := false
	cur.AdminsRequireTotp = &off
	mustStatus(t, admin.Do(apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Body: cur,
		Header: map[string]string{"If-Match": r.Header.Get("ETag")}}), http.StatusOK)
	s.Login(t, s.CreateUser(t, auth.RoleAdmin, ""), apitest.TestPassword)
	mustStatus(t, admin.Post("/api/v1/auth/totp/disable", map[string]string{"code": a.code(t)}), http.StatusNoContent)
}

// The way back for someone who lost their authenticator and recovery codes (`alumnid user
// reset-totp`, or an admin's DELETE /users/{id}/totp): the factor and codes are gone,
// sessions end, and the password alone signs in again; it is audited.
func TestTOTPResetByOperator(t *testing.T) {
	s := newServer(t)
	email := s.CreateUser(t, auth.RoleStaff, "")
	c, tok := s.Login(t, email, apitest.TestPassword)
	enrolTOTP(t, c)
	if _, err := s.Auth.ResetTOTP(t.Context(), strings.ToUpper(email)); err != nil {
		t.Fatal(err)
	}
	assertProblem(t, c.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
	c, _ = s.Login(t, email, apitest.TestPassword)
	var st api.TotpStatus
	mustStatus(t, c.Get("/api/v1/auth/totp", nil), http.StatusOK).JSON(t, &st)
	if st.Enabled || st.RecoveryCodesLeft != 0 || countRows(t, s, "SELECT COUNT(*) FROM recovery_codes") != 0 {
		t.Errorf("after the reset: %+v", st)
	}
	if _, err := s.Auth.ResetTOTP(t.Context(), email); err == nil {
		t.Error("a second reset found a factor")
	}
	if evs := auditAll(t, s.Client, "action=user.totp_disable&entityId="+tok.User.Id); len(evs) != 1 {
		t.Errorf("%d user.totp_disable events, want 1", len(evs))
	}

	// An admin does the same through the API.
	c, _ = s.Login(t, email, apitest.TestPassword)
	enrolTOTP(t, c)
	mustStatus(t, s.Client.Delete("/api/v1/users/"+tok.User.Id+"/totp", ""), http.StatusNoContent)
	assertProblem(t, c.Get("/api/v1/auth/me", nil), http.StatusUnauthorized, "")
	s.Login(t, email, apitest.TestPassword) // a password alone again
	assertProblem(t, s.Client.Delete("/api/v1/users/"+tok.User.Id+"/totp", ""), http.StatusConflict, "")
	assertProblem(t, s.Client.Delete("/api/v1/users/01JD3M5X7V8Q9R2S4T6W8Y0Z1C/totp", ""), http.StatusNotFound, "")
}
