package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// Every JSON body is one well-formed I-JSON document or a 400 naming where it is not: a proxy
// or firewall that reads the first of two equal keys, or stops at the first document, must
// not see another request than the service does. Nothing of a refused request is written.
func TestStrictJSONBodies(t *testing.T) {
	s := newServer(t)
	c := s.Client
	rec, tag := create(t, c, map[string]any{"firstName": "Ada", "lastName": "King"})
	settingsTag := c.Get("/api/v1/settings", nil).Header.Get("ETag")
	const (
		dupKey     = "the member name appears more than once in its object"
		textAfter  = "there is more after the JSON document"
		notUTF8    = "the string is not valid UTF-8 (or holds an unpaired surrogate escape)"
		tooLarge   = "the number is too large"
		settingsOK = `"organizationName":"Example","defaultDirectoryConsent":false,"accessTokenMinutes":15,"refreshIdleHours":24,"refreshAbsoluteDays":30,"inviteValidityDays":14`
	)
	create := func(body string) apitest.Request {
		return apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni", Body: body}
	}
	patch := func(body string) apitest.Request {
		return apitest.Request{Method: http.MethodPatch, Path: "/api/v1/alumni/" + rec.Id, Body: body,
			ContentType: "application/merge-patch+json", Header: map[string]string{"If-Match": tag}}
	}
	login := func(body string) apitest.Request {
		return apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: body}
	}
	putSettings := func(body string) apitest.Request {
		return apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Body: body, Header: map[string]string{"If-Match": settingsTag}}
	}
	tests := []struct {
		name    string
		req     apitest.Request
		field   string
		message string
	}{
		{"create: repeated key", create(`{"firstName":"A","firstName":"B","lastName":"C"}`), "firstName", dupKey},
		{"create: repeated nested key", create(`{"firstName":"A","lastName":"C","address":{"city":"X","city":"Y"}}`), "address.city", dupKey},
		{"create: repeated key in an array item", create(`{"firstName":"A","lastName":"C","degrees":[{"degree":"BSc","program":"P","graduationYear":2001,"program":"Q"}]}`), "degrees[0].program", dupKey},
		{"create: text after", create(`{"firstName":"A","lastName":"B"} garbage`), "body", textAfter},
		{"create: second document", create(`{"firstName":"A","lastName":"B"}{"x":1}`), "body", textAfter},
		{"create: invalid UTF-8", create("{\"firstName\":\"\xc3\x28\",\"lastName\":\"B\"}"), "firstName", notUTF8},
		{"create: lone surrogate", create(`{"firstName":"\ud800","lastName":"B"}`), "firstName", notUTF8},
		{"create: number too large", create(`{"firstName":"A","lastName":"B","email":1e999}`), "email", tooLarge},
		{"patch: repeated key", patch(`{"firstName":"X","firstName":"Y"}`), "firstName", dupKey},
		{"patch: text after", patch(`{"firstName":"X"}]`), "body", textAfter},
		{"patch: invalid UTF-8", patch("{\"lastName\":\"\xff\"}"), "lastName", notUTF8},
		{"login: repeated key", login(`{"email":"a@example.org","email":"b@example.org","password":"x"}`), "email", dupKey},
		{"login: second document", login(`{"email":"a@example.org","password":"x"}{"email":"b@example.org"}`), "body", textAfter},
		{"settings: repeated key", putSettings(`{` + settingsOK + `,"accessTokenMinutes":60}`), "accessTokenMinutes", dupKey},
		{"settings: text after", putSettings(`{` + settingsOK + `} true`), "body", textAfter},
		{"user: repeated key", apitest.Request{Method: http.MethodPost, Path: "/api/v1/users",
			Body: `{"email":"v@example.org","role":"viewer","role":"admin"}`}, "role", dupKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := assertProblem(t, c.Do(tt.req), http.StatusBadRequest, tt.field)
			for _, e := range *p.Errors {
				if e.Field == tt.field && e.Message != tt.message {
					t.Errorf("message %q, want %q", e.Message, tt.message)
				}
			}
		})
	}
	// Nothing was written: one record, unchanged; the settings as they were; no new user.
	var page api.AlumnusPage
	c.Get("/api/v1/alumni", nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].FirstName != "Ada" {
		t.Errorf("refused requests changed the records: %+v", page.Items)
	}
	if got := c.Get("/api/v1/settings", nil).Header.Get("ETag"); got != settingsTag {
		t.Errorf("refused requests changed the settings")
	}
	if r := c.Get("/api/v1/users?emailPrefix=v%40", nil); strings.Contains(string(r.Body), "v@example.org") {
		t.Errorf("a refused request created a user: %s", r.Body)
	}
	// The well-formed versions are accepted, so the refusals above are about the JSON alone.
	if r := c.Do(patch(`{"firstName":"Augusta"}`)); r.Status != http.StatusOK {
		t.Errorf("well-formed patch: %d %s", r.Status, r.Body)
	}
	if r := c.Do(putSettings(`{` + settingsOK + `}`)); r.Status != http.StatusOK {
		t.Errorf("well-formed settings: %d %s", r.Status, r.Body)
	}
}

