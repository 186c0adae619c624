package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
)

func newServer(t *testing.T) *apitest.Server {
	t.Helper()
	t.Parallel()
	return apitest.NewServer(t, apitest.DefaultConfig())
}

func ada() map[string]any {
	return map[string]any{
		"studentId":     "S2004-0042",
		"firstName":     "  Augusta Ada ",
		"lastName":      "King",
		"preferredName": "Ada",
		"enrolledName":  "Augusta Ada Byron",
		"email":         "Ada.Lovelace@Example.ORG",
		"phone":         "+44 20 7946 0958",
		"address":       map[string]any{"line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "gb"},
		"employment":    map[string]any{"employer": "Analytical Engines Ltd", "jobTitle": "Programmer", "industry": "Computer Software"},
		"linkedinUrl":   "https://www.linkedin.com/in/ada-lovelace",
		"degrees": []any{
			map[string]any{"degree": "BSc", "program": "Mathematics", "faculty": "Science", "graduationYear": 2008},
			map[string]any{"degree": "MSc", "program": "Computing", "faculty": "Engineering", "graduationYear": 2012},
		},
		"tags":               []any{"Volunteer", "mentor", "volunteer "},
		"directoryConsent":   true,
		"contactPermissions": map[string]any{"doNotPhone": true},
		"notes":              "Prefers email.\nCall after 5pm.",
	}
}

func create(t *testing.T, c *apitest.Client, body any) (api.Alumnus, string) {
	t.Helper()
	resp := c.Post("/api/v1/alumni", body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create: status %d: %s", resp.Status, resp.Body)
	}
	var a api.Alumnus
	resp.JSON(t, &a)
	return a, resp.Header.Get("ETag")
}

func TestCreateAndGet(t *testing.T) {
	s := newServer(t)
	c := s.Client

	resp := c.Post("/api/v1/alumni", ada())
	if resp.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	var got api.Alumnus
	resp.JSON(t, &got)
	if want := "/api/v1/alumni/" + got.Id; resp.Header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), want)
	}
	if resp.Header.Get("ETag") != `"1"` {
		t.Errorf("ETag = %q", resp.Header.Get("ETag"))
	}
	// Normalized: trimmed, lower-case email, upper-case country, tags cleaned and sorted,
	// the first degree primary.
	checks := map[string][2]any{
		"firstName": {got.FirstName, "Augusta Ada"},
		"email":     {string(*got.Email), "ada.lovelace@example.org"},
		"country":   {*got.Address.Country, "GB"},
		"tags":      {strings.Join(*got.Tags, ","), "mentor,volunteer"},
		"primary":   {*got.Degrees[0].Primary && !*got.Degrees[1].Primary, true},
		"doNotMail": {*got.ContactPermissions.DoNotMail, false},
		"status":    {string(*got.Status), "active"},
		"notes":     {*got.Notes, "Prefers email.\nCall after 5pm."},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}

	get := c.Get("/api/v1/alumni/"+got.Id, nil)
	if get.Status != http.StatusOK {
		t.Fatalf("get: %d %s", get.Status, get.Body)
	}
	var again api.Alumnus
	get.JSON(t, &again)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("get differs from create (-create +get):\n%s", diff)
	}
	if get.Header.Get("ETag") != `"1"` || get.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: %v", get.Header)
	}

	notModified := c.Get("/api/v1/alumni/"+got.Id, map[string]string{"If-None-Match": `"1"`})
	if notModified.Status != http.StatusNotModified || len(notModified.Body) != 0 {
		t.Errorf("If-None-Match current: %d %s", notModified.Status, notModified.Body)
	}
	if r := c.Get("/api/v1/alumni/"+got.Id, map[string]string{"If-None-Match": `"5", W/"1"`}); r.Status != http.StatusNotModified {
		t.Errorf("If-None-Match compares weakly: %d", r.Status)
	}
	if r := c.Get("/api/v1/alumni/"+got.Id, map[string]string{"If-None-Match": `"7"`}); r.Status != http.StatusOK {
		t.Errorf("If-None-Match stale: %d", r.Status)
	}
}

