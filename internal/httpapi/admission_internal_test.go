package httpapi

import (
	"net/http/httptest"
	"testing"
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
