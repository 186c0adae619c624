package apitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// WithLocalhostURL makes the server's public URL name localhost instead of 127.0.0.1:
// browsers, and so go-webauthn, refuse an IP address as a relying party id, and passkeys take
// theirs from the public URL.
func WithLocalhostURL() Option {
	return func(o *serverOptions) { o.localhost = true }
}

// Authenticator is a software WebAuthn authenticator for tests: one discoverable credential
// with an ECDSA P-256 key (COSE alg -7), answering registrations with a "none" or "packed"
// (self) attestation and sign-ins with assertions, as WebAuthn Level 3 §6 lays them out
// (authenticator data: RP id hash, flags, counter, attested credential data; signatures over
// authenticator data ‖ SHA-256(clientDataJSON)). Its fields shape the next answer, so a test
// can make it wrong on purpose.
type Authenticator struct {
	Key        *ecdsa.PrivateKey
	ID         []byte // the credential id
	UserHandle []byte // set by Create from the options
	// Origin is what clientDataJSON says the page's origin is.
	Origin string
	// RPID is hashed into the authenticator data ("": the options' RP id).
	RPID string
	// Format is the attestation statement format: "none" (default) or "packed".
	Format string
	// Counter is the signature counter: each assertion adds one and sends it (set it back
	// to play a cloned authenticator).
	Counter uint32
	// NoUV leaves the user-verified flag off (a key without PIN or biometric).
	NoUV bool
	// AttestationKey signs a packed attestation statement (nil: Key, a self attestation).
	AttestationKey *ecdsa.PrivateKey
}

// NewAuthenticator returns an authenticator with a new key and credential id, answering for
// pages of origin.
func NewAuthenticator(t testing.TB, origin string) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &Authenticator{Key: key, ID: id, Origin: origin}
}

var b64 = base64.RawURLEncoding

// creationOptions and requestOptions are the members of the options JSON the authenticator reads.
type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

type requestOptions struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
}

// clientData is the clientDataJSON of a ceremony of typ for challenge (as the options gave it).
func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) flags() byte {
	f := byte(0x01) // user present
	if !a.NoUV {
		f |= 0x04 // user verified
	}
	return f
}

// authData is the authenticator data for rpID: its hash, the flags, the counter and (attested)
// the credential id and public key.
func (a *Authenticator) authData(t testing.TB, rpID string, attested bool) []byte {
	t.Helper()
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	flags := a.flags()
	if attested {
		flags |= 0x40
	}
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, a.Counter)
	if !attested {
		return out
	}
	out = append(out, make([]byte, 16)...)                      // AAGUID: none
	out = binary.BigEndian.AppendUint16(out, uint16(len(a.ID))) //nolint:gosec // credential ids are 16 bytes here
	out = append(out, a.ID...)
	pub, err := a.Key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 ‖ x ‖ y
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, cose...)
}

func (a *Authenticator) sign(t testing.TB, key *ecdsa.PrivateKey, authData, clientData []byte) []byte {
	t.Helper()
	cdh := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Create answers navigator.credentials.create() with options (the publicKey member of the
// service's answer): the PublicKeyCredential as its JSON form.
func (a *Authenticator) Create(t testing.TB, options any) map[string]any {
	t.Helper()
	var o creationOptions
	remarshal(t, options, &o)
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		t.Fatalf("user.id %q: %v", o.User.ID, err)
	}
	a.UserHandle = handle
	cd := a.clientData("webauthn.create", o.Challenge)
	ad := a.authData(t, o.RP.ID, true)
	stmt := map[string]any{}
	format := a.Format
	if format == "" {
		format = "none"
	}
	if format == "packed" {
		key := a.AttestationKey
		if key == nil {
			key = a.Key
		}
		stmt = map[string]any{"alg": -7, "sig": a.sign(t, key, ad, cd)}
	}
	att, err := cbor.Marshal(map[string]any{"fmt": format, "attStmt": stmt, "authData": ad})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal"},
		},
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
	}
}

// Get answers navigator.credentials.get() with options: an assertion with the next counter.
func (a *Authenticator) Get(t testing.TB, options any) map[string]any {
	t.Helper()
	var o requestOptions
	remarshal(t, options, &o)
	a.Counter++
	cd := a.clientData("webauthn.get", o.Challenge)
	ad := a.authData(t, o.RPID, false)
	return map[string]any{
		"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(a.sign(t, a.Key, ad, cd)), "userHandle": b64.EncodeToString(a.UserHandle),
		},
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
	}
}

func remarshal(t testing.TB, from, to any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}
