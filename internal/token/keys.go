package token

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// PEM block types accepted by ParseKeys.
const (
	pemPrivateKey = "PRIVATE KEY"
	pemPublicKey  = "PUBLIC KEY"
)

// KeySet holds the keys of an Authority: the private key that signs new
// tokens and the public keys that verify them, each with its kid.
//
// Keys are kept in the order they were given, oldest first. The last private
// key signs; every key (private keys through their public part, and
// verify-only public keys) verifies. To rotate, append a new private key,
// deploy, and once every token signed by the old key has expired, remove the
// old key (or keep only its public part until then).
//
// A KeySet is immutable and safe for concurrent use.
type KeySet struct {
	keys   []*key          // oldest first
	byKID  map[string]*key // kid -> key
	signer *key            // the last private key
	jwks   []byte          // public JWK Set document
}

// key is one configured key.
type key struct {
	kid      string
	alg      jwa.SignatureAlgorithm
	public   crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey (P-256)
	private  crypto.Signer    // ed25519.PrivateKey or *ecdsa.PrivateKey; nil if verify-only
	verifier jws.Verifier
}

// parsedKey is a validated key from one input, before kids are checked
// across inputs.
type parsedKey struct {
	kid     string // "" if the input had none
	alg     jwa.SignatureAlgorithm
	public  crypto.PublicKey
	private crypto.Signer
	source  string // where the key came from, for error messages
}

// ParseKeys reads keys from PEM or JWK JSON data and returns a KeySet.
//
// Each data element is either PEM, one or more blocks of type "PRIVATE KEY"
// (PKCS#8) or "PUBLIC KEY" (PKIX, verify-only), or JSON, a single JWK or a JWK
// Set ({"keys":[...]}); a JWK with "d" is a private key. Only Ed25519 keys
// (alg EdDSA) and P-256 keys (alg ES256) are accepted; RSA, symmetric (oct),
// X25519 and other curves are rejected with an error naming the problem.
// A JWK's "alg" and "use", when present, must be the key's algorithm and
// "sig".
//
// A key without a kid (every PEM key, and JWKs without one) gets its RFC 7638
// JWK thumbprint (base64url SHA-256) as kid. Duplicate kids are an error, and
// at least one private key is required.
//
// Order matters: keys are listed oldest first across all data elements; the
// last private key signs new tokens and all keys verify.
func ParseKeys(data ...[]byte) (*KeySet, error) {
	var all []parsedKey
	for i, d := range data {
		source := "key data"
		if len(data) > 1 {
			source = fmt.Sprintf("key data #%d", i+1)
		}
		keys, err := parseKeyData(d, source)
		if err != nil {
			return nil, fmt.Errorf("token: %s: %w", source, err)
		}
		all = append(all, keys...)
	}
	return newKeySet(all)
}

// LoadKeyFiles reads the files at paths, in order, and parses them as
// ParseKeys does. Errors name the offending file but never quote its content.
func LoadKeyFiles(paths ...string) (*KeySet, error) {
	var all []parsedKey
	for _, path := range paths {
		source := "key file " + path
		data, err := os.ReadFile(filepath.Clean(path))
		if err != nil {
			// The *fs.PathError already names the file.
			return nil, fmt.Errorf("token: read key file: %w", err)
		}
		keys, err := parseKeyData(data, source)
		if err != nil {
			return nil, fmt.Errorf("token: %s: %w", source, err)
		}
		all = append(all, keys...)
	}
	return newKeySet(all)
}

// GenerateKeyFile creates a new Ed25519 private key, PKCS#8 PEM encoded, at
// path with mode 0600, creating missing parent directories with mode 0700.
// If path already exists it is left untouched and created is false. It is
// meant for development setups; production keys are provisioned explicitly.
func GenerateKeyFile(path string) (created bool, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return false, fmt.Errorf("token: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return false, fmt.Errorf("token: encode key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der})

	path = filepath.Clean(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("token: create key directory: %w", err)
	}
	// O_EXCL makes "create unless it exists" atomic.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("token: create key file: %w", err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path) // do not leave a truncated key behind
		return false, fmt.Errorf("token: write key file %s: %w", path, werr)
	}
	return true, nil
}

