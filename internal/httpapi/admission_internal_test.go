package httpapi

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/derrors"
)

func TestIsHeavy(t *testing.T) {
	for _, tt := range []struct {
		method, target string
		want           bool
	}{
		{"GET", "/api/v1/alumni?q=smith", true},
		{"GET", "/api/v1/alumni?country=DE&includeTotal=true", true},
		{"GET", "/api/v1/alumni?country=DE", false},
		{"GET", "/api/v1/alumni", false},
		{"GET", "/api/v1/alumni/facets", false},
		{"GET", "/api/v1/analytics/overview?country=DE", false},
		{"GET", "/api/v1/analytics/overview", false},
		{"GET", "/api/v1/analytics/overview?deleted=true", false},
		{"GET", "/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1E", false},
		{"POST", "/api/v1/alumni?q=smith", false},
	} {
		if got := isHeavy(httptest.NewRequest(tt.method, tt.target, nil)); got != tt.want {
			t.Errorf("%s %s: heavy %v, want %v", tt.method, tt.target, got, tt.want)
		}
	}
}

func TestHashesPassword(t *testing.T) {
	for _, tt := range []struct {
		method, target string
		want           bool
	}{
		{"POST", "/api/v1/auth/login", true},
		{"POST", "/api/v1/auth/password", true},
		{"POST", "/api/v1/auth/accept-invite", true},
		{"POST", "/api/v1/auth/refresh", false},
		{"GET", "/api/v1/auth/me", false},
		{"POST", "/api/v1/alumni", false},
	} {
		if got := hashesPassword(httptest.NewRequest(tt.method, tt.target, nil)); got != tt.want {
			t.Errorf("%s %s: %v, want %v", tt.method, tt.target, got, tt.want)
		}
	}
}

// A lane with a spread tells the clients it sheds to come back at different times, between
// the usual wait and that plus the spread; the other lanes tell everyone the same.
func TestShedRetryAfterSpread(t *testing.T) {
	plain := newLane("api", 1, 1, time.Second, nil)
	if d := derrors.As(plain.overloaded()); d == nil || d.RetryAfter != shedRetryAfter {
		t.Errorf("api lane: %v, want Retry-After %v", d, shedRetryAfter)
	}
	spread := newLane("password", 1, 1, time.Second, nil)
	spread.spread = passwordSpread
	seen := map[time.Duration]bool{}
	for range 50 {
		d := derrors.As(spread.overloaded())
		if d == nil || d.Kind != derrors.Unavailable || d.RetryAfter < shedRetryAfter || d.RetryAfter >= shedRetryAfter+passwordSpread {
			t.Fatalf("password lane: %+v", d)
		}
		seen[d.RetryAfter] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 shed sign-ins were told only %d different waits", len(seen))
	}
	if errOverloaded.RetryAfter != shedRetryAfter {
		t.Error("the shared answer was changed")
	}
}