func TestGetUnknownIsNotFound(t *testing.T) {
	s := newServer(t)
	resp := s.Client.Get("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", nil)
	if resp.Status != http.StatusNotFound {
		t.Fatalf("status %d", resp.Status)
	}
}

func TestCreateMinimal(t *testing.T) {
	s := newServer(t)
	a, _ := create(t, s.Client, map[string]any{"firstName": "Grace", "lastName": "Hopper"})
	if len(a.Degrees) != 0 || len(*a.Tags) != 0 || a.Email != nil || a.Address != nil || *a.Status != api.Active || a.DirectoryConsent {
		t.Errorf("unexpected defaults: %+v", a)
	}
}

func TestConflicts(t *testing.T) {
	s := newServer(t)
	c := s.Client
	create(t, c, map[string]any{"firstName": "A", "lastName": "One", "studentId": "S1", "email": "one@example.org"})
	other, tag := create(t, c, map[string]any{"firstName": "B", "lastName": "Two", "studentId": "S2", "email": "two@example.org"})

	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"student id", map[string]any{"firstName": "C", "lastName": "Three", "studentId": "S1"}, "studentId"},
		{"student id other case", map[string]any{"firstName": "C", "lastName": "Three", "studentId": "s1"}, "studentId"},
		{"email other case", map[string]any{"firstName": "C", "lastName": "Three", "email": "ONE@example.org"}, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.Post("/api/v1/alumni", tt.body)
			assertProblem(t, resp, http.StatusConflict, tt.field)
		})
	}
	t.Run("update to a taken email", func(t *testing.T) {
		resp := c.Patch("/api/v1/alumni/"+other.Id, tag, map[string]any{"email": "one@example.org"})
		assertProblem(t, resp, http.StatusConflict, "email")
		// Nothing changed.
		var now api.Alumnus
		c.Get("/api/v1/alumni/"+other.Id, nil).JSON(t, &now)
		if string(*now.Email) != "two@example.org" {
			t.Errorf("email changed to %s", *now.Email)
		}
	})
}

// assertProblem checks a problem answer and, when field is not empty, that it names field.
func assertProblem(t *testing.T, resp *apitest.Response, status int, field string) api.Problem {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
	var p api.Problem
	resp.JSON(t, &p)
	if field == "" {
		return p
	}
	if p.Errors == nil {
		t.Fatalf("problem names no field, want %q: %s", field, resp.Body)
	}
	for _, e := range *p.Errors {
		if e.Field == field {
			return p
		}
	}
	t.Fatalf("problem does not name %q: %s", field, resp.Body)
	return p
}