// JWKS returns the public keys as a JWK Set document ({"keys":[...]}), oldest
// first, each with kid, kty, crv, x (and y for P-256), alg and use "sig".
// It never contains private key material.
func (k *KeySet) JWKS() ([]byte, error) {
	if k == nil || k.jwks == nil {
		return nil, errors.New("token: empty key set")
	}
	return bytes.Clone(k.jwks), nil
}

// newKeySet checks kids across all parsed keys and builds the KeySet.
func newKeySet(parsed []parsedKey) (*KeySet, error) {
	ks := &KeySet{byKID: make(map[string]*key, len(parsed))}
	sources := make(map[string]string, len(parsed))
	set := jwk.NewSet()
	for _, p := range parsed {
		pub, err := jwk.FromRaw(p.public)
		if err != nil {
			return nil, fmt.Errorf("token: %s: %w", p.source, err)
		}
		if kty := pub.KeyType(); kty != jwa.OKP && kty != jwa.EC {
			return nil, fmt.Errorf("token: %s: internal error: public key has type %s", p.source, kty)
		}
		kid := p.kid
		if kid == "" {
			tp, err := pub.Thumbprint(crypto.SHA256)
			if err != nil {
				return nil, fmt.Errorf("token: %s: thumbprint: %w", p.source, err)
			}
			kid = base64.RawURLEncoding.EncodeToString(tp)
		}
		if prev, dup := sources[kid]; dup {
			return nil, fmt.Errorf("token: duplicate kid %q (%s and %s)", kid, prev, p.source)
		}
		sources[kid] = p.source

		verifier, err := jws.NewVerifier(p.alg)
		if err != nil {
			return nil, fmt.Errorf("token: %s: %w", p.source, err)
		}
		for _, f := range []struct {
			name  string
			value any
		}{
			{jwk.KeyIDKey, kid},
			{jwk.AlgorithmKey, p.alg},
			{jwk.KeyUsageKey, jwk.ForSignature},
		} {
			if err := pub.Set(f.name, f.value); err != nil {
				return nil, fmt.Errorf("token: %s: set %s: %w", p.source, f.name, err)
			}
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("token: %s: %w", p.source, err)
		}

		k := &key{kid: kid, alg: p.alg, public: p.public, private: p.private, verifier: verifier}
		ks.keys = append(ks.keys, k)
		ks.byKID[kid] = k
		if k.private != nil {
			ks.signer = k
		}
	}
	if ks.signer == nil {
		return nil, errors.New("token: no private key: at least one private (signing) key is required")
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWK set: %w", err)
	}
	ks.jwks = doc
	return ks, nil
}

// parseKeyData parses one input: JSON (JWK or JWK Set) or PEM.
func parseKeyData(data []byte, source string) ([]parsedKey, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("no key data")
	}
	if trimmed[0] == '{' {
		return parseJWKData(trimmed, source)
	}
	return parsePEMData(trimmed, source)
}

