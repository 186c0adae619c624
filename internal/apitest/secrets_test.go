package apitest

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that keeps the failures reported to it.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestSecretsInLogsAreReported(t *testing.T) {
	s := newSecretSet()
	s.addJSON([]byte(`{"email":"ada@example.org","password":"correct horse battery","name":"Ada",
		"emails":[{"email":"second@example.org"}],"phone":"+1 555 0100","countryCode":"US"}`))
	s.add("accessToken", "eyJhbGciOiJFZERTQSJ9.payload.sig")

	cases := []struct {
		name string
		logs string
		want int
	}{
		{"clean", `{"msg":"request","path":"/api/v1/alumni","user_id":"01JD3M"}`, 0},
		{"email", `{"msg":"login failed","email":"ada@example.org"}`, 1},
		{"nested email and phone", `second@example.org called +1 555 0100`, 2},
		{"token", `Authorization: Bearer eyJhbGciOiJFZERTQSJ9.payload.sig`, 1},
		{"password", `body={"password":"correct horse battery"}`, 1},
		{"names and short codes are not secrets", `Ada from US`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			s.checkLogs(r, tc.logs)
			if len(r.failures) != tc.want {
				t.Errorf("got %d failures %q, want %d", len(r.failures), r.failures, tc.want)
			}
		})
	}
}
