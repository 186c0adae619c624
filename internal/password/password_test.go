package password

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/alumnid/alumnid/internal/derrors"
)

// cheap are the smallest parameters NewHasher accepts, so that most tests run in microseconds.
var cheap = Params{Memory: 8, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	for _, p := range []Params{cheap, DefaultParams} {
		h := NewHasher(p, 0)
		const pw = "correct horse battery staple"
		encoded, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		tests := []struct {
			name     string
			password string
			want     bool
		}{
			{"same", pw, true},
			{"wrong", "correct horse battery stapler", false},
			{"case changed", "Correct horse battery staple", false},
			{"trailing space kept", pw + " ", false},
			{"empty", "", false},
		}
		if p == DefaultParams {
			tests = tests[:2] // each verification takes tens of milliseconds
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("m=%d/%s", p.Memory, tt.name), func(t *testing.T) {
				ok, err := h.Verify(ctx, tt.password, encoded)
				if err != nil || ok != tt.want {
					t.Errorf("Verify(%q) = %v, %v; want %v, nil", tt.password, ok, err, tt.want)
				}
			})
		}
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	h := NewHasher(cheap, 1)
	a, _ := h.Hash(context.Background(), "same password twice")
	b, _ := h.Hash(context.Background(), "same password twice")
	if a == b {
		t.Errorf("two hashes of one password are equal: %s", a)
	}
}

func TestHashPHCFormat(t *testing.T) {
	h := NewHasher(DefaultParams, 1)
	const pw = "purple monkey dishwasher at noon"
	encoded, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	// 16 bytes of salt are 22 base64 characters, 32 bytes of key 43, without padding.
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(encoded) {
		t.Fatalf("Hash = %q, want it to match %s", encoded, re)
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if p != DefaultParams {
		t.Errorf("decoded params = %+v, want %+v", p, DefaultParams)
	}
	// The encoded hash is argon2id of the password with the encoded salt and parameters.
	want := argon2.IDKey([]byte(pw), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if string(key) != string(want) {
		t.Errorf("encoded key differs from argon2.IDKey with the encoded salt")
	}
}

// TestVerifyReferenceVector verifies a hash in the reference implementation's encoding, made with
// its CLI (echo -n password | argon2 somesalt -id -t 2 -k 64 -p 1 -l 24; the vector is the one
// golang.org/x/crypto/argon2 tests against).
func TestVerifyReferenceVector(t *testing.T) {
	const encoded = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$Bo1ismRVk2qm6+YAYLCmWHDb+j3fjUH3"
	h := NewHasher(DefaultParams, 1)
	for pw, want := range map[string]bool{"password": true, "Password": false} {
		ok, err := h.Verify(context.Background(), pw, encoded)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v, nil", pw, ok, err, want)
		}
	}
	if !h.NeedsRehash(encoded) {
		t.Errorf("NeedsRehash(m=64,t=2) = false, want true")
	}
}

func TestVerifyMalformed(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	valid := "$argon2id$v=19$m=8,t=1,p=1$" + salt + "$" + key
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "password"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"no leading $", valid[1:]},
		{"missing version", strings.Replace(valid, "v=19$", "", 1)},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1)},
		{"version not a number", strings.Replace(valid, "v=19", "v=x", 1)},
		{"missing hash", strings.TrimSuffix(valid, "$"+key)},
		{"extra field", valid + "$AAAA"},
		{"params out of order", strings.Replace(valid, "m=8,t=1,p=1", "t=1,m=8,p=1", 1)},
		{"missing param", strings.Replace(valid, "m=8,t=1,p=1", "m=8,t=1", 1)},
		{"extra param", strings.Replace(valid, "m=8,t=1,p=1", "m=8,t=1,p=1,k=2", 1)},
		{"trailing comma", strings.Replace(valid, "p=1", "p=1,", 1)},
		{"memory not a number", strings.Replace(valid, "m=8", "m=abc", 1)},
		{"memory signed", strings.Replace(valid, "m=8", "m=+8", 1)},
		{"memory empty", strings.Replace(valid, "m=8", "m=", 1)},
		{"memory overflows", strings.Replace(valid, "m=8", "m=4294967296", 1)},
		{"memory too large", strings.Replace(valid, "m=8", "m=4194304", 1)},
		{"memory below 8 KiB per lane", strings.Replace(valid, "m=8,t=1,p=1", "m=8,t=1,p=2", 1)},
		{"zero iterations", strings.Replace(valid, "t=1", "t=0", 1)},
		{"too many iterations", strings.Replace(valid, "t=1", "t=1000000", 1)},
		{"zero lanes", strings.Replace(valid, "p=1", "p=0", 1)},
		{"lanes overflow", strings.Replace(valid, "p=1", "p=256", 1)},
		{"salt not base64", strings.Replace(valid, salt, "!!!!", 1)},
		{"salt padded", strings.Replace(valid, salt, salt+"==", 1)},
		{"salt too short", strings.Replace(valid, salt, "AAAA", 1)},
		{"salt too long", strings.Replace(valid, salt, strings.Repeat("A", 200), 1)},
		{"hash not base64", strings.Replace(valid, key, "*"+key[1:], 1)},
		{"hash too short", strings.Replace(valid, key, "AAAAAAAA", 1)},
		{"hash too long", strings.Replace(valid, key, strings.Repeat("A", 200), 1)},
		{"hash with line break", strings.Replace(valid, key, key[:10]+"\n"+key[10:], 1)},
	}
	h := NewHasher(cheap, 1)
	if ok, err := h.Verify(context.Background(), "x", valid); err != nil || ok {
		t.Fatalf("Verify(valid) = %v, %v; want false, nil", ok, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), "password", tt.encoded)
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", tt.encoded, ok, err)
			}
			if !h.NeedsRehash(tt.encoded) {
				t.Errorf("NeedsRehash(%q) = false, want true", tt.encoded)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	h := NewHasher(DefaultParams, 1)
	enc := func(m, t, p, saltLen, keyLen int) string {
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
			base64.RawStdEncoding.EncodeToString(make([]byte, saltLen)),
			base64.RawStdEncoding.EncodeToString(make([]byte, keyLen)))
	}
	tests := []struct {
		name    string
		encoded string
		want    bool
	}{
		{"same params", enc(19456, 2, 1, 16, 32), false},
		{"stronger memory", enc(65536, 2, 1, 16, 32), false},
		{"more iterations", enc(19456, 3, 1, 16, 32), false},
		{"more lanes", enc(19456, 2, 4, 16, 32), false},
		{"longer salt and key", enc(19456, 2, 1, 32, 64), false},
		{"less memory", enc(19455, 2, 1, 16, 32), true},
		{"fewer iterations", enc(19456, 1, 1, 16, 32), true},
		{"less memory, more iterations", enc(9216, 4, 1, 16, 32), true},
		{"shorter salt", enc(19456, 2, 1, 8, 32), true},
		{"shorter key", enc(19456, 2, 1, 16, 16), true},
		{"malformed", "$argon2id$v=19$m=19456", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.NeedsRehash(tt.encoded); got != tt.want {
				t.Errorf("NeedsRehash(%s) = %v, want %v", tt.encoded, got, tt.want)
			}
		})
	}
	fresh, err := h.Hash(context.Background(), "a fresh hash needs no rehash")
	if err != nil {
		t.Fatal(err)
	}
	if h.NeedsRehash(fresh) {
		t.Errorf("NeedsRehash(own hash) = true")
	}
}

