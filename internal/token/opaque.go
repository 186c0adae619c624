package token

import "crypto/sha256"

// opaqueBytes is the entropy of an opaque token: 256 bits.
const opaqueBytes = 32

// NewOpaque returns a new random opaque token (256 bits, base64url without
// padding, 43 characters) for refresh and invite tokens, and its hash, which
// is what gets stored. The token itself is handed out once and never stored.
func NewOpaque() (token string, hash []byte) {
	token = randomString(opaqueBytes)
	return token, HashOpaque(token)
}

// HashOpaque returns the SHA-256 of token, the only form in which opaque
// tokens are stored. Look a presented token up by this hash; a fast hash is
// enough because the token has 256 bits of entropy.
func HashOpaque(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
