package token

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// dsaPublicPEM is a PKIX "PUBLIC KEY" block holding a (toy) DSA key, which x509 parses and
// Go cannot marshal.
func dsaPublicPEM(t *testing.T) []byte {
	t.Helper()
	type params struct{ P, Q, G *big.Int }
	type algorithm struct {
		OID    asn1.ObjectIdentifier
		Params params
	}
	y, err := asn1.Marshal(big.NewInt(8))
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Algorithm algorithm
		PublicKey asn1.BitString
	}{
		algorithm{asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, params{big.NewInt(23), big.NewInt(11), big.NewInt(4)}},
		asn1.BitString{Bytes: y, BitLength: 8 * len(y)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestParseKeysRefuses: each kind of key or file ParseKeys refuses fails with the message
// that names the input, the block or JWK, and the problem (never the key material).
func TestParseKeysRefuses(t *testing.T) {
	ed := newEd25519(t)
	edPEM := privatePEM(t, ed)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ed)
	if err != nil {
		t.Fatal(err)
	}
	annotated := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: der})
	block := func(typ string) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: []byte("junk")}) }
	// A P-256 JWK whose private scalar is edited: zero, and the group order (out of range).
	p256JWK := func(d []byte) []byte {
		var m map[string]any
		if err := json.Unmarshal(jwkJSON(t, newP256(t), nil), &m); err != nil {
			t.Fatal(err)
		}
		m["d"] = b64(d)
		return mustJSON(t, m)
	}
	order := elliptic.P256().Params().N.Bytes()
	// An Ed25519 JWK whose public part is another key's.
	var mixed, other map[string]any
	if err := json.Unmarshal(jwkJSON(t, ed, nil), &mixed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(jwkJSON(t, newEd25519(t).Public(), nil), &other); err != nil {
		t.Fatal(err)
	}
	mixed["x"] = other["x"]
	rsaJWK := `{"kty":"RSA","kid":"r","n":"` + b64(make([]byte, 256)) + `","e":"AQAB"}`
	edTP := thumbprint(t, ed.Public())

	tests := []struct {
		name   string
		data   [][]byte
		want   string
		prefix bool // want is the start of the message; the rest is the parser's
	}{
		{"annotated PEM", [][]byte{annotated}, "token: key data: PEM block 1: encrypted or annotated PEM is not supported", false},
		{"encrypted PKCS#8", [][]byte{block("ENCRYPTED PRIVATE KEY")}, "token: key data: PEM block 1: encrypted private keys are not supported", false},
		{"PKCS#1 RSA private key", [][]byte{block("RSA PRIVATE KEY")}, "token: key data: PEM block 1: RSA keys are not accepted; use Ed25519 or P-256", false},
		{"PKCS#1 RSA public key", [][]byte{edPEM, block("RSA PUBLIC KEY")}, "token: key data #2: PEM block 1: RSA keys are not accepted; use Ed25519 or P-256", false},
		{"second block refused", [][]byte{append(append([]byte{}, edPEM...), block("RSA PUBLIC KEY")...)}, "token: key data: PEM block 2: RSA keys are not accepted; use Ed25519 or P-256", false},
		{"PKCS#8 not DER", [][]byte{block("PRIVATE KEY")}, "token: key data: PEM block 1: asn1: ", true},
		{"PKIX not DER", [][]byte{edPEM, block("PUBLIC KEY")}, "token: key data #2: PEM block 1: asn1: ", true},
		{"X25519 private key", [][]byte{privatePEM(t, x25519)}, "token: key data: PEM block 1: X25519/ECDH keys cannot sign; use Ed25519 or P-256", false},
		{"X25519 public key", [][]byte{edPEM, publicPEM(t, x25519.PublicKey())}, "token: key data #2: PEM block 1: X25519/ECDH keys cannot verify signatures; use Ed25519 or P-256", false},
		{"P-384 public key", [][]byte{edPEM, publicPEM(t, &p384.PublicKey)}, "token: key data #2: PEM block 1: ECDSA curve P-384 is not accepted; only P-256", false},
		{"DSA public key", [][]byte{edPEM, dsaPublicPEM(t)}, "token: key data #2: PEM block 1: unsupported public key type *dsa.PublicKey; use Ed25519 or P-256", false},
		{"JSON cut short", [][]byte{[]byte(`{"kty":`)}, "token: key data: invalid JSON: unexpected end of JSON input", false},
		{"JWK set of no keys", [][]byte{[]byte(`{"keys":5}`)}, "token: key data: invalid JWK set: ", true},
		{"JWK set with an unknown key type", [][]byte{[]byte(`{"keys":[{"kty":"nope"}]}`)}, "token: key data: invalid JWK set: ", true},
		{"JWK without its point", [][]byte{[]byte(`{"kty":"EC","crv":"P-256"}`)}, "token: key data: invalid JWK: ", true},
		{"JWK of an unknown key type", [][]byte{[]byte(`{"kty":"nope"}`)}, "token: key data: invalid JWK: ", true},
		{"JWK with a kid refused", [][]byte{[]byte(rsaJWK)}, `token: key data: JWK #1 (kid "r"): RSA keys are not accepted; use Ed25519 or P-256`, false},
		{"JWK set: the second key refused", [][]byte{[]byte(`{"keys":[` + string(jwkJSON(t, ed, nil)) + `,{"kty":"OKP","crv":"Ed448","x":"AAAA"}]}`)},
			`token: key data: JWK #2 (kid ""): OKP curve "Ed448" is not accepted; only Ed25519 can sign`, false},
		{"Ed25519 JWK with another key's public part", [][]byte{mustJSON(t, mixed)}, "token: key data: JWK: invalid key material: ", true},
		{"P-256 JWK with a zero scalar", [][]byte{p256JWK(make([]byte, 32))}, "token: key data: JWK: invalid P-256 private key: ", true},
		{"P-256 JWK with the group order as scalar", [][]byte{p256JWK(order)}, "token: key data: JWK: invalid P-256 private key: ", true},
		{"P-256 JWK off the curve", [][]byte{[]byte(`{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}`)}, "token: key data: JWK: invalid P-256 public key: ", true},
		// Rotation: a new key's kid must not be an older key's, whichever way each got it.
		{"explicit kid equal to another key's thumbprint", [][]byte{edPEM, jwkJSON(t, newP256(t), map[string]any{"kid": edTP})},
			`token: duplicate kid "` + edTP + `" (key data #1 PEM block 1 and key data #2 JWK #1)`, false},
		{"same key in a JWK set twice", [][]byte{[]byte(`{"keys":[` + string(jwkJSON(t, ed, nil)) + `,` + string(jwkJSON(t, ed.Public(), nil)) + `]}`)},
			`token: duplicate kid "` + edTP + `" (key data JWK #1 and key data JWK #2)`, false},
		{"only verify-only keys after rotation", [][]byte{publicPEM(t, ed.Public()), jwkJSON(t, newP256(t).Public(), map[string]any{"kid": "next"})},
			"token: no private key: at least one private (signing) key is required", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseKeys(tt.data...)
			if err == nil {
				t.Fatalf("ParseKeys accepted it: %d keys", len(ks.keys))
			}
			if got := err.Error(); got != tt.want && (!tt.prefix || !strings.HasPrefix(got, tt.want) || len(got) == len(tt.want)) {
				t.Errorf("ParseKeys: %s\nwant:      %s", got, tt.want)
			}
		})
	}
}