func TestVerifyDummy(t *testing.T) {
	h := NewHasher(cheap, 1)
	h.VerifyDummy(context.Background(), "any password")
	first := h.dummy
	h.VerifyDummy(context.Background(), "")
	if h.dummy != first {
		t.Errorf("dummy hash changed between calls")
	}
	p, _, _, err := decode(first)
	if err != nil || p != cheap {
		t.Errorf("dummy hash %q decodes to %+v, %v; want %+v", first, p, err, cheap)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.VerifyDummy(ctx, "cancelled") // returns without work, and without panicking
	if len(h.slots) != 0 {
		t.Errorf("%d slots still held", len(h.slots))
	}
}

func TestConcurrencyLimit(t *testing.T) {
	h := NewHasher(cheap, 2)
	// Take both slots, as two long hashes would.
	h.slots <- struct{}{}
	h.slots <- struct{}{}

	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "waits for a slot")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Hash returned (%v) while every slot was taken", err)
	case <-time.After(50 * time.Millisecond):
	}
	<-h.slots // one hash finishes
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Hash after a slot freed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Hash did not run after a slot freed")
	}

	// Every slot taken again: callers give up when their context ends.
	h.slots <- struct{}{}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Hash", func(ctx context.Context) error { _, err := h.Hash(ctx, "pw"); return err }},
		{"Verify", func(ctx context.Context) error {
			_, err := h.Verify(ctx, "pw", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name+"/cancelled while waiting", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			if err := c.call(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
		t.Run(c.name+"/deadline while waiting", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := c.call(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
		})
	}
	t.Run("VerifyDummy/cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		h.VerifyDummy(ctx, "pw") // must return rather than wait for ever
	})
	<-h.slots
	<-h.slots

	// A context that has already ended does not start a hash even with slots free.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with a cancelled context and free slots: err = %v, want context.Canceled", err)
	}
}