// Bidirectional formatting characters make one name display as another; every text a person
// or the office types is refused with them, as control characters are.
func TestTextRefusesBidiControls(t *testing.T) {
	s := newServer(t)
	staff := s.As(t, auth.RoleStaff)
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"right-to-left override in a name", map[string]any{"firstName": "Ada\u202Egnik", "lastName": "King"}, "firstName"},
		{"isolate in a last name", map[string]any{"firstName": "Ada", "lastName": "\u2067King\u2069"}, "lastName"},
		{"right-to-left mark in a city", map[string]any{"firstName": "Ada", "lastName": "King", "address": map[string]any{"city": "Gent\u200F"}}, "address.city"},
		{"override in the notes", map[string]any{"firstName": "Ada", "lastName": "King", "notes": "fine\n\u202Dnot fine"}, "notes"},
		{"override in a tag", map[string]any{"firstName": "Ada", "lastName": "King", "tags": []any{"donor\u202E"}}, "tags[0]"},
		{"override in a degree", map[string]any{"firstName": "Ada", "lastName": "King", "degrees": []any{
			map[string]any{"degree": "BSc", "program": "Math\u202A", "graduationYear": 2001}}}, "degrees[0].program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, staff.Post("/api/v1/alumni", tt.body), http.StatusUnprocessableEntity, tt.field)
		})
	}
	// Right-to-left scripts themselves are welcome.
	if r := staff.Post("/api/v1/alumni", map[string]any{"firstName": "محمد", "lastName": "علي"}); r.Status != http.StatusCreated {
		t.Errorf("Arabic name: %d %s", r.Status, r.Body)
	}
	// The office's settings too.
	etag := s.Client.Get("/api/v1/settings", nil).Header.Get("ETag")
	resp := s.Client.Do(apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Header: map[string]string{"If-Match": etag}, Body: map[string]any{
		"organizationName": "Alumni \u202EOffice", "defaultDirectoryConsent": false, "accessTokenMinutes": 15,
		"refreshIdleHours": 24, "refreshAbsoluteDays": 30, "inviteValidityDays": 14}})
	assertProblem(t, resp, http.StatusUnprocessableEntity, "organizationName")
}

// With no allowed origins configured, no browser origin may call the API: Echo's CORS
// middleware would answer every origin with "*".
func TestCORSWithoutAllowedOrigins(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.AllowedOrigins = nil
	s := apitest.NewServer(t, cfg)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, s.URL+"/api/v1/auth/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://evil.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "Content-Type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("preflight: Access-Control-Allow-Origin %q, want none", got)
	}
	for _, path := range []string{"/api/v1/alumni", "/api/v1/auth/me"} {
		r := s.Client.Get(path, map[string]string{"Origin": "https://evil.example.com"})
		if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want none", path, got)
		}
	}
	r := s.Anon.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/login", Header: map[string]string{"Origin": "https://evil.example.com"},
		Body: map[string]string{"email": "nobody@example.org", "password": "wrong password here"}})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("login: Access-Control-Allow-Origin %q, want none", got)
	}
}
