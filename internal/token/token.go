// Package token issues and verifies the service's access tokens and creates
// the opaque secrets used for refresh and invite tokens.
//
// Access tokens are JWTs following RFC 9068 (JWT profile for OAuth 2.0 access
// tokens) and RFC 8725 (JWT best current practices): compact JWS, signed with
// Ed25519 (EdDSA) or P-256 (ES256), typ "at+jwt", with a kid that must name
// one of our own keys. Verification is deliberately narrow: the algorithm
// comes from our key, never from the token; keys carried by the token (jwk,
// jku, x5u, x5c) are refused, not used.
//
// All use of github.com/lestrrat-go/jwx is confined to this package.
package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/lestrrat-go/jwx/v2/jws"
)

// ErrInvalid is returned, wrapped with the reason, for every access token
// that Verify rejects. Compare with errors.Is; the reason is for logs only.
var ErrInvalid = errors.New("invalid access token")

// Token format constants.
const (
	// maxTokenLen bounds the raw token size; longer input is rejected before
	// any decoding. Our tokens are well under 1 KiB.
	maxTokenLen = 8 << 10
	// tokenType is the RFC 9068 "typ" header value.
	tokenType = "at+jwt"
	// defaultLeeway is the clock skew allowed when Config.Leeway is zero.
	defaultLeeway = 30 * time.Second
)

// Claims are the claims of an access token.
type Claims struct {
	Subject   string    // user public id ("sub")
	SessionID string    // session id ("sid")
	Role      string    // user role ("role")
	ID        string    // token id ("jti")
	IssuedAt  time.Time // "iat", also used as "nbf"; whole seconds on the wire
	ExpiresAt time.Time // "exp"; whole seconds on the wire
}

// Config configures an Authority.
type Config struct {
	Issuer   string        // "iss" issued and required, e.g. "alumnid"
	Audience string        // "aud" issued and required, e.g. "alumnid-api"
	Leeway   time.Duration // clock skew allowed for exp/nbf/iat; 30s if zero
}

// Authority issues and verifies access tokens with a KeySet.
// It is safe for concurrent use.
type Authority struct {
	keys   *KeySet
	cfg    Config
	leeway time.Duration
	err    error // configuration problem reported by Issue and Verify
	// verified remembers tokens whose signature and claims were checked, so that the
	// signature of a token is verified once and not on every request it is sent with. A hit
	// is still checked against the token's expiry.
	verified *expirable.LRU[string, Claims]
}

// Sizes of the cache of verified tokens: a token is verified again at least once a minute.
const (
	verifiedCacheSize = 20000
	verifiedCacheTTL  = time.Minute
)

// NewAuthority returns an Authority that signs with the newest private key
// of keys and verifies with all of them. keys must come from ParseKeys or
// LoadKeyFiles, and cfg.Issuer and cfg.Audience must be non-empty; otherwise
// every Issue and Verify call fails.
func NewAuthority(keys *KeySet, cfg Config) *Authority {
	a := &Authority{keys: keys, cfg: cfg, leeway: cfg.Leeway,
		verified: expirable.NewLRU[string, Claims](verifiedCacheSize, nil, verifiedCacheTTL)}
	switch {
	case keys == nil || keys.signer == nil:
		a.err = errors.New("token: authority has no keys")
	case cfg.Issuer == "":
		a.err = errors.New("token: authority has no issuer")
	case cfg.Audience == "":
		a.err = errors.New("token: authority has no audience")
	}
	if a.leeway == 0 {
		a.leeway = defaultLeeway
	}
	if a.leeway < 0 {
		a.leeway = 0
	}
	return a
}

