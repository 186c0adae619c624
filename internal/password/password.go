// Package password stores and checks user passwords, following OWASP ASVS 5.0 level 2 and the
// OWASP Password Storage Cheat Sheet.
//
// A Hasher hashes passwords with argon2id and verifies them against the stored hash, which is
// kept as a PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash) that records its own cost
// parameters, so that the parameters can be raised later and old hashes upgraded at the next
// login (see Hasher.NeedsRehash). Check applies the policy for choosing a new password.
//
// Passwords are hashed and verified exactly as received: no trimming, truncation, case change
// or Unicode normalization (ASVS 6.2.8).
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB; one hash holds this much memory while it runs.
	Memory uint32
	// Iterations is the number of passes over the memory (argon2's t).
	Iterations uint32
	// Parallelism is the number of lanes (argon2's p).
	Parallelism uint8
	// SaltLength is the length in bytes of the random salt made for each hash.
	SaltLength uint32
	// KeyLength is the length in bytes of the hash output.
	KeyLength uint32
}

// DefaultParams are at or above OWASP's minimum for argon2id: m=19 MiB (19456 KiB), t=2, p=1,
// a 16-byte salt and a 32-byte key.
var DefaultParams = Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// ErrMalformedHash is wrapped by the error Hasher.Verify returns for an encoded hash it cannot
// read, or whose parameters lie outside the bounds this package accepts.
var ErrMalformedHash = errors.New("password: malformed argon2id hash")

// Bounds on parameters, both for NewHasher and for encoded hashes read back by Verify. The upper
// bounds keep a corrupt or hostile stored hash from making one verification use unbounded memory
// or time; the lower bounds are argon2's own (RFC 9106) except the key, where fewer than 16 bytes
// would make a false match plausible.
const (
	maxMemory     = 1 << 20 // KiB, 1 GiB
	maxIterations = 32
	minSaltLength = 8
	maxSaltLength = 64
	minKeyLength  = 16
	maxKeyLength  = 64
)

func (p Params) validate() error {
	switch {
	case p.Parallelism < 1:
		return errors.New("parallelism must be at least 1")
	case p.Memory < 8*uint32(p.Parallelism):
		return errors.New("memory must be at least 8 KiB per lane")
	case p.Memory > maxMemory:
		return fmt.Errorf("memory must be at most %d KiB", maxMemory)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations must be between 1 and %d", maxIterations)
	case p.SaltLength < minSaltLength || p.SaltLength > maxSaltLength:
		return fmt.Errorf("salt length must be between %d and %d bytes", minSaltLength, maxSaltLength)
	case p.KeyLength < minKeyLength || p.KeyLength > maxKeyLength:
		return fmt.Errorf("key length must be between %d and %d bytes", minKeyLength, maxKeyLength)
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id. It bounds how many hashes run at once (each
// holds Memory KiB while it runs), so that a burst of logins cannot exhaust memory: callers wait,
// respecting their context, for a free slot. Each slot is held by one Hash, Verify or
// VerifyDummy; verifying a stored hash made with more memory than the Hasher's own Params uses
// that hash's memory while it runs.
//
// A Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher that hashes with p and runs at most concurrency hashes at once;
// concurrency <= 0 means runtime.NumCPU(). It panics when p is out of bounds (zero iterations or
// lanes, memory below 8 KiB per lane or above 1 GiB, more than 32 iterations, a salt outside
// 8..64 bytes or a key outside 16..64 bytes), which is a programming error.
func NewHasher(p Params, concurrency int) *Hasher {
	if err := p.validate(); err != nil {
		panic("password.NewHasher: " + err.Error())
	}
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	return &Hasher{params: p, slots: make(chan struct{}, concurrency)}
}

// Hash returns the argon2id hash of password with a fresh random salt, as a PHC string in the
// form the reference implementation writes, with salt and hash in standard base64 without
// padding:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// It returns an error only when ctx ends while it waits for a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := randomBytes(h.params.SaltLength)
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches the encoded hash, comparing in constant time. It uses
// the parameters recorded in encoded, not the Hasher's. The error is non-nil only when encoded is
// malformed (it then wraps ErrMalformedHash) or when ctx ends while Verify waits for a slot (it is
// then ctx.Err()); a wrong password is ok == false with a nil error.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, err error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// VerifyDummy does the same work as Verify against a hash made with h's Params, and discards the
// result, so that a login for an unknown account takes as long as one with a wrong password. The
// dummy hash is made once, on first use, from a random salt and random hash bytes (no password
// matches it), so it costs nothing beyond the verification itself.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	h.dummyOnce.Do(func() {
		h.dummy = encode(h.params, randomBytes(h.params.SaltLength), randomBytes(h.params.KeyLength))
	})
	_, _ = h.Verify(ctx, password, h.dummy)
}

