package token

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzAuthority signs with a fixed Ed25519 key (Ed25519 signatures are deterministic), so the
// tokens in the seed corpus stay valid: testdata/fuzz/FuzzVerify holds one.
func fuzzAuthority(t testing.TB) *Authority {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return NewAuthority(mustParseKeys(t, privatePEM(t, ed25519.NewKeyFromSeed(seed))), testConfig)
}

// FuzzVerify checks the entry point of every access token a client sends. Whatever raw is,
// Verify either accepts it with complete claims or refuses it with ErrInvalid. A token issued
// for any subject verifies to exactly the claims issued, and changing any one byte of it makes
// Verify refuse it.
func FuzzVerify(f *testing.F) {
	a := fuzzAuthority(f)
	tok := mustIssue(f, a, testClaims())
	f.Add(tok, "u_01HZX", uint16(0), byte('x'))
	f.Add(tok+".", "", uint16(40), byte('.'))
	f.Add("eyJhbGciOiJub25lIn0.e30.", "sub\x00", uint16(7), byte('='))
	f.Add("e30.e30.e30", "é", uint16(1000), byte(0))
	f.Fuzz(func(t *testing.T, raw, subject string, at uint16, to byte) {
		if c, err := a.Verify(raw, now); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify(%q): %v is not ErrInvalid", raw, err)
			}
		} else if c.Subject == "" || c.SessionID == "" || c.Role == "" || c.ID == "" {
			t.Fatalf("Verify(%q) accepted incomplete claims %+v", raw, c)
		}

		want := testClaims()
		want.Subject = subject
		want.ID = ""
		issued, err := a.Issue(want)
		if err != nil {
			if subject != "" {
				t.Fatalf("Issue for subject %q: %v", subject, err)
			}
			return
		}
		got, err := a.Verify(issued, now.Add(time.Minute))
		if err != nil {
			t.Fatalf("Verify of an issued token: %v", err)
		}
		want.ID = got.ID
		if utf8.ValidString(subject) && got != want {
			t.Fatalf("round trip: %+v, want %+v", got, want)
		}

		b := []byte(issued)
		i := int(at) % len(b)
		if b[i] == to {
			return
		}
		b[i] = to
		if _, err := a.Verify(string(b), now.Add(time.Minute)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify of the token with byte %d changed to %q: err = %v", i, to, err)
		}
	})
}
