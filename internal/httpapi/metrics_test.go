package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/metrics"
)

const metricsToken = "scrape-token-for-tests-0123456789"

func TestMetrics(t *testing.T) {
	cfg := apitest.DefaultConfig()
	cfg.Metrics = metrics.New()
	cfg.MetricsToken = metricsToken
	s := apitest.NewServer(t, cfg)

	created := s.Client.Post("/api/v1/alumni", map[string]any{"firstName": "Ada", "lastName": "King"})
	if created.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	var a struct{ ID string }
	created.JSON(t, &a)
	s.Client.Get("/api/v1/alumni/"+a.ID, nil)
	s.Client.Get("/api/v1/alumni/"+a.ID, nil)
	s.Anon.Get("/api/v1/no-such-thing/"+a.ID, nil)
	if r := s.Anon.Post("/api/v1/auth/login", map[string]string{"email": "nobody@example.org", "password": "not the password at all"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("bad login: %d", r.Status)
	}
	s.Client.Get("/api/v1/alumni/export?format=csv", nil)

	t.Run("refused without the token", func(t *testing.T) {
		for name, header := range map[string]map[string]string{
			"none":          nil,
			"wrong":         {"Authorization": "Bearer " + metricsToken + "x"},
			"not a bearer":  {"Authorization": "Basic " + metricsToken},
			"access token":  {"Authorization": "Bearer " + s.Client.Token()},
			"prefix of one": {"Authorization": "Bearer " + metricsToken[:10]},
		} {
			if r := s.Anon.Get("/metrics", header); r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, r.Status)
			}
		}
	})

	r := s.Anon.Get("/metrics", map[string]string{"Authorization": "Bearer " + metricsToken})
	if r.Status != http.StatusOK {
		t.Fatalf("metrics: %d %s", r.Status, r.Body)
	}
	page := string(r.Body)
	for _, want := range []string{
		// Route templates, never paths with ids; paths of no route share one label.
		`alumnid_http_requests_total{code="200",method="GET",route="/api/v1/alumni/:alumnusId"} 2`,
		`alumnid_http_requests_total{code="201",method="POST",route="/api/v1/alumni"} 1`,
		`alumnid_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`alumnid_http_request_duration_seconds_count{code="200",method="GET",route="/api/v1/alumni/:alumnusId"} 2`,
		`alumnid_auth_login_failures_total{reason="credentials"} 1`,
		`alumnid_export_rows_total{format="csv"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(page, a.ID) {
		t.Error("a record id reached the metrics")
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	cfg := apitest.DefaultConfig()
	cfg.Metrics = metrics.New() // collected, but no token: served on no public path
	s := apitest.NewServer(t, cfg)
	if r := s.Anon.Get("/metrics", map[string]string{"Authorization": "Bearer anything"}); r.Status != http.StatusNotFound {
		t.Errorf("/metrics without a configured token: %d, want 404", r.Status)
	}
}
