package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// sealer encrypts TOTP secrets at rest with AES-256-GCM. The newest key seals; every key
// opens, so a key is rotated by appending a new one and dropping the old one once no secret
// sealed with it is left. The user's row id is the additional data, so a sealed secret copied
// to another user's row does not open. Without keys, secrets are stored as they are (format
// byte 0): the operator is warned at start (ALUMNI_TOTP_KEYS).
type sealer struct {
	keys []sealKey // oldest first
}

type sealKey struct {
	id   uint32
	aead cipher.AEAD
}

const (
	sealPlain = 0 // the secret itself follows
	sealGCM   = 1 // 4-byte key id, 12-byte nonce, ciphertext
)

// ParseTOTPKeys reads TOTP sealing keys: base64 (standard or URL alphabet, padding optional)
// of 32 random bytes each, separated by commas, spaces or new lines, oldest first. It
// returns an error naming the position of a key that is not 32 bytes.
func ParseTOTPKeys(text string) ([][]byte, error) {
	var keys [][]byte
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	for i, f := range fields {
		f = strings.TrimRight(f, "=")
		var raw []byte
		var err error
		if strings.ContainsAny(f, "-_") {
			raw, err = base64.RawURLEncoding.DecodeString(f)
		} else {
			raw, err = base64.RawStdEncoding.DecodeString(f)
		}
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("TOTP key %d is not 32 bytes in base64", i+1)
		}
		keys = append(keys, raw)
	}
	return keys, nil
}

func newSealer(keys [][]byte) (*sealer, error) {
	s := &sealer{}
	for _, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("TOTP key: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("TOTP key: %w", err)
		}
		sum := sha256.Sum256(k)
		s.keys = append(s.keys, sealKey{id: binary.BigEndian.Uint32(sum[:4]), aead: aead})
	}
	return s, nil
}

func additionalData(userKey int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("alumnid totp "), uint64(userKey)) //nolint:gosec // a row id, never negative
}

// seal returns secret as stored for the user with row id userKey.
func (s *sealer) seal(secret string, userKey int64) ([]byte, error) {
	if len(s.keys) == 0 {
		return append([]byte{sealPlain}, secret...), nil
	}
	k := s.keys[len(s.keys)-1]
	out := []byte{sealGCM}
	out = binary.BigEndian.AppendUint32(out, k.id)
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal TOTP secret: %w", err)
	}
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, []byte(secret), additionalData(userKey)), nil
}

var errSealKey = errors.New("the TOTP secret is sealed with a key this server does not have (ALUMNI_TOTP_KEYS)")

// open returns the secret sealed in stored for the user userKey. It fails when the key is not
// configured or the data was altered.
func (s *sealer) open(stored []byte, userKey int64) (string, error) {
	if len(stored) == 0 {
		return "", errors.New("empty TOTP secret")
	}
	switch stored[0] {
	case sealPlain:
		return string(stored[1:]), nil
	case sealGCM:
		if len(stored) < 5 {
			return "", errors.New("truncated TOTP secret")
		}
		id := binary.BigEndian.Uint32(stored[1:5])
		for _, k := range s.keys {
			if k.id != id {
				continue
			}
			n := k.aead.NonceSize()
			if len(stored) < 5+n {
				return "", errors.New("truncated TOTP secret")
			}
			plain, err := k.aead.Open(nil, stored[5:5+n], stored[5+n:], additionalData(userKey))
			if err != nil {
				return "", fmt.Errorf("open TOTP secret: %w", err)
			}
			return string(plain), nil
		}
		return "", errSealKey
	}
	return "", fmt.Errorf("unknown TOTP secret format %d", stored[0])
}
