package apitest

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// Logs must never hold a password, a token or a person's contact details. Every client of a
// Server remembers such values it sends or receives, and when the test ends the server's logs
// are searched for each of them: the check runs for every test that starts a Server, so the
// whole suite's logs are covered.

// sensitiveKeys are the JSON members whose values must not be logged.
var sensitiveKeys = map[string]bool{
	"password": true, "currentPassword": true, "newPassword": true,
	"accessToken": true, "refreshToken": true, "token": true, "ticket": true,
	"email": true, "workEmail": true, "otherEmail": true, "recordEmail": true, "phone": true,
	"line1": true, "line2": true, "addressLine1": true, "addressLine2": true, "postalCode": true,
	"birthDate": true, "dateOfBirth": true, "linkedinUrl": true,
	"secret": true, "otpauthUri": true, "challenge": true, "recoveryCode": true, "recoveryCodes": true,
}

// minSecretLen keeps short, common values (a two-letter code, "US") out of the search: they
// would match unrelated text.
const minSecretLen = 6

// secretSet is the sensitive values seen by one server's clients.
type secretSet struct {
	mu     sync.Mutex
	values map[string]string // value → the member it came from
}

func newSecretSet() *secretSet { return &secretSet{values: map[string]string{}} }

func (s *secretSet) add(key, v string) {
	if s == nil || len(v) < minSecretLen {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[v] = key
}

// addJSON records the sensitive members anywhere in the JSON document raw (ignored when raw is
// not JSON).
func (s *secretSet) addJSON(raw []byte) {
	if s == nil || len(raw) == 0 {
		return
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return
	}
	s.walk("", v)
}

func (s *secretSet) walk(key string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			s.walk(k, child)
		}
	case []any:
		for _, child := range x {
			s.walk(key, child)
		}
	case string:
		if sensitiveKeys[key] {
			s.add(key, x)
		}
	}
}

// checkLogs fails t for every recorded value that appears in logs.
func (s *secretSet) checkLogs(t testing.TB, logs string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for v, key := range s.values {
		if strings.Contains(logs, v) {
			t.Errorf("the service logged a %s value (%d characters); logs must not hold passwords, tokens or contact details", key, len(v))
		}
	}
}
