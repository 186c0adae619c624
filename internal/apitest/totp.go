package apitest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/gen/db"
)

var (
	totpKeyOnce sync.Once
	totpKey     []byte
)

// TOTPKeys returns the key that seals TOTP secrets on test servers: 32 random bytes, made
// once per test binary.
func TOTPKeys() [][]byte {
	totpKeyOnce.Do(func() {
		totpKey = make([]byte, 32)
		if _, err := rand.Read(totpKey); err != nil {
			panic(err)
		}
	})
	return [][]byte{totpKey}
}

// WithAdminTOTPRequired keeps the adminsRequireTotp setting at its default (on). Without it,
// NewServer turns the setting off in the test's database before signing the admin client
// in, so that tests about other things sign admins in with a password alone.
func WithAdminTOTPRequired() Option {
	return func(o *serverOptions) { o.adminTOTP = true }
}

// SetAdminsRequireTOTP sets the adminsRequireTotp setting directly in the database (no audit
// event), for test fixtures.
func SetAdminsRequireTOTP(t testing.TB, sqlDB *sql.DB, on bool) {
	t.Helper()
	value := []byte("false")
	if on {
		value = []byte("true")
	}
	if err := db.New(sqlDB).PutSetting(context.Background(), db.PutSettingParams{Name: "adminsRequireTotp", Value: value, UpdatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

// TOTPCode returns the code of secret for the time step of at.
func TOTPCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// EnrolAtSignIn signs in a user whose sign-in asks them to set up a second factor (an admin
// while adminsRequireTotp is on): password, enrolment, first code. It returns a client with
// the access token, the tokens (with the recovery codes) and the TOTP secret.
func (c *Client) EnrolAtSignIn(t testing.TB, email, pw string) (*Client, api.Tokens, string) {
	t.Helper()
	resp := c.Post("/api/v1/auth/login", map[string]string{"email": email, "password": pw})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("login %s: %d %s, want 202 (enrol)", email, resp.Status, resp.Body)
	}
	var ch api.LoginChallenge
	resp.JSON(t, &ch)
	if ch.Next != api.LoginChallengeNextEnrol {
		t.Fatalf("login %s: next is %q, want enrol", email, ch.Next)
	}
	resp = c.Post("/api/v1/auth/login/totp-enrolment", map[string]string{"challenge": ch.Challenge})
	if resp.Status != http.StatusOK {
		t.Fatalf("enrolment: %d %s", resp.Status, resp.Body)
	}
	var e api.TotpEnrolment
	resp.JSON(t, &e)
	c.secrets.add("totp secret", e.Secret)
	resp = c.Post("/api/v1/auth/login/totp", map[string]string{"challenge": ch.Challenge, "code": TOTPCode(t, e.Secret, time.Now())})
	if resp.Status != http.StatusOK {
		t.Fatalf("first code: %d %s", resp.Status, resp.Body)
	}
	var tok api.Tokens
	resp.JSON(t, &tok)
	return c.WithToken(tok.AccessToken), tok, e.Secret
}