// NeedsRehash reports whether encoded should be replaced by a new hash made with h's Params (for
// example, after the next successful login): it is true when encoded uses less memory, fewer
// iterations, a shorter salt or a shorter key than h, or cannot be read at all. Parallelism is not
// compared: a different number of lanes changes the hash but not the work per guess.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	if err != nil {
		return true
	}
	return p.Memory < h.params.Memory ||
		p.Iterations < h.params.Iterations ||
		p.SaltLength < h.params.SaltLength ||
		p.KeyLength < h.params.KeyLength
}

// derive runs argon2id with p (but salt, whatever p.SaltLength says) once it holds a slot.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	// A context that has already ended does not start a hash even if a slot is free.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength), nil
}

// randomBytes returns n bytes from crypto/rand, whose Read never returns an error (since Go 1.24
// it crashes the program instead).
func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC string as encode writes it. The returned Params carry the lengths of the
// decoded salt and key.
func decode(encoded string) (Params, []byte, []byte, error) {
	fail := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, what)
	}
	parts := strings.Split(encoded, "$")
	// base64 decoding skips line breaks; refuse them here so that each hash has one spelling.
	if len(parts) != 6 || parts[0] != "" || strings.ContainsAny(encoded, "\r\n") {
		return fail("want $argon2id$v=19$m=...,t=...,p=...$salt$hash")
	}
	if parts[1] != "argon2id" {
		return fail("not argon2id")
	}
	if v, ok := strings.CutPrefix(parts[2], "v="); !ok || v != strconv.Itoa(argon2.Version) {
		return fail("unsupported version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return fail("bad parameters")
	}
	m, okM := strings.CutPrefix(fields[0], "m=")
	t, okT := strings.CutPrefix(fields[1], "t=")
	par, okP := strings.CutPrefix(fields[2], "p=")
	if !okM || !okT || !okP {
		return fail("bad parameters")
	}
	mem, err1 := parseUint(m)
	iter, err2 := parseUint(t)
	lanes, err3 := parseUint(par)
	if err1 != nil || err2 != nil || err3 != nil {
		return fail("bad parameters")
	}
	if mem > maxMemory || iter > maxIterations || lanes > math.MaxUint8 {
		return fail("parameters out of bounds")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fail("bad salt encoding")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return fail("bad hash encoding")
	}
	saltLen, keyLen := len(salt), len(key)
	if saltLen < minSaltLength || saltLen > maxSaltLength {
		return fail("salt length out of bounds")
	}
	if keyLen < minKeyLength || keyLen > maxKeyLength {
		return fail("hash length out of bounds")
	}
	p := Params{
		Memory:      uint32(mem),
		Iterations:  uint32(iter),
		Parallelism: uint8(lanes),
		SaltLength:  uint32(saltLen),
		KeyLength:   uint32(keyLen),
	}
	if err := p.validate(); err != nil {
		return fail(err.Error())
	}
	return p, salt, key, nil
}

// parseUint parses a decimal without sign, the way the reference implementation writes it.
func parseUint(s string) (uint64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, 64)
}
