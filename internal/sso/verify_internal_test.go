package sso

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest/oidctest"
	"github.com/alumnid/alumnid/internal/auth"
)

const redirect = "http://127.0.0.1:1/api/v1/auth/sso/uni/callback"

// The ID token checks, on tokens a real provider signed: a token for another client, with
// another nonce, past its expiry, or from another provider is refused; the right one gives
// the identity and the role its groups map to.
func TestVerifyIDToken(t *testing.T) {
	ada := oidctest.User{ID: "u-ada", Username: "ada", Password: "analytical engine", Email: "ada@uni.example", Groups: []string{"alumni-office"}}
	op := oidctest.Start(t, ada)
	op.AddClient("alumnid", "s3cret", redirect)
	op.AddClient("other", "0ther", redirect)
	elsewhere := oidctest.Start(t, ada)
	elsewhere.AddClient("alumnid", "s3cret", redirect)

	cfg := ProviderConfig{ID: "uni", Issuer: op.Issuer, ClientID: "alumnid", ClientSecret: "s3cret", GroupsClaim: "groups",
		Roles: map[string]auth.Role{"alumni-office": auth.RoleStaff, "it": auth.RoleAdmin}, DefaultRole: auth.RoleViewer}
	s := New(nil, nil, []ProviderConfig{cfg}, Config{PublicURL: "http://127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	ctx := s.clientCtx(context.Background())
	p, discovered, err := s.discover(ctx, "uni")
	if err != nil {
		t.Fatal(err)
	}

	good := op.IDToken(t, "alumnid", "s3cret", redirect, "ada", "analytical engine", "n-1")
	id, err := s.verify(ctx, p, discovered, good, "n-1")
	if err != nil {
		t.Fatalf("a good token: %v", err)
	}
	if id.Issuer != op.Issuer || id.Subject != "u-ada" || id.Email != "ada@uni.example" || id.Role != auth.RoleStaff {
		t.Errorf("identity %+v", id)
	}

	tests := []struct {
		name  string
		token string
		nonce string
		now   time.Time
		want  string
	}{
		{"wrong audience", op.IDToken(t, "other", "0ther", redirect, "ada", "analytical engine", "n-2"), "n-2", time.Time{}, "audience"},
		{"wrong nonce", good, "n-other", time.Time{}, "nonce"},
		{"expired", good, "n-1", time.Now().Add(2 * time.Hour), "expired"},
		{"issued too long ago", good, "n-1", time.Now().Add(30 * time.Minute), "iat"},
		{"another provider", elsewhere.IDToken(t, "alumnid", "s3cret", redirect, "ada", "analytical engine", "n-3"), "n-3", time.Time{}, ""},
		{"tampered", good[:len(good)-4] + "AAAA", "n-1", time.Time{}, ""},
		{"no token", "", "n-1", time.Time{}, "no id_token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.now = time.Now
			if !tc.now.IsZero() {
				s.now = func() time.Time { return tc.now }
			}
			defer func() { s.now = time.Now }()
			_, err := s.verify(ctx, p, discovered, tc.token, tc.nonce)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// The sign-in strength the provider reports (ASVS V6.8.4), on a token the OP signed (amr
// ["pwd"], auth_time now): each requirement passes or fails on its own.
func TestVerifyStrength(t *testing.T) {
	ada := oidctest.User{ID: "u-ada", Username: "ada", Password: "analytical engine", Email: "ada@uni.example"}
	op := oidctest.Start(t, ada)
	op.AddClient("alumnid", "s3cret", redirect)
	cfg := ProviderConfig{ID: "uni", Issuer: op.Issuer, ClientID: "alumnid", ClientSecret: "s3cret", GroupsClaim: "groups", DefaultRole: auth.RoleViewer}
	s := New(nil, nil, []ProviderConfig{cfg}, Config{PublicURL: "http://127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	ctx := s.clientCtx(context.Background())
	p, discovered, err := s.discover(ctx, "uni")
	if err != nil {
		t.Fatal(err)
	}
	token := op.IDToken(t, "alumnid", "s3cret", redirect, "ada", "analytical engine", "n-1")
	for _, tc := range []struct {
		name  string
		amr   []string
		acr   []string
		age   int
		later time.Duration
		want  string // "" accepted
	}{
		{"no requirement", nil, nil, 0, 0, ""},
		{"amr pwd accepted", []string{"pwd"}, nil, 0, 0, ""},
		{"amr mfa required", []string{"mfa"}, nil, 0, 0, "amr"},
		{"acr required", nil, []string{"urn:example:loa:2"}, 0, 0, "acr"},
		{"recent enough", nil, nil, 600, 5 * time.Minute, ""},
		{"too long ago", nil, nil, 60, 5 * time.Minute, "auth_time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.cfg.RequireAMR, p.cfg.ACRValues, p.cfg.MaxAge = tc.amr, tc.acr, tc.age
			s.now = func() time.Time { return time.Now().Add(tc.later) }
			defer func() { s.now = time.Now }()
			_, err := s.verify(ctx, p, discovered, token, "n-1")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !errors.Is(err, errStrength) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want a strength error about %s", err, tc.want)
			}
		})
	}
}

func TestRoleMapping(t *testing.T) {
	p := ProviderConfig{Roles: map[string]auth.Role{"office": auth.RoleStaff, "it": auth.RoleAdmin, "board": auth.RoleViewer}}
	for _, tc := range []struct {
		groups []string
		def    auth.Role
		want   auth.Role
	}{
		{[]string{"board", "office"}, "", auth.RoleStaff},
		{[]string{"office", "it"}, "", auth.RoleAdmin},
		{[]string{"students"}, "", ""},
		{nil, auth.RoleViewer, auth.RoleViewer},
		{[]string{"board"}, auth.RoleStaff, auth.RoleViewer},
	} {
		p.DefaultRole = tc.def
		if got := p.role(tc.groups); got != tc.want {
			t.Errorf("role(%v) with default %q = %q, want %q", tc.groups, tc.def, got, tc.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	env := func(name string) string {
		if name == "UNI_SECRET" {
			return "from-env"
		}
		return ""
	}
	ps, err := ParseConfig([]byte(`[{"id":"uni","name":"University","issuer":"https://login.uni.example","clientId":"alumnid",
		"clientSecretEnv":"UNI_SECRET","roles":{"office":"staff"},"provision":true}]`), env)
	if err != nil || len(ps) != 1 || ps[0].ClientSecret != "from-env" || ps[0].GroupsClaim != "groups" {
		t.Fatalf("ParseConfig: %+v %v", ps, err)
	}
	for name, text := range map[string]string{
		"http issuer":        `[{"id":"a","issuer":"http://login.example","clientId":"c","clientSecret":"s"}]`,
		"alumnus mapping":    `[{"id":"a","issuer":"https://login.example","clientId":"c","clientSecret":"s","roles":{"x":"alumnus"}}]`,
		"no secret":          `[{"id":"a","issuer":"https://login.example","clientId":"c"}]`,
		"bad id":             `[{"id":"A B","issuer":"https://login.example","clientId":"c","clientSecret":"s"}]`,
		"twice":              `[{"id":"a","issuer":"https://l.example","clientId":"c","clientSecret":"s"},{"id":"a","issuer":"https://l.example","clientId":"c","clientSecret":"s"}]`,
		"unknown field":      `[{"id":"a","issuer":"https://l.example","clientId":"c","clientSecret":"s","secret":"x"}]`,
		"default role admin": `[{"id":"a","issuer":"https://l.example","clientId":"c","clientSecret":"s","defaultRole":"root"}]`,
	} {
		if _, err := ParseConfig([]byte(text), env); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), `"s"`) {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
}
