package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// A sealed secret opens only for its own user and with a configured key; rotation keeps old
// secrets readable; without keys secrets are stored as they are.
func TestSealer(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	oldKey, newKey := randomKey(t), randomKey(t)
	before, err := newSealer([][]byte{oldKey})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := before.seal(secret, 7)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(secret)) {
		t.Fatal("the sealed secret contains the secret")
	}
	after, _ := newSealer([][]byte{oldKey, newKey})
	if got, err := after.open(sealed, 7); err != nil || got != secret {
		t.Errorf("after rotation: %q %v", got, err)
	}
	if _, err := after.open(sealed, 8); err == nil {
		t.Error("a secret moved to another user's row opened")
	}
	resealed, _ := after.seal(secret, 7)
	onlyNew, _ := newSealer([][]byte{newKey})
	if got, err := onlyNew.open(resealed, 7); err != nil || got != secret {
		t.Errorf("sealed with the newest key: %q %v", got, err)
	}
	if _, err := onlyNew.open(sealed, 7); !errors.Is(err, errSealKey) {
		t.Errorf("old key dropped: %v, want errSealKey", err)
	}
	tampered := bytes.Clone(resealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := onlyNew.open(tampered, 7); err == nil {
		t.Error("a tampered secret opened")
	}
	plain, _ := (&sealer{}).seal(secret, 7)
	if got, err := onlyNew.open(plain, 7); err != nil || got != secret {
		t.Errorf("an unsealed secret stored before keys were configured: %q %v", got, err)
	}
}

func TestParseTOTPKeys(t *testing.T) {
	k1, k2 := randomKey(t), randomKey(t)
	text := base64.StdEncoding.EncodeToString(k1) + ",\n " + base64.RawURLEncoding.EncodeToString(k2) + "\n"
	keys, err := ParseTOTPKeys(text)
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], k1) || !bytes.Equal(keys[1], k2) {
		t.Fatalf("ParseTOTPKeys: %d keys, %v", len(keys), err)
	}
	if keys, err := ParseTOTPKeys(""); err != nil || len(keys) != 0 {
		t.Errorf("no keys: %v %v", keys, err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	if _, err := ParseTOTPKeys(short); err == nil || strings.Contains(err.Error(), short) {
		t.Errorf("a short key: %v", err)
	}
}

// A code is accepted for the steps around now after the last one used, and never for a used
// step; a recovery code is read whatever its case, dashes and look-alike letters.
func TestCheckCodeAndRecoveryNormalization(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	now := time.Unix(1_800_000_015, 0)
	cur := now.Unix() / totpPeriod
	code := func(step int64) string {
		c, err := totpCodeAt(secret, step)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, st := range []int64{cur - 1, cur, cur + 1} {
		if got, ok := checkCode(secret, code(st), now, 0); !ok || got != st {
			t.Errorf("step %d: %d %v", st-cur, got, ok)
		}
	}
	for _, st := range []int64{cur - 2, cur + 2} {
		if _, ok := checkCode(secret, code(st), now, 0); ok {
			t.Errorf("step %d accepted", st-cur)
		}
	}
	if _, ok := checkCode(secret, code(cur), now, cur); ok {
		t.Error("a used step accepted")
	}
	if _, ok := checkCode(secret, code(cur-1), now, cur); ok {
		t.Error("a step before the last used one accepted")
	}
	if normalizeRecoveryCode("AB0CDE-I1L  xyzO") != "ab0cde111xyz0" {
		t.Errorf("normalize: %q", normalizeRecoveryCode("AB0CDE-I1L  xyzO"))
	}
}
