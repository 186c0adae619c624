// Package sso signs people in through OpenID Connect providers (authorization code flow with
// PKCE): it sends the browser to the provider, checks the answer and the ID token in full,
// and hands the verified identity to internal/auth, which decides who that is here. A sign-in
// in progress lives in the database (sso_logins), so any replica can take the callback.
package sso

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/alumnid/alumnid/internal/auth"
)

// ProviderConfig is one identity provider, as the operator configures it.
type ProviderConfig struct {
	// ID names the provider in URLs (/api/v1/auth/sso/{id}/start): lower-case letters,
	// digits and dashes.
	ID string `json:"id"`
	// Name is what a sign-in button says ("University login").
	Name string `json:"name"`
	// Issuer is the provider's issuer URL; its discovery document is read from
	// Issuer/.well-known/openid-configuration.
	Issuer       string `json:"issuer"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	// ClientSecretEnv names an environment variable holding the secret instead.
	ClientSecretEnv string `json:"clientSecretEnv,omitempty"`
	// Scopes requested besides openid (default: profile email).
	Scopes []string `json:"scopes,omitempty"`
	// GroupsClaim is the ID token claim listing the person's groups (default "groups").
	GroupsClaim string `json:"groupsClaim,omitempty"`
	// Roles maps a group to the role it gives (admin, staff or viewer); a person with several
	// mapped groups gets the most powerful role.
	Roles map[string]auth.Role `json:"roles"`
	// DefaultRole is the role of a person none of whose groups is mapped ("": they may not
	// sign in).
	DefaultRole auth.Role `json:"defaultRole,omitempty"`
	// Provision creates a user at the first sign-in of an identity no user has; without it,
	// only linked users sign in.
	Provision bool `json:"provision,omitempty"`
	// RequireAMR, when set, is the sign-in strength this service asks of the provider: the
	// ID token's amr claim (RFC 8176 method names) must contain at least one of these, e.g.
	// ["mfa"] (Entra ID, Okta and Keycloak send it after a second factor) or
	// ["mfa", "hwk", "otp"]. A token without one is refused (403).
	RequireAMR []string `json:"requireAmr,omitempty"`
	// ACRValues, when set, are requested (acr_values) and the ID token's acr must be one of them.
	ACRValues []string `json:"acrValues,omitempty"`
	// MaxAge, when set (seconds), is requested (max_age) and the ID token's auth_time must be
	// no older: the person signed in at the provider that recently, not on a remembered session.
	MaxAge int `json:"maxAge,omitempty"`
}

var providerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// LoadConfig reads the providers from the JSON file at path (an array of ProviderConfig).
// It returns an error naming the provider and field that is wrong, never a secret.
func LoadConfig(path string, getenv func(string) string) ([]ProviderConfig, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator names the file
	if err != nil {
		return nil, fmt.Errorf("read OIDC providers: %w", err)
	}
	return ParseConfig(b, getenv)
}

// ParseConfig reads providers from JSON (see LoadConfig) and checks them.
func ParseConfig(b []byte, getenv func(string) string) ([]ProviderConfig, error) {
	var ps []ProviderConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("OIDC providers: not a JSON array of providers: %w", err)
	}
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		if p.ClientSecretEnv != "" {
			p.ClientSecret = getenv(p.ClientSecretEnv)
		}
		if p.GroupsClaim == "" {
			p.GroupsClaim = "groups"
		}
		if len(p.Scopes) == 0 {
			p.Scopes = []string{"profile", "email"}
		}
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("OIDC provider %d (%q): %w", i+1, p.ID, err)
		}
		if seen[p.ID] {
			return nil, fmt.Errorf("OIDC provider %q is configured twice", p.ID)
		}
		seen[p.ID] = true
	}
	return ps, nil
}

func (p ProviderConfig) check() error {
	if !providerID.MatchString(p.ID) {
		return errors.New("id must be lower-case letters, digits and dashes")
	}
	u, err := url.Parse(p.Issuer)
	loopbackHTTP := u != nil && u.Scheme == "http" && isLoopback(u.Hostname())
	if err != nil || u.Host == "" || (u.Scheme != "https" && !loopbackHTTP) {
		return errors.New("issuer must be an https URL (http only on a loopback address, for tests)")
	}
	if p.MaxAge < 0 {
		return errors.New("maxAge must be a number of seconds")
	}
	if p.ClientID == "" || p.ClientSecret == "" {
		return errors.New("clientId and clientSecret (or clientSecretEnv) are required")
	}
	for g, r := range p.Roles {
		if err := auth.ValidateMappedRole(r); err != nil {
			return fmt.Errorf("roles[%q]: %w", g, err)
		}
	}
	if p.DefaultRole != "" {
		if err := auth.ValidateMappedRole(p.DefaultRole); err != nil {
			return fmt.Errorf("defaultRole: %w", err)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// role is the role groups give under p: the most powerful mapped one, else DefaultRole.
func (p ProviderConfig) role(groups []string) auth.Role {
	best := -1
	for _, g := range groups {
		r, ok := p.Roles[g]
		if !ok {
			continue
		}
		for i, known := range auth.Roles {
			if known == r && (best < 0 || i < best) {
				best = i
			}
		}
	}
	if best < 0 {
		return p.DefaultRole
	}
	return auth.Roles[best]
}
