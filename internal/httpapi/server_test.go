package httpapi_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/domain"
	"github.com/alumnid/alumnid/internal/httpapi"
)

func TestRequestID(t *testing.T) {
	s := newServer(t)
	c := s.Client
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"sane id is kept", "lb-1234.abc_DEF:9", true},
		{"none given", "", false},
		{"too long", strings.Repeat("a", 129), false},
		{"log injection", "x\" level=ERROR msg=forged", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.sent != "" {
				h["X-Request-ID"] = tt.sent
			}
			resp := c.Get("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", h)
			got := resp.Header.Get("X-Request-Id")
			if tt.kept != (got == tt.sent) || got == "" {
				t.Errorf("X-Request-Id = %q (sent %q)", got, tt.sent)
			}
			// The problem body carries the same id (checked by the client for every problem).
			if !strings.Contains(s.Logs(), `"request_id":"`+got+`"`) {
				t.Errorf("the access log does not carry request id %s", got)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newServer(t)
	resp := s.Client.Get("/api/v1/alumni", nil)
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestCORS(t *testing.T) {
	s := newServer(t)
	preflight := func(origin string) http.Header {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodOptions, s.URL+"/api/v1/alumni/x", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PATCH")
		req.Header.Set("Access-Control-Request-Headers", "If-Match, Content-Type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.Header
	}
	ok := preflight("https://app.example.org")
	if ok.Get("Access-Control-Allow-Origin") != "https://app.example.org" ||
		!strings.Contains(ok.Get("Access-Control-Allow-Methods"), "PATCH") {
		t.Errorf("allowed origin: %v", ok)
	}
	if bad := preflight("https://evil.example.com"); bad.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin allowed: %v", bad)
	}
	resp := s.Client.Get("/api/v1/alumni", map[string]string{"Origin": "https://app.example.org"})
	exposed := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers"))
	for _, h := range []string{"ETag", "Content-Disposition", "X-Request-Id", "Location", "Retry-After"} {
		if !strings.Contains(exposed, strings.ToLower(h)) {
			t.Errorf("%s not exposed to the browser: Access-Control-Expose-Headers %q", h, exposed)
		}
	}
}

func TestPanicBecomesGeneric500(t *testing.T) {
	s := newServer(t)
	s.Echo.GET("/api/v1/test-panic", func(echo.Context) error { panic("secret internal detail") })
	resp := s.Client.Get("/api/v1/test-panic", nil)
	assertProblem(t, resp, http.StatusInternalServerError, "")
	if strings.Contains(string(resp.Body), "secret") {
		t.Errorf("the 500 leaks internals: %s", resp.Body)
	}
	if !strings.Contains(s.Logs(), "secret internal detail") {
		t.Errorf("the panic is not logged")
	}
	// The server still serves.
	if r := s.Client.Get("/api/v1/alumni", nil); r.Status != 200 {
		t.Errorf("after panic: %d", r.Status)
	}
}

func TestHealth(t *testing.T) {
	s := newServer(t)
	get := func(path string) int { return statusOf(t, s.URL+path) }
	if get("/healthz") != 200 || get("/readyz") != 200 {
		t.Fatal("not healthy and ready on a migrated database")
	}
	m, err := database.NewMigrator(s.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Down(1); err != nil {
		t.Fatal(err)
	}
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz with an older schema: %d, want 503", got)
	}
	if get("/healthz") != 200 {
		t.Errorf("healthz must not depend on the database")
	}
}

// A replica is not ready until its search index is loaded: a load balancer sends it nothing
// before then.
func TestNotReadyUntilSearchIndexLoaded(t *testing.T) {
	sqlDB, _ := apitest.OpenDatabase(t)
	cfg := apitest.DefaultConfig()
	services, err := domain.New(sqlDB, cfg.Domain, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e, err := httpapi.New(cfg.Config, services, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	if got := statusOf(t, srv.URL+"/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("readyz before the index is loaded: %d, want 503", got)
	}
	if err := services.Search.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(t, srv.URL+"/readyz"); got != http.StatusOK {
		t.Fatalf("readyz after the index is loaded: %d, want 200", got)
	}
}

func TestDocs(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		path, contentType, contains string
	}{
		{"/openapi.yaml", "application/yaml", "operationId: listAlumni"},
		{"/openapi.json", "application/json", `"operationId":"listAlumni"`},
		{"/docs/", "text/html", "swagger"},
		// Authorize keeps the pasted token across reloads, and the page renders the served contract.
		{"/docs/", "text/html", "persistAuthorization: true"},
		{"/docs/", "text/html", `"/openapi.json"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := new(strings.Builder)
			_, _ = io.Copy(body, resp.Body)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) || !strings.Contains(body.String(), tt.contains) {
				t.Errorf("%d %s, body contains %q: %v", resp.StatusCode, resp.Header.Get("Content-Type"), tt.contains, strings.Contains(body.String(), tt.contains))
			}
		})
	}
	// Swagger UI's assets are embedded: the page works without internet access.
	if code := statusOf(t, s.URL+"/docs/swagger-ui-bundle.js"); code != 200 {
		t.Errorf("swagger-ui-bundle.js: %d", code)
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	s := newServer(t)
	a, tag := create(t, s.Client, map[string]any{"firstName": "Ada", "lastName": "King", "email": "secret.person@example.org", "phone": "+1 555 0100"})
	s.Client.Get("/api/v1/alumni?tag=secret-tag", nil)
	s.Client.Patch("/api/v1/alumni/"+a.Id, tag, map[string]any{"email": "other.secret@example.org"})
	logs := s.Logs()
	for _, secret := range []string{"secret.person", "other.secret", "555 0100", "secret-tag", s.Client.Token(), apitest.TestPassword} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	// The access log names the signed-in user by id (never by email).
	var me api.Me
	s.Client.Get("/api/v1/auth/me", nil).JSON(t, &me)
	if !strings.Contains(logs, `"user_id":"`+me.User.Id+`"`) || strings.Contains(logs, string(me.User.Email)) {
		t.Errorf("the access log should carry user_id %s and not the email", me.User.Id)
	}
}

// With the database unreachable, API calls answer 503 with Retry-After (not 500), readyz
// answers 503 and healthz stays 200.
func TestDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	cfg, err := database.Config("root@tcp(127.0.0.1:1)/nowhere?timeout=500ms")
	if err != nil {
		t.Fatal(err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := sql.OpenDB(connector)
	defer sqlDB.Close()
	e := apitest.NewHandler(t, apitest.DefaultConfig(), sqlDB, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ts := httptest.NewServer(e)
	defer ts.Close()
	// A well-signed token: checking its session needs the database.
	c := apitest.NewClient(t, ts.URL).WithToken(apitest.SignedToken(t, "01JD3M5X7V8Q9R2S4T6W8Y0Z1D", "staff", time.Minute))

	for _, resp := range []*apitest.Response{
		c.Get("/api/v1/alumni", nil),
		c.Get("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", nil),
		c.Post("/api/v1/alumni", map[string]any{"firstName": "A", "lastName": "B"}),
	} {
		assertProblem(t, resp, http.StatusServiceUnavailable, "")
		if resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	status := func(path string) int { return statusOf(t, ts.URL+path) }
	if status("/readyz") != http.StatusServiceUnavailable || status("/healthz") != http.StatusOK {
		t.Error("readyz must fail and healthz pass while the database is down")
	}
}

// statusOf GETs url outside the contract-checking client (health checks and documentation are
// not part of the contract) and returns the status code.
func statusOf(t *testing.T, url string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// X-Forwarded-For is believed only from configured proxies, so a client cannot choose the
// address the service logs (and, later, throttles) it under.
func TestClientAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		proxies string
		want    string
	}{
		{"no trusted proxy: the peer", "", `"remote_ip":"127.0.0.1"`},
		{"trusted proxy: the forwarded client", "127.0.0.0/8", `"remote_ip":"203.0.113.9"`},
		{"other proxy trusted: the peer", "10.0.0.0/8", `"remote_ip":"127.0.0.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := apitest.DefaultConfig()
			if tt.proxies != "" {
				_, n, _ := net.ParseCIDR(tt.proxies)
				cfg.TrustedProxies = []*net.IPNet{n}
			}
			s := apitest.NewServer(t, cfg)
			s.Client.Get("/api/v1/alumni", map[string]string{"X-Forwarded-For": "203.0.113.9"})
			if !strings.Contains(s.Logs(), tt.want) {
				t.Errorf("access log lacks %s:\n%s", tt.want, s.Logs())
			}
		})
	}
}