// parsePEMData parses every PEM block in data. Errors never quote key content.
func parsePEMData(data []byte, source string) ([]parsedKey, error) {
	// pem.Decode silently skips anything it cannot decode, including a
	// damaged block; count the BEGIN lines so no key is ever dropped unnoticed.
	begins := bytes.Count(data, []byte("-----BEGIN "))
	if begins == 0 {
		return nil, errors.New("neither PEM nor JWK JSON")
	}
	var keys []parsedKey
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if len(block.Headers) > 0 {
			return nil, fmt.Errorf("PEM block %d: encrypted or annotated PEM is not supported", n)
		}
		var (
			p   parsedKey
			err error
		)
		switch block.Type {
		case pemPrivateKey:
			var raw any
			raw, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			if err == nil {
				p, err = fromPrivate(raw)
			}
		case pemPublicKey:
			var raw any
			raw, err = x509.ParsePKIXPublicKey(block.Bytes)
			if err == nil {
				p, err = fromPublic(raw)
			}
		case "RSA PRIVATE KEY", "RSA PUBLIC KEY":
			err = errors.New("RSA keys are not accepted; use Ed25519 or P-256")
		case "EC PRIVATE KEY":
			err = errors.New(`SEC 1 "EC PRIVATE KEY" is not supported; convert it to PKCS#8 "PRIVATE KEY" (openssl pkcs8 -topk8 -nocrypt)`)
		case "ENCRYPTED PRIVATE KEY":
			err = errors.New("encrypted private keys are not supported")
		default:
			err = fmt.Errorf(`unsupported PEM block type %q; want "PRIVATE KEY" (PKCS#8) or "PUBLIC KEY"`, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		p.source = fmt.Sprintf("%s PEM block %d", source, n)
		keys = append(keys, p)
	}
	if len(keys) != begins {
		return nil, fmt.Errorf("malformed PEM: %d BEGIN lines but %d decodable blocks", begins, len(keys))
	}
	return keys, nil
}

// parseJWKData parses a single JWK or a JWK Set.
func parseJWKData(data []byte, source string) ([]parsedKey, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var jwks []jwk.Key
	if _, isSet := probe["keys"]; isSet {
		set, err := jwk.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("invalid JWK set: %w", err)
		}
		for i := range set.Len() {
			k, _ := set.Key(i)
			jwks = append(jwks, k)
		}
	} else {
		k, err := jwk.ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("invalid JWK: %w", err)
		}
		jwks = append(jwks, k)
	}

	keys := make([]parsedKey, 0, len(jwks))
	for i, jk := range jwks {
		p, err := fromJWK(jk)
		if err != nil {
			if len(jwks) > 1 || jk.KeyID() != "" {
				return nil, fmt.Errorf("JWK #%d (kid %q): %w", i+1, jk.KeyID(), err)
			}
			return nil, fmt.Errorf("JWK: %w", err)
		}
		p.source = fmt.Sprintf("%s JWK #%d", source, i+1)
		keys = append(keys, p)
	}
	return keys, nil
}

// fromJWK validates a parsed JWK and converts it into a parsedKey.
func fromJWK(jk jwk.Key) (parsedKey, error) {
	var want jwa.SignatureAlgorithm
	switch kty := jk.KeyType(); kty {
	case jwa.OKP:
		if crv := curveOf(jk); crv != jwa.Ed25519 {
			return parsedKey{}, fmt.Errorf("OKP curve %q is not accepted; only Ed25519 can sign", crv)
		}
		want = jwa.EdDSA
	case jwa.EC:
		if crv := curveOf(jk); crv != jwa.P256 {
			return parsedKey{}, fmt.Errorf("EC curve %q is not accepted; only P-256", crv)
		}
		want = jwa.ES256
	case jwa.RSA:
		return parsedKey{}, errors.New("RSA keys are not accepted; use Ed25519 or P-256")
	case jwa.OctetSeq:
		return parsedKey{}, errors.New(`symmetric ("oct") keys are not accepted; use Ed25519 or P-256`)
	default:
		return parsedKey{}, fmt.Errorf("key type %q is not accepted", kty)
	}
	if alg := jk.Algorithm().String(); alg != "" && alg != want.String() {
		return parsedKey{}, fmt.Errorf("alg %q does not match the key; want %q", alg, want)
	}
	if use := jk.KeyUsage(); use != "" && use != jwk.ForSignature.String() {
		return parsedKey{}, fmt.Errorf(`use %q is not "sig"`, use)
	}

	var raw any
	if err := jk.Raw(&raw); err != nil {
		return parsedKey{}, fmt.Errorf("invalid key material: %w", err)
	}
	var (
		p   parsedKey
		err error
	)
	if isPrivate, _ := jwk.IsPrivateKey(jk); isPrivate {
		p, err = fromPrivate(raw)
	} else {
		p, err = fromPublic(raw)
	}
	if err != nil {
		return parsedKey{}, err
	}
	p.kid = jk.KeyID()
	return p, nil
}