func TestCreateRejectsBadInput(t *testing.T) {
	s := newServer(t)
	c := s.Client
	with := func(k string, v any) map[string]any {
		b := map[string]any{"firstName": "Ada", "lastName": "King"}
		b[k] = v
		return b
	}
	degree := func(k string, v any) map[string]any {
		d := map[string]any{"degree": "BSc", "program": "Mathematics", "graduationYear": 2010}
		d[k] = v
		return with("degrees", []any{d})
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"missing first name", map[string]any{"lastName": "King"}, 400, "firstName"},
		{"empty last name", with("lastName", ""), 400, "lastName"},
		{"blank last name", with("lastName", "   "), 422, "lastName"},
		{"name too long", with("firstName", strings.Repeat("a", 101)), 400, "firstName"},
		{"name with line break", with("firstName", "Ada\nKing"), 422, "firstName"},
		{"name with NUL", with("firstName", "Ada\x00"), 422, "firstName"},
		{"wrong type", with("firstName", 42), 400, "firstName"},
		{"unknown property", with("isAdmin", true), 400, "isAdmin"},
		{"unknown nested property", with("address", map[string]any{"planet": "Mars"}), 400, "address.planet"},
		{"bad email", with("email", "not-an-email"), 400, "email"},
		{"email with display name", with("email", "Ada <ada@example.org>"), 400, "email"},
		{"email without dot in domain", with("email", "ada@localhost"), 400, "email"},
		{"bad phone", with("phone", "call me"), 400, "phone"},
		{"country not two letters", with("address", map[string]any{"country": "GBR"}), 400, "address.country"},
		{"unknown country", with("address", map[string]any{"country": "XX"}), 422, "address.country"},
		{"reserved country UK", with("address", map[string]any{"country": "UK"}), 422, "address.country"},
		{"url not http", with("websiteUrl", "javascript:alert(1)"), 400, "websiteUrl"},
		{"linkedin elsewhere", with("linkedinUrl", "https://evil.example.com/in/ada"), 422, "linkedinUrl"},
		{"unknown status", with("status", "retired"), 400, "status"},
		{"graduation year too early", degree("graduationYear", 1700), 400, "degrees[0].graduationYear"},
		{"graduation year far future", degree("graduationYear", 2099), 422, "degrees[0].graduationYear"},
		{"graduation year not a number", degree("graduationYear", "2010"), 400, "degrees[0].graduationYear"},
		{"degree missing program", map[string]any{"firstName": "A", "lastName": "B", "degrees": []any{map[string]any{"degree": "BSc", "graduationYear": 2010}}}, 400, "degrees[0].program"},
		{"two primary degrees", with("degrees", []any{
			map[string]any{"degree": "BSc", "program": "Math", "graduationYear": 2010, "primary": true},
			map[string]any{"degree": "MSc", "program": "Math", "graduationYear": 2012, "primary": true},
		}), 422, "degrees"},
		{"duplicate tags", with("tags", []any{"a", "a"}), 400, "tags"},
		{"tag with comma", with("tags", []any{"a,b"}), 400, "tags[0]"},
		{"notes too long", with("notes", strings.Repeat("x", 10001)), 400, "notes"},
		{"array body", []any{1, 2}, 400, "body"},
		{"malformed JSON", `{"firstName": "Ada",`, 400, "body"},
		{"null body", `null`, 400, "body"},
		{"empty body", ``, 400, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.Post("/api/v1/alumni", tt.body)
			assertProblem(t, resp, tt.status, tt.field)
		})
	}
	// None of the rejected requests wrote anything.
	var page api.AlumnusPage
	c.Get("/api/v1/alumni", nil).JSON(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("rejected requests stored %d records", len(page.Items))
	}
}

