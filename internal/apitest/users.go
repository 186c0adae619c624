package apitest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/password"
	"github.com/alumnid/alumnid/internal/settings"
	"github.com/alumnid/alumnid/internal/token"
)

// The iss and aud of test tokens.
const (
	Issuer   = "alumnid-test"
	Audience = "alumnid-test-api"
)

var (
	keysOnce sync.Once
	keys     *token.KeySet
	keyPEM   []byte
)

// Keys returns the signing keys of test servers: one Ed25519 key, made once per test binary.
func Keys() *token.KeySet {
	keysOnce.Do(func() {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			panic(err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		keys, err = token.ParseKeys(keyPEM)
		if err != nil {
			panic(err)
		}
	})
	return keys
}

// KeyPEM returns the PEM of the test signing key.
func KeyPEM() []byte {
	Keys()
	return keyPEM
}

// NewAuthService returns an account service on sqlDB configured like the server of cfg.
func NewAuthService(sqlDB *sql.DB, cfg Config) *auth.Service {
	svc := auth.New(sqlDB, token.NewAuthority(cfg.Domain.Keys, token.Config{Issuer: cfg.Domain.Issuer, Audience: cfg.Domain.Audience}),
		password.NewHasher(password.DefaultParams, 4), settings.NewStore(sqlDB), slog.New(slog.DiscardHandler))
	if err := svc.UseTOTPKeys(cfg.Domain.TOTPKeys); err != nil {
		panic(err)
	}
	return svc
}

var userSeq atomic.Int64

// TestPassword is the password of users made by CreateUser.
const TestPassword = "violet kestrel sings over quiet harbours"

// CreateUser creates a user with role (linked to the record alumnusID for role alumnus) and
// returns its email.
func (s *Server) CreateUser(t testing.TB, role auth.Role, alumnusID string) string {
	t.Helper()
	email := fmt.Sprintf("%s%d@users.example.org", role, userSeq.Add(1))
	_, err := s.Auth.CreateUser(context.Background(), auth.NewUser{Email: email, Role: role, Password: TestPassword, Enabled: true, AlumnusID: alumnusID})
	if err != nil {
		t.Fatal(err)
	}
	return email
}

// Login signs in through the API and returns a client that sends the access token, with the
// whole answer.
func (s *Server) Login(t testing.TB, email, pw string) (*Client, api.Tokens) {
	t.Helper()
	resp := s.Anon.Post("/api/v1/auth/login", map[string]string{"email": email, "password": pw})
	if resp.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, resp.Status, resp.Body)
	}
	var tok api.Tokens
	resp.JSON(t, &tok)
	return s.Anon.WithToken(tok.AccessToken), tok
}

// As returns a client signed in as a new user with role (not alumnus: use AsAlumnus).
func (s *Server) As(t testing.TB, role auth.Role) *Client {
	t.Helper()
	c, _ := s.Login(t, s.CreateUser(t, role, ""), TestPassword)
	return c
}

// AsAlumnus returns a client signed in as a new alumnus user linked to the record alumnusID.
func (s *Server) AsAlumnus(t testing.TB, alumnusID string) *Client {
	t.Helper()
	c, _ := s.Login(t, s.CreateUser(t, auth.RoleAlumnus, alumnusID), TestPassword)
	return c
}

// SignedToken returns an access token signed with the test key for a session that need not
// exist, valid from now for ttl.
func SignedToken(t testing.TB, sessionID, role string, ttl time.Duration) string {
	t.Helper()
	return SignedTokenFor(t, "01JD3M5X7V8Q9R2S4T6W8Y0Z1C", sessionID, role, ttl)
}

// SignedTokenFor returns an access token signed with the test key for user subject and
// session sessionID, valid from now for ttl: a token of a real session with another lifetime.
func SignedTokenFor(t testing.TB, subject, sessionID, role string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := token.NewAuthority(Keys(), token.Config{Issuer: Issuer, Audience: Audience}).Issue(token.Claims{
		Subject: subject, SessionID: sessionID, Role: role, IssuedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