// TestLoadKeyFilesRefuses: what LoadKeyFiles cannot read or finds empty is named by its path.
func TestLoadKeyFilesRefuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("\n \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(key, privatePEM(t, newEd25519(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		paths  []string
		want   string
		wantIs error
	}{
		{"no files", nil, "token: no private key: at least one private (signing) key is required", nil},
		{"empty file", []string{key, empty}, "token: key file " + empty + ": no key data", nil},
		{"a directory", []string{dir}, "token: read key file: read " + dir + ": is a directory", syscall.EISDIR},
		{"missing file", []string{key, filepath.Join(dir, "gone.pem")}, "token: read key file: open " + filepath.Join(dir, "gone.pem") + ": no such file or directory", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKeyFiles(tt.paths...)
			if err == nil || err.Error() != tt.want {
				t.Errorf("LoadKeyFiles: %v\nwant:         %s", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("the error does not wrap %v", tt.wantIs)
			}
		})
	}
}

// TestGenerateKeyFileFails: a key file that cannot be created is an error, and no file is
// left behind.
func TestGenerateKeyFileFails(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		prefix string
		wantIs error
	}{
		{"parent is a file", filepath.Join(file, "keys", "token.pem"), "token: create key directory: ", syscall.ENOTDIR},
		{"name too long", filepath.Join(dir, strings.Repeat("k", 300)+".pem"), "token: create key file: ", syscall.ENAMETOOLONG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := GenerateKeyFile(tt.path)
			if created || err == nil || !strings.HasPrefix(err.Error(), tt.prefix) || !errors.Is(err, tt.wantIs) {
				t.Errorf("GenerateKeyFile = %v, %v; want false and %q… wrapping %v", created, err, tt.prefix, tt.wantIs)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("%d entries in the directory, want only the file", len(entries))
			}
		})
	}
}

// TestJWKSOfNoKeys: a KeySet not made by ParseKeys has no document to publish.
func TestJWKSOfNoKeys(t *testing.T) {
	for _, ks := range []*KeySet{nil, {}} {
		if doc, err := ks.JWKS(); doc != nil || err == nil || err.Error() != "token: empty key set" {
			t.Errorf("JWKS of %#v = %q, %v; want the error token: empty key set", ks, doc, err)
		}
	}
}