func TestNewHasher(t *testing.T) {
	if h := NewHasher(cheap, 0); cap(h.slots) != runtime.NumCPU() {
		t.Errorf("concurrency 0: %d slots, want runtime.NumCPU() = %d", cap(h.slots), runtime.NumCPU())
	}
	if h := NewHasher(cheap, -1); cap(h.slots) != runtime.NumCPU() {
		t.Errorf("concurrency -1: %d slots, want %d", cap(h.slots), runtime.NumCPU())
	}
	if h := NewHasher(cheap, 3); cap(h.slots) != 3 {
		t.Errorf("concurrency 3: %d slots", cap(h.slots))
	}
	bad := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"zero iterations", Params{Memory: 19456, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
		{"zero lanes", Params{Memory: 19456, Iterations: 2, SaltLength: 16, KeyLength: 32}},
		{"memory below 8 KiB per lane", Params{Memory: 15, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}},
		{"short salt", Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 4, KeyLength: 32}},
		{"short key", Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 8}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", tt.p)
				}
			}()
			NewHasher(tt.p, 1)
		})
	}
	if err := DefaultParams.validate(); err != nil {
		t.Errorf("DefaultParams: %v", err)
	}
}

func TestCheck(t *testing.T) {
	const email = "Jane.Doe+alumni@Example.org"
	tests := []struct {
		name     string
		password string
		inputs   []string
		want     string // message, or "" for accepted
	}{
		{"empty", "", nil, msgTooShort},
		{"11 characters", "Tr0ub4dor&3", nil, msgTooShort},
		{"12 characters", "Tr0ub4dor&3x", nil, ""},
		{"no composition rules", "bookshelf lamp", nil, ""},
		{"64 characters", "the quick brown fox jumps over the lazy dog by the old riverbank", nil, ""},
		{"128 characters", strings.Repeat("Tr0ub4dor&3x", 11)[:128], nil, ""},
		{"129 characters", strings.Repeat("Tr0ub4dor&3x", 11)[:129], nil, msgTooLong},
		{"invalid UTF-8", "Tr0ub4dor&3x\xff", nil, msgInvalid},

		// NFC: "e" + combining acute accent is one character.
		{"NFC 11 characters", "Cre\u0300me bru\u0302le\u0301", nil, msgTooShort},
		{"NFC 12 characters", "Cre\u0300me bru\u0302le\u0301e", nil, ""},
		{"NFC repeated character", strings.Repeat("e\u0301", 12), nil, msgTrivial},

		{"repeated character", "aaaaaaaaaaaa", nil, msgTrivial},
		{"repeated symbol", strings.Repeat("!", 20), nil, msgTrivial},
		{"repeated non-ASCII", strings.Repeat("é", 128), nil, msgTrivial},
		{"repeated pair", "abababababab", nil, msgTrivial},
		{"repeated 4-unit, partial end", "ab12ab12ab12a", nil, msgTrivial},
		{"ascending letters", "abcdefghijklm", nil, msgTrivial},
		{"descending letters, upper case", "ZYXWVUTSRQPO", nil, msgTrivial},
		{"ascending digits wrapping", "123456789012", nil, msgTrivial},
		{"descending digits wrapping", "210987654321", nil, msgTrivial},

		{"contains email", "my " + strings.ToLower(email) + " pw", []string{email}, msgEmail},
		{"contains local part", "JANE.DOE+ALUMNI is great", []string{email}, msgEmail},
		{"contains local part before +tag", "I am jane.doe, hello!", []string{email}, msgEmail},
		{"contains a name", "Bartholomew sails north", []string{"Bartholomew"}, msgPersonal},
		{"short local part not refused outright", "bob sails to the north cape", []string{"bob@example.org"}, ""},
		{"contains local part without dots", "Janedoe12345", []string{email}, msgEmail},
		{"contains a name without spaces", "maryann sails north", []string{"Mary Ann"}, msgPersonal},
		{"empty inputs ignored", "correct horse battery staple", []string{"", "  "}, ""},

		{"common", "password1234", nil, msgCommon},
		{"common, any case", "QWERTY123456", nil, msgCommon},
		{"common", "1q2w3e4r5t6y", nil, msgCommon},
		{"common word with digits", "sunshine1234", nil, msgGuessable},
		{"common word with year", "football2023", nil, msgGuessable},
		{"keyboard walk", "qwertyuiopas", nil, msgGuessable},
		{"leet common", "p4ssw0rdp4ss", nil, msgGuessable},
		{"two common words", "correcthorse", nil, msgGuessable},
		{"two common words with a space", "fishing boat", nil, msgGuessable},
		{"repeated word", "monkeymonkey", nil, msgGuessable},

		{"passphrase", "correct horse battery staple", nil, ""},
		{"passphrase without spaces", "horsebatterystaple", nil, ""},
		{"non-English passphrase", "Ich liebe meine Katze sehr", nil, ""},
		{"non-Latin passphrase", "グリーンティーが好きです", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Check("password", tt.password, tt.inputs...)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v, want nil", tt.password, err)
				}
				return
			}
			de := derrors.As(err)
			if de == nil || de.Kind != derrors.Invalid || len(de.Fields) != 1 {
				t.Fatalf("Check(%q) = %#v, want an Invalid *derrors.Error with one field", tt.password, err)
			}
			if f := de.Fields[0]; f.Field != "password" || f.Message != tt.want {
				t.Errorf("Check(%q) = %q: %q; want %q: %q", tt.password, f.Field, f.Message, "password", tt.want)
			}
		})
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
