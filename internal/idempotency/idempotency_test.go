package idempotency_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/idempotency"
)

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		"":                        false,
		"a":                       true,
		"5f0c6a2e-8d1b-4e6f-9a3c": true,
		"with space":              true,
		strings.Repeat("k", 255):  true,
		strings.Repeat("k", 256):  false,
		"tab\there":               false,
		"new\nline":               false,
		"del\x7f":                 false,
		"schlüssel":               false,
	} {
		if got := idempotency.ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	}
}

type part struct{ name, file, body string }

// formSum writes parts as multipart/form-data with boundary and returns its fingerprint.
func formSum(t *testing.T, boundary string, parts ...part) string {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p.file != "" {
			pw, err = w.CreateFormFile(p.name, p.file)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.body))
	}
	_ = w.Close()
	f := idempotency.NewFingerprint("POST", "/api/v1/alumni/imports", url.Values{})
	if err := f.Form(&b, boundary); err != nil {
		t.Fatal(err)
	}
	return string(f.Sum())
}

func TestFingerprintOfForms(t *testing.T) {
	mode := part{"mode", "", "apply"}
	file := part{"file", "a.csv", "Student ID\nS1\n"}
	base := formSum(t, "boundary1", mode, file)
	if formSum(t, "another-boundary", mode, file) != base {
		t.Error("the boundary changes the fingerprint")
	}
	for name, parts := range map[string][]part{
		"another file name": {mode, {"file", "b.csv", file.body}},
		"other contents":    {mode, {"file", "a.csv", file.body + "S2\n"}},
		"another mode":      {{"mode", "", "dry_run"}, file},
		"another order":     {file, mode},
		"a part more":       {mode, {"mapping", "", "{}"}, file},
	} {
		if formSum(t, "boundary1", parts...) == base {
			t.Errorf("%s: same fingerprint", name)
		}
	}
	f := idempotency.NewFingerprint("POST", "/api/v1/alumni/imports", url.Values{})
	if err := f.Form(strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\napply"), "x"); err == nil {
		t.Error("a form cut short has a fingerprint")
	}
}

func TestFingerprintOfBodies(t *testing.T) {
	sum := func(method, route string, q url.Values, body string) string {
		f := idempotency.NewFingerprint(method, route, q)
		f.Body([]byte(body))
		return string(f.Sum())
	}
	base := sum("POST", "/api/v1/alumni", url.Values{}, `{"a":1}`)
	if sum("POST", "/api/v1/alumni", nil, `{"a":1}`) != base {
		t.Error("no query and an empty one differ")
	}
	for name, other := range map[string]string{
		"body":   sum("POST", "/api/v1/alumni", nil, `{"a":2}`),
		"route":  sum("POST", "/api/v1/users", nil, `{"a":1}`),
		"method": sum("PUT", "/api/v1/alumni", nil, `{"a":1}`),
		"query":  sum("POST", "/api/v1/alumni", url.Values{"x": {"1"}}, `{"a":1}`),
	} {
		if other == base {
			t.Errorf("another %s, same fingerprint", name)
		}
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for i, expires := range []time.Time{now.Add(-time.Hour), now.Add(-time.Second), now.Add(time.Hour)} {
		_, err := sqlDB.ExecContext(ctx, `INSERT INTO idempotency_keys (user_id, operation, idem_key, state, claim_token, lease_until, fingerprint, body, created_at, expires_at)
			VALUES ('01JD3M5X7V8Q9R2S4T6W8Y0Z1C', 'createAlumnus', ?, 'done', 'token-0123456789', ?, '', '', ?, ?)`,
			string(rune('a'+i)), now, now.Add(-idempotency.Retention), expires)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := idempotency.Purge(ctx, sqlDB, now); err != nil {
		t.Fatal(err)
	}
	var left []string
	rows, err := sqlDB.QueryContext(ctx, "SELECT idem_key FROM idempotency_keys")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "c" {
		t.Errorf("left after purge: %v, want [c]", left)
	}
}
