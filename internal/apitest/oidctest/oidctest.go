// Package oidctest runs a real OpenID provider on loopback for tests: zitadel/oidc's example
// OP (its pkg/op: discovery, JWKS, authorization code flow with PKCE, RS256-signed ID tokens,
// a login form), over its in-memory example storage, with the users, groups and clients a
// test gives it. Nothing is mocked: the service under test discovers it, redirects to it,
// exchanges codes with it and checks its signatures.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
)

// User is a person at the provider.
type User struct {
	ID, Username, Password, Email string
	Groups                        []string
}

// Provider is a running OP.
type Provider struct {
	Issuer string
	store  *store
}

type store struct {
	*storage.Storage
	mu      sync.Mutex
	users   map[string]*User // by id
	clients map[string]*storage.Client
	secrets map[string]string
}

// Start runs an OP with users on a loopback port until t ends.
func Start(t testing.TB, users ...User) *Provider {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	p, h := New("http://"+ts.Listener.Addr().String(), users...)
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	return p
}

// New returns an OP for issuer (http://host:port, where the caller serves the handler) with
// users.
func New(issuer string, users ...User) (*Provider, http.Handler) {
	s := &store{users: map[string]*User{}, clients: map[string]*storage.Client{}, secrets: map[string]string{}}
	for i := range users {
		u := users[i]
		s.users[u.ID] = &u
	}
	s.Storage = storage.NewStorageWithClients(userStore{s}, map[string]*storage.Client{})
	return &Provider{Issuer: issuer, store: s}, exampleop.SetupServer(issuer, s, nil, false)
}

// AddClient registers a confidential web client (client_secret_basic, code flow, PKCE).
func (p *Provider) AddClient(id, secret string, redirectURIs ...string) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.clients[id] = storage.WebClient(id, secret, redirectURIs...)
	p.store.secrets[id] = secret
}

// SetGroups replaces the groups of the user id (the next ID token carries them).
func (p *Provider) SetGroups(id string, groups ...string) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.users[id].Groups = groups
}

func (s *store) user(id string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		cp := *u
		return &cp
	}
	return nil
}

// GetClientByClientID and AuthorizeClientIDSecret read the clients of this store (the
// example storage keeps its own in a map tests could not add to safely).
func (s *store) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, errors.New("client not found")
	}
	return c, nil
}

func (s *store) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.secrets[id]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return errors.New("invalid client secret")
	}
	return nil
}

// SetUserinfoFromRequest puts the user's email and groups into their ID tokens.
func (s *store) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if u := s.user(req.GetSubject()); u != nil {
		info.Email, info.EmailVerified = u.Email, true
		info.AppendClaims("groups", u.Groups)
	}
	return nil
}

// userStore gives the example storage this provider's users.
type userStore struct{ s *store }

func (u userStore) toExample(x *User) *storage.User {
	if x == nil {
		return nil
	}
	return &storage.User{ID: x.ID, Username: x.Username, Password: x.Password, Email: x.Email, EmailVerified: true}
}

func (u userStore) GetUserByID(id string) *storage.User { return u.toExample(u.s.user(id)) }

func (u userStore) GetUserByUsername(name string) *storage.User {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	for _, x := range u.s.users {
		if x.Username == name {
			cp := *x
			return u.toExample(&cp)
		}
	}
	return nil
}

func (userStore) ExampleClientID() string { return "service" }

// Browser is an HTTP client with cookies that does not follow redirects, as a test drives a
// browser through a sign-in.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// SignIn follows authURL (the provider's authorization URL) as browser, signs in on the
// provider's login page with username and password, and returns where the provider then
// sends the browser: the client's redirect URI with the code and state.
func (p *Provider) SignIn(t testing.TB, browser *http.Client, authURL, username, password string) string {
	t.Helper()
	next := authURL
	for range 10 {
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(next, p.Issuer) && u.IsAbs() {
			return next // left the provider: the redirect URI
		}
		if !u.IsAbs() {
			next = p.Issuer + next
		}
		var req *http.Request
		if strings.Contains(next, "/login/username") {
			form := url.Values{"id": {u.Query().Get("authRequestID")}, "username": {username}, "password": {password}}
			req, err = http.NewRequestWithContext(context.Background(), http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequestWithContext(context.Background(), http.MethodGet, next, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("provider answered %d at %s: %s", resp.StatusCode, next, body)
		}
		next = resp.Header.Get("Location")
	}
	t.Fatal("too many redirects at the provider")
	return ""
}

// IDToken runs the code flow for the client id (registered with redirectURI) as username,
// straight against the provider, and returns the ID token it issues with nonce.
func (p *Provider) IDToken(t testing.TB, id, secret, redirectURI, username, password, nonce string) string {
	t.Helper()
	cfg := &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: redirectURI, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: p.Issuer + "/auth", TokenURL: p.Issuer + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	state := randomString()
	back := p.SignIn(t, Browser(), cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", nonce), oauth2.S256ChallengeOption(verifier)), username, password)
	u, err := url.Parse(back)
	if err != nil || u.Query().Get("state") != state {
		t.Fatalf("provider sent back %s", back)
	}
	tok, err := cfg.Exchange(context.Background(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		t.Fatal("no id_token")
	}
	return raw
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// String describes p for test messages.
func (p *Provider) String() string { return fmt.Sprintf("OP at %s", p.Issuer) }
