package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

const (
	testIssuer   = "alumnid"
	testAudience = "alumnid-api"
)

// now is the fixed verification time used throughout.
var now = time.Unix(1_800_000_000, 0).UTC()

var testConfig = Config{Issuer: testIssuer, Audience: testAudience}

// --- key helpers ---

func newEd25519(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func privatePEM(t testing.TB, priv any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwkJSON encodes raw as a JWK, with the given extra members.
func jwkJSON(t testing.TB, raw any, members map[string]any) []byte {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range members {
		if err := k.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// thumbprint is the RFC 7638 kid of a public key, computed independently of
// the package under test.
func thumbprint(t testing.TB, pub any) string {
	t.Helper()
	var canon string
	enc := base64.RawURLEncoding.EncodeToString
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		canon = `{"crv":"Ed25519","kty":"OKP","x":"` + enc(pub) + `"}`
	case *ecdsa.PublicKey:
		point, err := pub.Bytes() // 0x04 || x || y
		if err != nil {
			t.Fatal(err)
		}
		x, y := point[1:33], point[33:]
		canon = `{"crv":"P-256","kty":"EC","x":"` + enc(x) + `","y":"` + enc(y) + `"}`
	default:
		t.Fatalf("thumbprint: %T", pub)
	}
	sum := sha256.Sum256([]byte(canon))
	return enc(sum[:])
}

func mustParseKeys(t testing.TB, data ...[]byte) *KeySet {
	t.Helper()
	ks, err := ParseKeys(data...)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return ks
}

// --- token helpers ---

func testClaims() Claims {
	return Claims{
		Subject:   "u_01HZX",
		SessionID: "s_42",
		Role:      "member",
		ID:        "jti-1",
		IssuedAt:  now,
		ExpiresAt: now.Add(15 * time.Minute),
	}
}

func mustIssue(t testing.TB, a *Authority, c Claims) string {
	t.Helper()
	tok, err := a.Issue(c)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

// segments decodes the header and payload of a compact token.
func segments(t testing.TB, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// craft builds a compact JWS by hand, without the package under test.
// payload is a map (marshalled) or a string (used verbatim).
func craft(t testing.TB, header map[string]any, payload any, sign func(signingInput []byte) []byte) string {
	t.Helper()
	var p []byte
	switch v := payload.(type) {
	case string:
		p = []byte(v)
	default:
		p = mustJSON(t, v)
	}
	input := b64(mustJSON(t, header)) + "." + b64(p)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func signEd25519(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

func signES256(t testing.TB, priv *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func signHS256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

// header returns a JOSE header with the given members; a nil value deletes.
func header(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		name, _ := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, name)
			continue
		}
		out[name] = kv[i+1]
	}
	return out
}

// claimsMap is the payload Issue would produce for testClaims.
func claimsMap(kv ...any) map[string]any {
	base := map[string]any{
		"iss":  testIssuer,
		"sub":  "u_01HZX",
		"aud":  testAudience,
		"exp":  now.Add(15 * time.Minute).Unix(),
		"nbf":  now.Unix(),
		"iat":  now.Unix(),
		"jti":  "jti-1",
		"sid":  "s_42",
		"role": "member",
	}
	return header(base, kv...)
}

// --- tests ---

func TestIssueVerifyRoundtrip(t *testing.T) {
	ed := newEd25519(t)
	p256 := newP256(t)
	tests := []struct {
		name    string
		keyData []byte
		pub     any
		alg     string
	}{
		{"Ed25519", privatePEM(t, ed), ed.Public(), "EdDSA"},
		{"P-256", privatePEM(t, p256), &p256.PublicKey, "ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthority(mustParseKeys(t, tt.keyData), testConfig)
			want := testClaims()
			tok := mustIssue(t, a, want)

			hdr, payload := segments(t, tok)
			wantHdr := map[string]any{"alg": tt.alg, "kid": thumbprint(t, tt.pub), "typ": "at+jwt"}
			if !equalJSON(t, hdr, wantHdr) {
				t.Errorf("header = %v, want %v", hdr, wantHdr)
			}
			if !equalJSON(t, payload, claimsMap()) {
				t.Errorf("payload = %v, want %v", payload, claimsMap())
			}

			got, err := a.Verify(tok, now.Add(time.Minute))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != want {
				t.Errorf("Verify = %+v, want %+v", got, want)
			}
		})
	}
}

func equalJSON(t testing.TB, a, b any) bool {
	t.Helper()
	return bytes.Equal(mustJSON(t, a), mustJSON(t, b))
}

func TestIssueGeneratesJTI(t *testing.T) {
	a := NewAuthority(mustParseKeys(t, privatePEM(t, newEd25519(t))), testConfig)
	c := testClaims()
	c.ID = ""
	seen := map[string]bool{}
	for range 3 {
		got, err := a.Verify(mustIssue(t, a, c), now)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(got.ID)
		if err != nil || len(raw) != 16 {
			t.Errorf("jti %q: want 128 bits base64url (err %v)", got.ID, err)
		}
		if seen[got.ID] {
			t.Errorf("jti %q repeated", got.ID)
		}
		seen[got.ID] = true
	}
}

func TestIssueRejectsIncompleteClaims(t *testing.T) {
	a := NewAuthority(mustParseKeys(t, privatePEM(t, newEd25519(t))), testConfig)
	tests := []struct {
		name   string
		mutate func(*Claims)
	}{
		{"no subject", func(c *Claims) { c.Subject = "" }},
		{"no session", func(c *Claims) { c.SessionID = "" }},
		{"no role", func(c *Claims) { c.Role = "" }},
		{"no iat", func(c *Claims) { c.IssuedAt = time.Time{} }},
		{"no exp", func(c *Claims) { c.ExpiresAt = time.Time{} }},
		{"exp before iat", func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims()
			tt.mutate(&c)
			if tok, err := a.Issue(c); err == nil {
				t.Errorf("Issue = %q, want error", tok)
			}
		})
	}
}

func TestMisconfiguredAuthority(t *testing.T) {
	ks := mustParseKeys(t, privatePEM(t, newEd25519(t)))
	tok := mustIssue(t, NewAuthority(ks, testConfig), testClaims())
	tests := []struct {
		name string
		keys *KeySet
		cfg  Config
	}{
		{"nil keys", nil, testConfig},
		{"no issuer", ks, Config{Audience: testAudience}},
		{"no audience", ks, Config{Issuer: testIssuer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthority(tt.keys, tt.cfg)
			if _, err := a.Issue(testClaims()); err == nil {
				t.Error("Issue succeeded")
			}
			if _, err := a.Verify(tok, now); !errors.Is(err, ErrInvalid) {
				t.Errorf("Verify error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestParseKeys(t *testing.T) {
	ed := newEd25519(t)
	edPub := ed.Public().(ed25519.PublicKey)
	p256 := newP256(t)
	edKID := thumbprint(t, edPub)
	p256KID := thumbprint(t, &p256.PublicKey)

	jwkSet := func(keys ...[]byte) []byte {
		return []byte(`{"keys":[` + string(bytes.Join(keys, []byte(","))) + `]}`)
	}

	tests := []struct {
		name       string
		data       [][]byte
		wantKIDs   []string // oldest first
		wantSigner string
	}{
		{"Ed25519 PEM", [][]byte{privatePEM(t, ed)}, []string{edKID}, edKID},
		{"P-256 PEM", [][]byte{privatePEM(t, p256)}, []string{p256KID}, p256KID},
		{
			"several PEM blocks in one input",
			[][]byte{append(privatePEM(t, p256), privatePEM(t, ed)...)},
			[]string{p256KID, edKID}, edKID,
		},
		{
			"public PEM after private: signer stays the private key",
			[][]byte{privatePEM(t, p256), publicPEM(t, edPub)},
			[]string{p256KID, edKID}, p256KID,
		},
		{"Ed25519 JWK private", [][]byte{jwkJSON(t, ed, nil)}, []string{edKID}, edKID},
		{"P-256 JWK private with kid", [][]byte{jwkJSON(t, p256, map[string]any{"kid": "k-2024", "alg": "ES256", "use": "sig"})}, []string{"k-2024"}, "k-2024"},
		{
			"JWK Set: public then private",
			[][]byte{jwkSet(jwkJSON(t, edPub, map[string]any{"kid": "old"}), jwkJSON(t, p256, map[string]any{"kid": "new"}))},
			[]string{"old", "new"}, "new",
		},
		{
			"mixed PEM and JWK inputs",
			[][]byte{jwkJSON(t, p256, nil), privatePEM(t, ed)},
			[]string{p256KID, edKID}, edKID,
		},
		{"leading whitespace and text before PEM", [][]byte{append([]byte("\n# dev key\n"), privatePEM(t, ed)...)}, []string{edKID}, edKID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := mustParseKeys(t, tt.data...)
			var kids []string
			for _, k := range ks.keys {
				kids = append(kids, k.kid)
			}
			if strings.Join(kids, ",") != strings.Join(tt.wantKIDs, ",") {
				t.Errorf("kids = %v, want %v", kids, tt.wantKIDs)
			}
			if ks.signer.kid != tt.wantSigner {
				t.Errorf("signer = %q, want %q", ks.signer.kid, tt.wantSigner)
			}
			// The signer actually signs verifiable tokens.
			a := NewAuthority(ks, testConfig)
			tok := mustIssue(t, a, testClaims())
			if hdr, _ := segments(t, tok); hdr["kid"] != tt.wantSigner {
				t.Errorf("token kid = %v, want %q", hdr["kid"], tt.wantSigner)
			}
			if _, err := a.Verify(tok, now); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestParseKeysErrors(t *testing.T) {
	ed := newEd25519(t)
	edPub := ed.Public().(ed25519.PublicKey)
	p256 := newP256(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	// A P-256 JWK whose public point does not belong to d.
	other := newP256(t)
	mismatched := jwkJSON(t, p256, nil)
	var m map[string]any
	if err := json.Unmarshal(mismatched, &m); err != nil {
		t.Fatal(err)
	}
	om := map[string]any{}
	if err := json.Unmarshal(jwkJSON(t, &other.PublicKey, nil), &om); err != nil {
		t.Fatal(err)
	}
	m["x"], m["y"] = om["x"], om["y"]
	mismatched = mustJSON(t, m)
	// A P-256 public JWK whose point is off the curve.
	offCurve := mustJSON(t, map[string]any{
		"kty": "EC", "crv": "P-256",
		"x": b64(bytes.Repeat([]byte{1}, 32)), "y": b64(bytes.Repeat([]byte{2}, 32)),
	})
	damaged := privatePEM(t, ed)
	damaged = append(privatePEM(t, p256), damaged[:len(damaged)-20]...) // END line cut off

	tests := []struct {
		name string
		data [][]byte
		want string // substring of the error
	}{
		{"nothing", nil, "no private key"},
		{"empty input", [][]byte{[]byte("  \n")}, "no key data"},
		{"garbage", [][]byte{[]byte("not a key")}, "neither PEM nor JWK"},
		{"only public keys", [][]byte{publicPEM(t, edPub)}, "no private key"},
		{"empty JWK set", [][]byte{[]byte(`{"keys":[]}`)}, "no private key"},
		{"RSA PKCS#8", [][]byte{privatePEM(t, rsaKey)}, "RSA keys are not accepted"},
		{"RSA public", [][]byte{privatePEM(t, ed), publicPEM(t, &rsaKey.PublicKey)}, "RSA keys are not accepted"},
		{"RSA JWK", [][]byte{jwkJSON(t, rsaKey, nil)}, "RSA keys are not accepted"},
		{"P-384 PKCS#8", [][]byte{privatePEM(t, p384)}, "P-384 is not accepted"},
		{"P-384 JWK", [][]byte{jwkJSON(t, p384, nil)}, `EC curve "P-384" is not accepted`},
		{"oct JWK", [][]byte{[]byte(`{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}`)}, `symmetric ("oct") keys are not accepted`},
		{"X25519 JWK", [][]byte{[]byte(`{"kty":"OKP","crv":"X25519","x":"` + b64(make([]byte, 32)) + `"}`)}, `OKP curve "X25519" is not accepted`},
		{"SEC 1 EC PRIVATE KEY", [][]byte{pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})}, "EC PRIVATE KEY"},
		{"certificate block", [][]byte{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})}, `unsupported PEM block type "CERTIFICATE"`},
		{"damaged last PEM block", [][]byte{damaged}, "malformed PEM"},
		{"JWK alg mismatch", [][]byte{jwkJSON(t, ed, map[string]any{"alg": "ES256"})}, `alg "ES256" does not match`},
		{"JWK use enc", [][]byte{jwkJSON(t, ed, map[string]any{"use": "enc"})}, `use "enc"`},
		{"JWK private/public mismatch", [][]byte{mismatched}, "does not match the private key"},
		{"JWK off-curve public key", [][]byte{privatePEM(t, ed), offCurve}, "invalid P-256 public key"},
		{"JWK short Ed25519 x", [][]byte{privatePEM(t, ed), []byte(`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`)}, "invalid Ed25519 public key size"},
		{"duplicate kid, same key twice", [][]byte{privatePEM(t, ed), privatePEM(t, ed)}, "duplicate kid"},
		{"duplicate explicit kid", [][]byte{jwkJSON(t, ed, map[string]any{"kid": "a"}), jwkJSON(t, p256, map[string]any{"kid": "a"})}, `duplicate kid "a"`},
		{"private key and its public part", [][]byte{privatePEM(t, ed), publicPEM(t, edPub)}, "duplicate kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseKeys(tt.data...)
			if err == nil {
				t.Fatalf("ParseKeys succeeded with %d keys", len(ks.keys))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	old, cur := newEd25519(t), newP256(t)
	oldPath := filepath.Join(dir, "old.pem")
	curPath := filepath.Join(dir, "current.jwk")
	badPath := filepath.Join(dir, "bad.pem")
	secret := "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"
	for path, data := range map[string][]byte{
		oldPath: publicPEM(t, old.Public()),
		curPath: jwkJSON(t, cur, map[string]any{"kid": "2025-01"}),
		badPath: []byte(secret),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	ks, err := LoadKeyFiles(oldPath, curPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.keys) != 2 || ks.signer.kid != "2025-01" {
		t.Errorf("keys = %d, signer %q", len(ks.keys), ks.signer.kid)
	}

	for _, paths := range [][]string{{curPath, badPath}, {curPath, filepath.Join(dir, "missing.pem")}} {
		_, err := LoadKeyFiles(paths...)
		if err == nil {
			t.Fatalf("LoadKeyFiles(%v) succeeded", paths)
		}
		if !strings.Contains(err.Error(), paths[1]) {
			t.Errorf("error %q does not name %s", err, paths[1])
		}
		if strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("error %q leaks file content", err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	k1, k2, k3 := newEd25519(t), newP256(t), newEd25519(t)
	k1PEM, k2PEM, k3PEM := privatePEM(t, k1), privatePEM(t, k2), privatePEM(t, k3)

	gen1 := NewAuthority(mustParseKeys(t, k1PEM), testConfig)
	gen2 := NewAuthority(mustParseKeys(t, k1PEM, k2PEM), testConfig)
	// gen3 dropped k1, keeps k2 only as a public key, signs with k3.
	gen3 := NewAuthority(mustParseKeys(t, publicPEM(t, &k2.PublicKey), k3PEM), testConfig)
	// k1 kept as a verify-only Ed25519 key.
	gen3b := NewAuthority(mustParseKeys(t, publicPEM(t, k1.Public()), k3PEM), testConfig)

	tok1 := mustIssue(t, gen1, testClaims())
	tok2 := mustIssue(t, gen2, testClaims())
	tok3 := mustIssue(t, gen3, testClaims())

	kidOf := func(tok string) any { h, _ := segments(t, tok); return h["kid"] }
	if kidOf(tok2) != thumbprint(t, &k2.PublicKey) {
		t.Errorf("gen2 signed with %v, want the last key k2", kidOf(tok2))
	}
	if kidOf(tok3) != thumbprint(t, k3.Public()) {
		t.Errorf("gen3 signed with %v, want k3", kidOf(tok3))
	}

	tests := []struct {
		name    string
		a       *Authority
		tok     string
		wantErr bool
	}{
		{"gen2 verifies token of older key k1", gen2, tok1, false},
		{"gen2 verifies its own token", gen2, tok2, false},
		{"gen3 verifies k2 token via public-only key", gen3, tok2, false},
		{"gen3 verifies its own token", gen3, tok3, false},
		{"gen3 rejects token of removed key k1", gen3, tok1, true},
		{"gen3b verifies k1 token via public-only Ed25519 key", gen3b, tok1, false},
		{"gen3b rejects token of removed key k2", gen3b, tok2, true},
		{"gen1 rejects token of newer key", gen1, tok2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.a.Verify(tt.tok, now)
			if tt.wantErr != (err != nil) {
				t.Fatalf("Verify error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	ed, p256 := newEd25519(t), newP256(t)
	verifyOnly := newEd25519(t)
	ks := mustParseKeys(t, privatePEM(t, p256), publicPEM(t, verifyOnly.Public()), jwkJSON(t, ed, map[string]any{"kid": "current"}))
	doc, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}

	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"kid": thumbprint(t, &p256.PublicKey), "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"},
		{"kid": thumbprint(t, verifyOnly.Public()), "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"},
		{"kid": "current", "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig"},
	}
	if len(raw.Keys) != len(want) {
		t.Fatalf("JWKS has %d keys, want %d: %s", len(raw.Keys), len(want), doc)
	}
	for i, k := range raw.Keys {
		allowed := map[string]bool{"kid": true, "kty": true, "crv": true, "x": true, "y": true, "alg": true, "use": true}
		for name := range k {
			if !allowed[name] {
				t.Errorf("key %d has member %q", i, name)
			}
		}
		if _, ok := k["d"]; ok {
			t.Errorf("key %d contains private member d", i)
		}
		for name, v := range want[i] {
			if k[name] != v {
				t.Errorf("key %d: %s = %v, want %v", i, name, k[name], v)
			}
		}
		if k["kty"] == "EC" && k["y"] == nil {
			t.Errorf("key %d: EC key without y", i)
		}
	}

	// Round trip through jwx: public keys only, usable for verification.
	set, err := jwk.Parse(doc)
	if err != nil {
		t.Fatalf("jwk.Parse: %v", err)
	}
	if set.Len() != 3 {
		t.Fatalf("parsed %d keys", set.Len())
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		if priv, err := jwk.IsPrivateKey(k); err != nil || priv {
			t.Errorf("key %d: private=%v err=%v", i, priv, err)
		}
	}
	tok := mustIssue(t, NewAuthority(ks, testConfig), testClaims())
	if _, err := jws.Verify([]byte(tok), jws.WithKeySet(set)); err != nil {
		t.Errorf("token does not verify against the published JWKS: %v", err)
	}
	// And the published document is itself valid ParseKeys input (verify-only).
	if _, err := ParseKeys(doc); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Errorf("ParseKeys(JWKS) error = %v, want no private key", err)
	}
}

func TestGenerateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "token.pem")

	created, err := GenerateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("first GenerateKeyFile = %v, %v; want true, nil", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %o, want 600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("key dir mode = %o, want 700", perm)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseKeys(first)
	if err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	if ks.signer.alg != jwa.EdDSA {
		t.Errorf("generated key alg = %s", ks.signer.alg)
	}

	created, err = GenerateKeyFile(path)
	if err != nil || created {
		t.Fatalf("second GenerateKeyFile = %v, %v; want false, nil", created, err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("second call changed the key file")
	}
}

func TestOpaque(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash := NewOpaque()
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		if err != nil || len(raw) != 32 || len(tok) != 43 {
			t.Fatalf("token %q: %d bytes, err %v; want 256 bits base64url", tok, len(raw), err)
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
		sum := sha256.Sum256([]byte(tok))
		if !bytes.Equal(hash, sum[:]) || !bytes.Equal(HashOpaque(tok), hash) {
			t.Fatalf("hash mismatch for %q", tok)
		}
	}
	if bytes.Equal(HashOpaque("a"), HashOpaque("b")) {
		t.Error("HashOpaque collides")
	}
}

// TestVerify is the acceptance and rejection table. Tokens are mostly crafted
// by hand so the tests do not depend on the code they check.
func TestVerify(t *testing.T) {
	ed := newEd25519(t) // newest key: signs
	p256 := newP256(t)  // older key: still verifies
	attacker := newEd25519(t)
	attackerP256 := newP256(t)
	edPub := ed.Public().(ed25519.PublicKey)
	ks := mustParseKeys(t, privatePEM(t, p256), privatePEM(t, ed))
	a := NewAuthority(ks, testConfig)
	edKID, p256KID := thumbprint(t, edPub), thumbprint(t, &p256.PublicKey)
	removed := newEd25519(t)

	hdr := map[string]any{"alg": "EdDSA", "kid": edKID, "typ": "at+jwt"}
	hdrES := map[string]any{"alg": "ES256", "kid": p256KID, "typ": "at+jwt"}
	valid := craft(t, hdr, claimsMap(), signEd25519(ed))
	ours := signEd25519(ed)

	attackerJWK := map[string]any{}
	if err := json.Unmarshal(jwkJSON(t, attacker.Public(), nil), &attackerJWK); err != nil {
		t.Fatal(err)
	}

	// JWS JSON serializations, correctly signed with our keys.
	jsonHdr := func(kid string) jws.Headers {
		h := jws.NewHeaders()
		_ = h.Set(jws.KeyIDKey, kid)
		_ = h.Set(jws.TypeKey, "at+jwt")
		return h
	}
	payload := mustJSON(t, claimsMap())
	generalJSON, err := jws.Sign(payload, jws.WithJSON(), jws.WithKey(jwa.EdDSA, ed, jws.WithProtectedHeaders(jsonHdr(edKID))))
	if err != nil {
		t.Fatal(err)
	}
	twoSigs, err := jws.Sign(payload, jws.WithJSON(),
		jws.WithKey(jwa.EdDSA, ed, jws.WithProtectedHeaders(jsonHdr(edKID))),
		jws.WithKey(jwa.ES256, p256, jws.WithProtectedHeaders(jsonHdr(p256KID))))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	flattened := `{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`

	// The same signature bytes with different (non-zero) padding bits.
	lastSigChar := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", valid[len(valid)-1])
	nonCanonical := valid[:len(valid)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[lastSigChar|1])

	huge := parts[0] + "." + strings.Repeat("A", 1<<20) + "." + parts[2]

	pubPEM := publicPEM(t, edPub)
	pubJWK := jwkJSON(t, edPub, map[string]any{"kid": edKID, "alg": "EdDSA", "use": "sig"})

	tests := []struct {
		name string
		tok  string
		want string // "" = accept; else substring of the rejection reason
	}{
		// Accepted.
		{"issued by Issue", mustIssue(t, a, testClaims()), ""},
		{"handcrafted EdDSA", valid, ""},
		{"handcrafted ES256 with older key", craft(t, hdrES, claimsMap(), signES256(t, p256)), ""},
		{"typ upper case", craft(t, header(hdr, "typ", "AT+JWT"), claimsMap(), ours), ""},
		{"typ application/at+jwt", craft(t, header(hdr, "typ", "application/at+jwt"), claimsMap(), ours), ""},
		{"aud array containing ours", craft(t, hdr, claimsMap("aud", []string{"other", testAudience}), ours), ""},
		{"no nbf", craft(t, hdr, claimsMap("nbf", nil), ours), ""},
		{"expired within leeway", craft(t, hdr, claimsMap("exp", now.Add(-20*time.Second).Unix()), ours), ""},
		{"iat in future within leeway", craft(t, hdr, claimsMap("iat", now.Add(20*time.Second).Unix(), "nbf", now.Add(20*time.Second).Unix()), ours), ""},
		{"fractional exp", craft(t, hdr, claimsMap("exp", float64(now.Unix())+900.5), ours), ""},
		{"unknown extra claim", craft(t, hdr, claimsMap("scope", "x"), ours), ""},

		// Algorithm and key confusion.
		{"alg none", craft(t, header(hdr, "alg", "none"), claimsMap(), nil), `alg "none" does not match`},
		{"HS256 keyed with raw Ed25519 public key", craft(t, header(hdr, "alg", "HS256"), claimsMap(), signHS256(edPub)), `alg "HS256" does not match`},
		{"HS256 keyed with public key PEM", craft(t, header(hdr, "alg", "HS256"), claimsMap(), signHS256(pubPEM)), `alg "HS256" does not match`},
		{"HS256 keyed with public key JWK", craft(t, header(hdr, "alg", "HS256"), claimsMap(), signHS256(pubJWK)), `alg "HS256" does not match`},
		{"HS256 keyed with JWKS document", craft(t, header(hdr, "alg", "HS256"), claimsMap(), signHS256(mustJWKS(t, ks))), `alg "HS256" does not match`},
		{"ES256 alg on Ed25519 kid", craft(t, header(hdr, "alg", "ES256"), claimsMap(), signES256(t, attackerP256)), `alg "ES256" does not match`},
		{"EdDSA alg on P-256 kid", craft(t, header(hdrES, "alg", "EdDSA"), claimsMap(), signEd25519(attacker)), `alg "EdDSA" does not match`},
		{"foreign Ed25519 key with our kid", craft(t, hdr, claimsMap(), signEd25519(attacker)), "bad signature"},
		{"foreign P-256 key with our kid", craft(t, hdrES, claimsMap(), signES256(t, attackerP256)), "bad signature"},
		{"unknown kid", craft(t, header(hdr, "kid", thumbprint(t, attacker.Public())), claimsMap(), signEd25519(attacker)), "unknown kid"},
		{"key no longer configured", craft(t, header(hdr, "kid", thumbprint(t, removed.Public())), claimsMap(), signEd25519(removed)), "unknown kid"},
		{"no kid", craft(t, header(hdr, "kid", nil), claimsMap(), ours), "missing kid"},
		{"empty kid", craft(t, header(hdr, "kid", ""), claimsMap(), ours), "missing kid"},
		{"embedded jwk, attacker-signed", craft(t, header(hdr, "kid", nil, "jwk", attackerJWK), claimsMap(), signEd25519(attacker)), `forbidden header "jwk"`},
		{"embedded jwk with our kid, attacker-signed", craft(t, header(hdr, "jwk", attackerJWK), claimsMap(), signEd25519(attacker)), `forbidden header "jwk"`},
		{"jku, attacker-signed", craft(t, header(hdr, "jku", "https://attacker.example/jwks.json"), claimsMap(), signEd25519(attacker)), `forbidden header "jku"`},
		{"jku, otherwise valid", craft(t, header(hdr, "jku", "https://attacker.example/jwks.json"), claimsMap(), ours), `forbidden header "jku"`},
		{"x5u", craft(t, header(hdr, "x5u", "https://attacker.example/cert.pem"), claimsMap(), ours), `forbidden header "x5u"`},
		{"x5c", craft(t, header(hdr, "x5c", []string{"MIIBAA=="}), claimsMap(), ours), `forbidden header "x5c"`},
		{"crit", craft(t, header(hdr, "crit", []string{"exp"}), claimsMap(), ours), `forbidden header "crit"`},
		{"b64 false", craft(t, header(hdr, "b64", false), claimsMap(), ours), `forbidden header "b64"`},

		// Type.
		{"typ JWT", craft(t, header(hdr, "typ", "JWT"), claimsMap(), ours), `typ "JWT"`},
		{"missing typ", craft(t, header(hdr, "typ", nil), claimsMap(), ours), `typ ""`},

		// Claims.
		{"wrong iss", craft(t, hdr, claimsMap("iss", "evil"), ours), "wrong iss"},
		{"missing iss", craft(t, hdr, claimsMap("iss", nil), ours), "wrong iss"},
		{"wrong aud", craft(t, hdr, claimsMap("aud", "other-api"), ours), "wrong aud"},
		{"aud array without ours", craft(t, hdr, claimsMap("aud", []string{"other-api"}), ours), "wrong aud"},
		{"missing aud", craft(t, hdr, claimsMap("aud", nil), ours), "wrong aud"},
		{"expired", craft(t, hdr, claimsMap("exp", now.Add(-time.Minute).Unix()), ours), "expired"},
		{"exp exactly now minus leeway", craft(t, hdr, claimsMap("exp", now.Add(-30*time.Second).Unix()), ours), "expired"},
		{"exp zero", craft(t, hdr, claimsMap("exp", 0), ours), "expired"},
		{"exp as RFC 3339 string", craft(t, hdr, claimsMap("exp", "2030-01-01T00:00:00Z"), ours), `claim "exp": not a number`},
		{"missing exp", craft(t, hdr, claimsMap("exp", nil), ours), "missing exp"},
		{"nbf in the future", craft(t, hdr, claimsMap("nbf", now.Add(time.Minute).Unix()), ours), "nbf in the future"},
		{"iat in the future", craft(t, hdr, claimsMap("iat", now.Add(time.Minute).Unix()), ours), "iat in the future"},
		{"missing iat", craft(t, hdr, claimsMap("iat", nil), ours), "missing iat"},
		{"missing sub", craft(t, hdr, claimsMap("sub", nil), ours), "missing or empty sub"},
		{"missing sid", craft(t, hdr, claimsMap("sid", nil), ours), "missing or empty sid"},
		{"missing role", craft(t, hdr, claimsMap("role", nil), ours), "missing or empty role"},
		{"missing jti", craft(t, hdr, claimsMap("jti", nil), ours), "missing or empty jti"},
		{"empty sid", craft(t, hdr, claimsMap("sid", ""), ours), "missing or empty sid"},
		{"role not a string", craft(t, hdr, claimsMap("role", 7), ours), `claim "role": not a string`},
		{"sub array", craft(t, hdr, claimsMap("sub", []string{"a"}), ours), `claim "sub": not a string`},
		{"sub null", craft(t, hdr, strings.Replace(string(mustJSON(t, claimsMap())), `"sub":"u_01HZX"`, `"sub":null`, 1), ours), `claim "sub": not a string`},
		{"upper-case SUB only", craft(t, hdr, claimsMap("sub", nil, "SUB", "u_01HZX"), ours), "missing or empty sub"},
		{"duplicate sub", craft(t, hdr, strings.Replace(string(mustJSON(t, claimsMap())), `"sub":`, `"sub":"admin","sub":`, 1), ours), `duplicate claim "sub"`},
		{"payload not an object", craft(t, hdr, `["x"]`, ours), "not a JSON object"},
		{"trailing data after claims", craft(t, hdr, string(mustJSON(t, claimsMap()))+`{}`, ours), "data after the claims"},

		// Serialization and size.
		{"JWS JSON general serialization", string(generalJSON), "not a compact JWS"},
		{"JWS JSON flattened serialization", flattened, "not a compact JWS"},
		{"two signatures", string(twoSigs), "not a compact JWS"},
		{"four segments", valid + ".AAAA", "4 segments"},
		{"two segments", parts[0] + "." + parts[1], "2 segments"},
		{"padded base64", valid + "==", "unexpected character"},
		{"standard base64 alphabet", "+" + valid[1:], "unexpected character"},
		{"non-canonical signature encoding", nonCanonical, "non-canonical signature"},
		{"garbage", "this is not a token", "unexpected character"},
		{"garbage in base64url alphabet", "abc.def.ghi", "malformed JWS"},
		{"empty string", "", "empty token"},
		{"whitespace", " " + valid, "unexpected character"},
		{"1 MiB token", huge, "longer than 8192 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Verify(tt.tok, now)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Subject == "" || got.SessionID == "" || got.Role == "" || got.ID == "" {
					t.Errorf("incomplete claims %+v", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if got != (Claims{}) {
				t.Errorf("claims returned with error: %+v", got)
			}
		})
	}
}

func mustJWKS(t testing.TB, ks *KeySet) []byte {
	t.Helper()
	doc, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestVerifyTimeBoundaries(t *testing.T) {
	a := NewAuthority(mustParseKeys(t, privatePEM(t, newEd25519(t))), Config{Issuer: testIssuer, Audience: testAudience, Leeway: time.Second})
	c := testClaims()
	tok := mustIssue(t, a, c)
	tests := []struct {
		name    string
		at      time.Time
		wantErr bool
	}{
		{"at iat", c.IssuedAt, false},
		{"iat minus leeway", c.IssuedAt.Add(-time.Second), false},
		{"before iat minus leeway", c.IssuedAt.Add(-time.Second - time.Nanosecond), true},
		{"just before exp plus leeway", c.ExpiresAt.Add(time.Second - time.Nanosecond), false},
		{"at exp plus leeway", c.ExpiresAt.Add(time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Verify(tok, tt.at)
			if tt.wantErr != (err != nil) {
				t.Errorf("Verify at %v: err = %v, wantErr %v", tt.at, err, tt.wantErr)
			}
		})
	}
}

// TestVerifyFailsFastOnHugeInput checks that an oversize token is refused before any work on
// its content: decoding 1 MiB would allocate hundreds of KiB, refusing it a few hundred bytes.
// Counting allocated bytes is deterministic where timing is not.
func TestVerifyFailsFastOnHugeInput(t *testing.T) {
	a := NewAuthority(mustParseKeys(t, privatePEM(t, newEd25519(t))), testConfig)
	huge := strings.Repeat("A", 1<<20)
	if _, err := a.Verify(huge, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Verify error = %v", err)
	}
	const n = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		_, _ = a.Verify(huge, now)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 4<<10 {
		t.Errorf("rejecting a 1 MiB token allocates %d bytes: it is being decoded", per)
	}
}

func BenchmarkVerify(b *testing.B) {
	a := NewAuthority(mustParseKeys(b, privatePEM(b, newEd25519(b))), testConfig)
	tok := mustIssue(b, a, testClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyES256(b *testing.B) {
	a := NewAuthority(mustParseKeys(b, privatePEM(b, newP256(b))), testConfig)
	tok := mustIssue(b, a, testClaims())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssue(b *testing.B) {
	a := NewAuthority(mustParseKeys(b, privatePEM(b, newEd25519(b))), testConfig)
	c := testClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Issue(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRejectHuge(b *testing.B) {
	a := NewAuthority(mustParseKeys(b, privatePEM(b, newEd25519(b))), testConfig)
	huge := strings.Repeat("A", 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = a.Verify(huge, now)
	}
}