func TestTransportErrors(t *testing.T) {
	s := newServer(t)
	c := s.Client
	big := `{"firstName":"Ada","lastName":"King","notes":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name   string
		req    apitest.Request
		status int
	}{
		{"wrong content type", apitest.Request{Method: "POST", Path: "/api/v1/alumni", Body: `firstName=Ada`, ContentType: "application/x-www-form-urlencoded"}, 415},
		{"text plain", apitest.Request{Method: "POST", Path: "/api/v1/alumni", Body: `{"firstName":"Ada","lastName":"King"}`, ContentType: "text/plain"}, 415},
		{"patch as plain JSON", apitest.Request{Method: "PATCH", Path: "/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", Body: `{"notes":"x"}`, Header: map[string]string{"If-Match": `"1"`}}, 415},
		{"oversize body", apitest.Request{Method: "POST", Path: "/api/v1/alumni", Body: big}, 413},
		{"unknown path", apitest.Request{Method: "GET", Path: "/api/v1/nothing-here"}, 404},
		{"unknown method", apitest.Request{Method: "PUT", Path: "/api/v1/alumni", Body: `{}`}, 405},
		{"bad id", apitest.Request{Method: "GET", Path: "/api/v1/alumni/1"}, 400},
		{"id with injection", apitest.Request{Method: "GET", Path: "/api/v1/alumni/" + url.PathEscape("1' OR '1'='1")}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, c.Do(tt.req), tt.status, "")
		})
	}
}

func TestListRejectsBadParameters(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		query string
		field string
	}{
		{"limit=0", "limit"},
		{"limit=-1", "limit"},
		{"limit=201", "limit"},
		{"limit=99999999999999999999", "limit"},
		{"limit=ten", "limit"},
		{"cursor=not-a-cursor", "cursor"},
		{"cursor=" + strings.Repeat("A", 2000), "cursor"},
		{"cursor=eyJ2Ijo5fQ", "cursor"}, // {"v":9}
		{"graduationYearFrom=1700", "graduationYearFrom"},
		{"graduationYearFrom=2010&graduationYearTo=2000", "graduationYearTo"},
		{"status=retired", "status"},
		{"country=Germany", "country"},
		{"deleted=maybe", "deleted"},
		{"colour=red", "colour"},
		{"city=%FF", "city"}, // not UTF-8: refused, not matched as U+FFFD
		{"employer=Acme%C3%28", "employer"},
		{"sort=name", "sort"},
		{"sort=relevance", "sort"},
		{"sort=email", "sort"},
		{"sort=lastName,firstName", "sort"},
		{"q=", "q"},
		{"q=%20-%20", "q"},
		{"q=a+b+c+d+e+f+g+h+i", "q"},
		{"q=" + strings.Repeat("x", 201), "q"},
		{"updatedSince=yesterday", "updatedSince"},
		{"directoryConsent=perhaps", "directoryConsent"},
		{"includeTotal=1x", "includeTotal"},
		{"city=" + strings.Repeat("x", 101), "city"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp := s.Client.Get("/api/v1/alumni?"+tt.query, nil)
			if resp.Status != 400 && resp.Status != 422 {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			assertProblem(t, resp, resp.Status, tt.field)
		})
	}
}

func TestUpdate(t *testing.T) {
	s := newServer(t)
	c := s.Client
	a, tag := create(t, c, ada())
	path := "/api/v1/alumni/" + a.Id

	resp := c.Patch(path, tag, map[string]any{
		"address":            map[string]any{"city": "Berlin", "country": "DE", "line1": nil},
		"phone":              nil,
		"contactPermissions": map[string]any{"doNotEmail": true},
		"tags":               []any{"donor"},
		"degrees":            []any{map[string]any{"degree": "PhD", "program": "Computing", "graduationYear": 2016}},
	})
	if resp.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", resp.Status, resp.Body)
	}
	var got api.Alumnus
	resp.JSON(t, &got)
	if resp.Header.Get("ETag") != `"2"` {
		t.Errorf("ETag after update = %s", resp.Header.Get("ETag"))
	}
	want := a
	want.Address = &api.Address{City: ptr("Berlin"), Country: ptr("DE"), PostalCode: ptr("SW1Y 4JH")}
	want.Phone = nil
	want.ContactPermissions.DoNotEmail = ptr(true)
	want.Tags = &api.Tags{"donor"}
	want.Degrees = []api.Degree{{Degree: "PhD", Program: "Computing", GraduationYear: 2016, Primary: ptr(true)}}
	want.UpdatedAt = got.UpdatedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after patch (-want +got):\n%s", diff)
	}
	if !got.UpdatedAt.After(a.UpdatedAt) && !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Errorf("updatedAt went back")
	}

	t.Run("a patch that changes nothing keeps the version", func(t *testing.T) {
		resp := c.Patch(path, `"2"`, map[string]any{"lastName": "King"})
		if resp.Status != 200 || resp.Header.Get("ETag") != `"2"` {
			t.Errorf("status %d ETag %s", resp.Status, resp.Header.Get("ETag"))
		}
	})
	t.Run("stale ETag", func(t *testing.T) {
		assertProblem(t, c.Patch(path, `"1"`, map[string]any{"lastName": "Byron"}), http.StatusPreconditionFailed, "")
	})
	t.Run("weak ETag never matches", func(t *testing.T) {
		assertProblem(t, c.Patch(path, `W/"2"`, map[string]any{"lastName": "Byron"}), http.StatusPreconditionFailed, "")
	})
	t.Run("missing If-Match", func(t *testing.T) {
		assertProblem(t, c.Patch(path, "", map[string]any{"lastName": "Byron"}), http.StatusPreconditionRequired, "")
	})
	t.Run("wildcard and list If-Match", func(t *testing.T) {
		if r := c.Patch(path, `"9", "2"`, map[string]any{"preferredName": "Countess"}); r.Status != 200 {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		if r := c.Patch(path, `*`, map[string]any{"preferredName": "Ada"}); r.Status != 200 || r.Header.Get("ETag") != `"4"` {
			t.Fatalf("wildcard: %d %s", r.Status, r.Header.Get("ETag"))
		}
	})
	t.Run("unknown record", func(t *testing.T) {
		assertProblem(t, c.Patch("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", `"1"`, map[string]any{"lastName": "X"}), 404, "")
	})

	bad := []struct {
		name   string
		patch  any
		status int
		field  string
	}{
		{"null first name", map[string]any{"firstName": nil}, 400, "firstName"},
		{"empty patch", map[string]any{}, 400, "body"},
		{"unknown field", map[string]any{"role": "admin"}, 400, "role"},
		{"not an object", []any{"x"}, 400, "body"},
		{"bad country", map[string]any{"address": map[string]any{"country": "QQ"}}, 422, "address.country"},
		{"wrong type", map[string]any{"directoryConsent": "yes"}, 400, "directoryConsent"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, c.Patch(path, `"4"`, tt.patch), tt.status, tt.field)
		})
	}
	var final api.Alumnus
	r := c.Get(path, nil)
	r.JSON(t, &final)
	if r.Header.Get("ETag") != `"4"` || final.LastName != "King" {
		t.Errorf("rejected patches changed the record: ETag %s, last name %s", r.Header.Get("ETag"), final.LastName)
	}
}

func TestDeleteAndRestore(t *testing.T) {
	s := newServer(t)
	c := s.Client
	a, tag := create(t, c, map[string]any{"firstName": "Ada", "lastName": "King", "studentId": "S9"})
	path := "/api/v1/alumni/" + a.Id

	assertProblem(t, c.Delete(path, `"5"`), http.StatusPreconditionFailed, "")
	if r := c.Delete(path, tag); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	assertProblem(t, c.Get(path, nil), http.StatusNotFound, "")
	assertProblem(t, c.Delete(path, ""), http.StatusNotFound, "")
	assertProblem(t, c.Patch(path, "*", map[string]any{"notes": "x"}), http.StatusNotFound, "")

	var live, trash api.AlumnusPage
	c.Get("/api/v1/alumni", nil).JSON(t, &live)
	c.Get("/api/v1/alumni?deleted=true", nil).JSON(t, &trash)
	if len(live.Items) != 0 || len(trash.Items) != 1 || trash.Items[0].DeletedAt == nil {
		t.Fatalf("live %d, trash %d", len(live.Items), len(trash.Items))
	}
	// The student id stays taken while the record is in the trash.
	assertProblem(t, c.Post("/api/v1/alumni", map[string]any{"firstName": "X", "lastName": "Y", "studentId": "S9"}), 409, "studentId")

	r := c.Post(path+"/restore", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("restore: %d %s", r.Status, r.Body)
	}
	var restored api.Alumnus
	r.JSON(t, &restored)
	if restored.DeletedAt != nil || r.Header.Get("ETag") != `"3"` {
		t.Errorf("restored: deletedAt %v, ETag %s", restored.DeletedAt, r.Header.Get("ETag"))
	}
	if r := c.Get(path, nil); r.Status != 200 {
		t.Errorf("get after restore: %d", r.Status)
	}
	// Restoring a live record changes nothing.
	if r := c.Post(path+"/restore", nil); r.Status != 200 || r.Header.Get("ETag") != `"3"` {
		t.Errorf("restore again: %d %s", r.Status, r.Header.Get("ETag"))
	}
	assertProblem(t, c.Post("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1A/restore", nil), 404, "")
	// Delete without If-Match is allowed.
	if r := c.Delete(path, ""); r.Status != 204 {
		t.Errorf("delete without If-Match: %d", r.Status)
	}
}

func ptr[T any](v T) *T { return &v }