// curveOf returns the "crv" of an OKP or EC JWK.
func curveOf(jk jwk.Key) jwa.EllipticCurveAlgorithm {
	if c, ok := jk.(interface {
		Crv() jwa.EllipticCurveAlgorithm
	}); ok {
		return c.Crv()
	}
	return jwa.InvalidEllipticCurve
}

// fromPrivate validates a private key and rebuilds it from its private
// scalar or seed, so that a mismatched public part is caught here rather than
// producing tokens nobody can verify.
func fromPrivate(raw any) (parsedKey, error) {
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return parsedKey{}, errors.New("invalid Ed25519 private key size")
		}
		priv := ed25519.NewKeyFromSeed(k.Seed())
		pub, _ := priv.Public().(ed25519.PublicKey)
		if !bytes.Equal(pub, k[ed25519.SeedSize:]) {
			return parsedKey{}, errors.New("Ed25519 public part does not match the private key")
		}
		return parsedKey{alg: jwa.EdDSA, public: pub, private: priv}, nil
	case *ecdsa.PrivateKey:
		if err := checkP256(k.Curve); err != nil {
			return parsedKey{}, err
		}
		d, err := k.Bytes()
		if err != nil {
			return parsedKey{}, fmt.Errorf("invalid P-256 private key: %w", err)
		}
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return parsedKey{}, fmt.Errorf("invalid P-256 private key: %w", err)
		}
		if !priv.PublicKey.Equal(&k.PublicKey) {
			return parsedKey{}, errors.New("P-256 public part does not match the private key")
		}
		return parsedKey{alg: jwa.ES256, public: &priv.PublicKey, private: priv}, nil
	case *rsa.PrivateKey:
		return parsedKey{}, errors.New("RSA keys are not accepted; use Ed25519 or P-256")
	case *ecdh.PrivateKey:
		return parsedKey{}, errors.New("X25519/ECDH keys cannot sign; use Ed25519 or P-256")
	default:
		return parsedKey{}, fmt.Errorf("unsupported private key type %T; use Ed25519 or P-256", raw)
	}
}

// fromPublic validates a public (verify-only) key.
func fromPublic(raw any) (parsedKey, error) {
	switch k := raw.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return parsedKey{}, errors.New("invalid Ed25519 public key size")
		}
		// Keep the named type: a plain []byte would be taken for an HMAC secret.
		return parsedKey{alg: jwa.EdDSA, public: ed25519.PublicKey(bytes.Clone(k))}, nil
	case *ecdsa.PublicKey:
		if err := checkP256(k.Curve); err != nil {
			return parsedKey{}, err
		}
		b, err := k.Bytes()
		if err != nil {
			return parsedKey{}, fmt.Errorf("invalid P-256 public key: %w", err)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
		if err != nil {
			return parsedKey{}, fmt.Errorf("invalid P-256 public key: %w", err)
		}
		return parsedKey{alg: jwa.ES256, public: pub}, nil
	case *rsa.PublicKey:
		return parsedKey{}, errors.New("RSA keys are not accepted; use Ed25519 or P-256")
	case *ecdh.PublicKey:
		return parsedKey{}, errors.New("X25519/ECDH keys cannot verify signatures; use Ed25519 or P-256")
	default:
		return parsedKey{}, fmt.Errorf("unsupported public key type %T; use Ed25519 or P-256", raw)
	}
}

// checkP256 accepts only the P-256 curve.
func checkP256(c elliptic.Curve) error {
	if c == nil {
		return errors.New("ECDSA key without a curve")
	}
	if c != elliptic.P256() {
		return fmt.Errorf("ECDSA curve %s is not accepted; only P-256", c.Params().Name)
	}
	return nil
}