// wireClaims is the JWT payload as issued, in this order and nothing else.
type wireClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	NotBefore int64  `json:"nbf"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	SessionID string `json:"sid"`
	Role      string `json:"role"`
}

// Issue signs an access token for c with the newest private key.
//
// The protected header is alg (EdDSA or ES256, from the key), kid and typ
// "at+jwt"; the claims are iss, sub, aud, exp, nbf (= iat), iat, jti, sid and
// role. If c.ID is empty a random 128-bit jti is generated. Subject,
// SessionID, Role, IssuedAt and ExpiresAt are required, and ExpiresAt must be
// after IssuedAt; times are truncated to whole seconds.
func (a *Authority) Issue(c Claims) (string, error) {
	if a.err != nil {
		return "", a.err
	}
	switch {
	case c.Subject == "":
		return "", errors.New("token: issue: empty subject")
	case c.SessionID == "":
		return "", errors.New("token: issue: empty session id")
	case c.Role == "":
		return "", errors.New("token: issue: empty role")
	case c.IssuedAt.IsZero():
		return "", errors.New("token: issue: zero issued-at time")
	case c.ExpiresAt.Unix() <= c.IssuedAt.Unix():
		return "", errors.New("token: issue: expiry not after issued-at time")
	}
	jti := c.ID
	if jti == "" {
		jti = randomString(16)
	}
	iat := c.IssuedAt.Unix()
	payload, err := json.Marshal(wireClaims{
		Issuer:    a.cfg.Issuer,
		Subject:   c.Subject,
		Audience:  a.cfg.Audience,
		ExpiresAt: c.ExpiresAt.Unix(),
		NotBefore: iat,
		IssuedAt:  iat,
		ID:        jti,
		SessionID: c.SessionID,
		Role:      c.Role,
	})
	if err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}

	k := a.keys.signer
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, k.kid); err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	if err := hdr.Set(jws.TypeKey, tokenType); err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	// jws.Sign adds "alg" from the algorithm given here.
	signed, err := jws.Sign(payload, jws.WithKey(k.alg, k.private, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("token: issue: sign: %w", err)
	}
	return string(signed), nil
}

// forbiddenHeaders are JOSE header parameters that must not appear in our
// tokens: keys or key locations supplied by the token (RFC 8725 §3.10),
// critical extensions we do not implement, and b64 (RFC 7797), which would
// change how the payload is read.
var forbiddenHeaders = []string{
	jws.JWKKey, jws.JWKSetURLKey, jws.X509URLKey, jws.X509CertChainKey, jws.CriticalKey, "b64",
}

// Verify checks raw as an access token at time now and returns its claims.
//
// It accepts only a compact JWS (three base64url segments, one signature)
// whose protected header names one of our keys by kid, carries exactly that
// key's alg, has typ "at+jwt" or "application/at+jwt" (case-insensitive) and
// contains no jwk, jku, x5u, x5c, crit or b64 parameter; whose signature is
// valid under that key; and whose claims have iss and aud equal to the
// configuration (aud may also be an array containing it), exp after now and
// iat and nbf (if present) not after now, all within the leeway, and
// non-empty string sub, sid, role and jti. Keys or URLs in the token are never
// used and Verify does no I/O.
//
// Every rejection returns an error wrapping ErrInvalid.
func (a *Authority) Verify(raw string, now time.Time) (Claims, error) {
	if a.err != nil {
		return Claims{}, invalidf("%v", a.err)
	}
	if c, ok := a.verified.Get(raw); ok {
		switch {
		case !now.Before(c.ExpiresAt.Add(a.leeway)):
			return Claims{}, invalidf("token expired")
		case now.Add(a.leeway).Before(c.IssuedAt):
			return Claims{}, invalidf("token not valid yet")
		}
		return c, nil
	}
	c, err := a.verify(raw, now)
	if err == nil {
		a.verified.Add(raw, c)
	}
	return c, err
}

// verify is Verify without the cache.
func (a *Authority) verify(raw string, now time.Time) (Claims, error) {
	if raw == "" {
		return Claims{}, invalidf("empty token")
	}
	if len(raw) > maxTokenLen {
		return Claims{}, invalidf("token longer than %d bytes", maxTokenLen)
	}
	// Compact serialization only: exactly two dots, base64url alphabet
	// without padding. This rejects the JSON serializations (and thus
	// multiple signatures) before any parsing.
	dots, lastDot := 0, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			dots++
			lastDot = i
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return Claims{}, invalidf("not a compact JWS: unexpected character at offset %d", i)
		}
	}
	if dots != 2 {
		return Claims{}, invalidf("not a compact JWS: %d segments", dots+1)
	}

	msg, err := jws.Parse([]byte(raw), jws.WithCompact())
	if err != nil {
		return Claims{}, invalidf("malformed JWS: %v", err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return Claims{}, invalidf("%d signatures", len(sigs))
	}
	sig := sigs[0]
	hdr := sig.ProtectedHeaders()
	if hdr == nil {
		return Claims{}, invalidf("no protected header")
	}
	for _, name := range forbiddenHeaders {
		if _, ok := hdr.Get(name); ok {
			return Claims{}, invalidf("forbidden header %q", name)
		}
	}
	kid := hdr.KeyID()
	if kid == "" {
		return Claims{}, invalidf("missing kid")
	}
	k, ok := a.keys.byKID[kid]
	if !ok {
		return Claims{}, invalidf("unknown kid %q", clip(kid))
	}
	if alg := hdr.Algorithm(); alg != k.alg {
		return Claims{}, invalidf("alg %q does not match key %q (%s)", clip(alg.String()), clip(kid), k.alg)
	}
	if typ := hdr.Type(); !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, "application/"+tokenType) {
		return Claims{}, invalidf("typ %q is not %q", clip(typ), tokenType)
	}

	// The signing input is the first two segments exactly as received.
	signature := sig.Signature()
	if base64.RawURLEncoding.EncodeToString(signature) != raw[lastDot+1:] {
		return Claims{}, invalidf("non-canonical signature encoding")
	}
	if err := k.verifier.Verify([]byte(raw[:lastDot]), signature, k.public); err != nil {
		return Claims{}, invalidf("bad signature for kid %q: %v", clip(kid), err)
	}

	wc, err := decodeClaims(msg.Payload())
	if err != nil {
		return Claims{}, invalidf("claims: %v", err)
	}
	return a.checkClaims(wc, now)
}

// checkClaims validates decoded claims against the configuration and now.
func (a *Authority) checkClaims(wc *receivedClaims, now time.Time) (Claims, error) {
	switch {
	case wc.iss != a.cfg.Issuer:
		return Claims{}, invalidf("wrong iss")
	case !wc.hasAudience(a.cfg.Audience):
		return Claims{}, invalidf("wrong aud")
	case wc.exp == nil:
		return Claims{}, invalidf("missing exp")
	case wc.iat == nil:
		return Claims{}, invalidf("missing iat")
	case !now.Before(wc.exp.Add(a.leeway)):
		return Claims{}, invalidf("expired")
	case wc.iat.After(now.Add(a.leeway)):
		return Claims{}, invalidf("iat in the future")
	case wc.nbf != nil && wc.nbf.After(now.Add(a.leeway)):
		return Claims{}, invalidf("nbf in the future")
	}
	for _, c := range []struct{ name, value string }{
		{"sub", wc.sub}, {"sid", wc.sid}, {"role", wc.role}, {"jti", wc.jti},
	} {
		if c.value == "" {
			return Claims{}, invalidf("missing or empty %s", c.name)
		}
	}
	return Claims{
		Subject:   wc.sub,
		SessionID: wc.sid,
		Role:      wc.role,
		ID:        wc.jti,
		IssuedAt:  *wc.iat,
		ExpiresAt: *wc.exp,
	}, nil
}

// receivedClaims are the claims of a token being verified.
type receivedClaims struct {
	iss, sub, jti, sid, role string
	aud                      []string
	exp, iat, nbf            *time.Time
}

// hasAudience reports whether aud is, or contains, want.
func (c *receivedClaims) hasAudience(want string) bool {
	for _, a := range c.aud {
		if a == want {
			return true
		}
	}
	return false
}

// decodeClaims decodes a JWT claims set strictly: a single JSON object with
// exact (case-sensitive) member names, no duplicates, strings where strings
// belong and numbers for dates. Unknown claims are ignored.
func decodeClaims(payload []byte) (*receivedClaims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("payload is not a JSON object")
	}
	var c receivedClaims
	seen := make(map[string]struct{}, 12)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errors.New("malformed JSON")
		}
		name, _ := t.(string)
		if _, dup := seen[name]; dup {
			return nil, fmt.Errorf("duplicate claim %q", clip(name))
		}
		seen[name] = struct{}{}
		switch name {
		case "iss":
			c.iss, err = stringValue(dec)
		case "sub":
			c.sub, err = stringValue(dec)
		case "jti":
			c.jti, err = stringValue(dec)
		case "sid":
			c.sid, err = stringValue(dec)
		case "role":
			c.role, err = stringValue(dec)
		case "aud":
			c.aud, err = audienceValue(dec)
		case "exp":
			c.exp, err = dateValue(dec)
		case "iat":
			c.iat, err = dateValue(dec)
		case "nbf":
			c.nbf, err = dateValue(dec)
		default:
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				err = errors.New("malformed JSON")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("claim %q: %w", clip(name), err)
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errors.New("malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the claims object")
	}
	return &c, nil
}

// stringValue reads a JSON string.
func stringValue(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", errors.New("malformed JSON")
	}
	s, ok := t.(string)
	if !ok {
		return "", errors.New("not a string")
	}
	return s, nil
}

// audienceValue reads "aud": a string or an array of strings.
func audienceValue(dec *json.Decoder) ([]string, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, errors.New("malformed JSON")
	}
	switch t := t.(type) {
	case string:
		return []string{t}, nil
	case json.Delim:
		if t != '[' {
			break
		}
		var list []string
		for dec.More() {
			s, err := stringValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, s)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, errors.New("malformed JSON")
		}
		return list, nil
	}
	return nil, errors.New("not a string or array of strings")
}

// dateValue reads a NumericDate: seconds since the epoch, as a JSON number.
func dateValue(dec *json.Decoder) (*time.Time, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, errors.New("malformed JSON")
	}
	n, ok := t.(json.Number)
	if !ok {
		return nil, errors.New("not a number")
	}
	if i, err := n.Int64(); err == nil {
		v := time.Unix(i, 0).UTC()
		return &v, nil
	}
	f, err := n.Float64()
	if err != nil || math.Abs(f) > 1<<52 {
		return nil, errors.New("number out of range")
	}
	sec, frac := math.Modf(f)
	v := time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return &v, nil
}

// invalidf returns ErrInvalid wrapped with a reason.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// clip shortens token-supplied strings before they go into error messages.
func clip(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}

// randomString returns n random bytes, base64url encoded without padding.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}
