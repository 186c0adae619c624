package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/alumnid/alumnid"
	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/duplicates"
	"github.com/alumnid/alumnid/internal/httpapi"
)

// loadContract parses openapi.yaml the way the server does.
func loadContract(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := httpapi.LoadSpec(alumnid.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// contractOp is one operation of the contract with what the access rules need of it.
type contractOp struct {
	path, method string
	item         *openapi3.PathItem
	op           *openapi3.Operation
	public       bool
	roles        []string // x-roles; nil when the operation declares none
}

func (o contractOp) String() string {
	if o.op.OperationID != "" {
		return o.op.OperationID
	}
	return o.method + " " + o.path
}

// contractOps returns every operation of doc in a fixed order. An operation is public when its
// effective security requirement (its own, else the document's) is empty.
func contractOps(t *testing.T, doc *openapi3.T) []contractOp {
	t.Helper()
	var out []contractOp
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			o := contractOp{path: path, method: method, item: item, op: op, public: len(security) == 0}
			if raw, ok := op.Extensions["x-roles"]; ok {
				list, ok := raw.([]any)
				if !ok {
					t.Errorf("%s: x-roles is %T, want a list of roles", o, raw)
				}
				o.roles = []string{}
				for _, r := range list {
					s, ok := r.(string)
					if !ok || !auth.Role(s).Valid() {
						t.Errorf("%s: x-roles names %v, which is not a role", o, r)
					}
					o.roles = append(o.roles, s)
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].method < out[j].method
	})
	return out
}

// headerParam reports whether o declares the header parameter name.
func (o contractOp) headerParam(name string) bool {
	for _, params := range []openapi3.Parameters{o.item.Parameters, o.op.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, name) {
				return true
			}
		}
	}
	return false
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// postUser creates a user through the API as c and returns it.
func postUser(t *testing.T, c *apitest.Client, body map[string]any) api.User {
	t.Helper()
	if _, ok := body["password"]; !ok {
		body["password"] = apitest.TestPassword
	}
	resp := c.Post("/api/v1/users", body)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create user %v: %d %s", body["email"], resp.Status, resp.Body)
	}
	var u api.User
	resp.JSON(t, &u)
	return u
}

// whoAmI returns the caller's account and session.
func whoAmI(t *testing.T, c *apitest.Client) api.Me {
	t.Helper()
	resp := c.Get("/api/v1/auth/me", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("me: %d %s", resp.Status, resp.Body)
	}
	var m api.Me
	resp.JSON(t, &m)
	return m
}

// getAlumnus reads a record as c and returns it with its ETag.
func getAlumnus(t *testing.T, c *apitest.Client, id string) (api.Alumnus, string) {
	t.Helper()
	resp := c.Get("/api/v1/alumni/"+id, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("get %s: %d %s", id, resp.Status, resp.Body)
	}
	var a api.Alumnus
	resp.JSON(t, &a)
	return a, resp.Header.Get("ETag")
}

// TestOperationRoleMatrix sends a request to every operation of the contract as every role,
// anonymously and with a well-signed token of a session that does not exist, and checks the
// answer against the operation's security and x-roles. It derives everything from
// openapi.yaml, so a new operation is covered without changing this test (a new kind of path
// parameter needs a fixture below).
func TestOperationRoleMatrix(t *testing.T) {
	s := newServer(t)
	doc := loadContract(t)
	ops := contractOps(t, doc)
	if len(ops) < 20 {
		t.Fatalf("only %d operations in the contract", len(ops))
	}

	// Fixtures: a record anyone may read, the record of the alumnus user, a user to act on.
	shared, _ := create(t, s.Client, map[string]any{"firstName": "Shared", "lastName": "Record", "email": "shared@example.org", "directoryConsent": true})
	own, _ := create(t, s.Client, map[string]any{"firstName": "Own", "lastName": "Record", "email": "own@example.org"})
	target := postUser(t, s.Client, map[string]any{"email": "target@example.org", "role": "staff"})
	freshUsers := 0
	fixture := func(t *testing.T, name, method string, role auth.Role) string {
		t.Helper()
		switch name {
		case "alumnusId":
			if role == auth.RoleAlumnus {
				return own.Id // the caller's own record: the role check must not depend on the object
			}
			return shared.Id
		case "userId":
			if method == http.MethodDelete { // deleting must not take the fixture away from later requests
				freshUsers++
				return postUser(t, s.Client, map[string]any{"email": fmt.Sprintf("fresh%d@example.org", freshUsers), "role": "viewer"}).Id
			}
			return target.Id
		case "importId":
			return "01JD3M5X7V8Q9R2S4T6W8Y0Z1E" // none: allowed roles get 404
		case "mergeId":
			return "01JD3M5X7V8Q9R2S4T6W8Y0Z1F" // none: allowed roles get 404
		case "pairId":
			return duplicates.PairID(shared.Id, own.Id) // not likely, and any two records may be dismissed
		case "providerId":
			return "none" // no provider is configured: 404 (or 400 without returnTo) for everyone
		case "passkeyId":
			return "01JD3M5X7V8Q9R2S4T6W8Y0Z1P" // none: allowed roles get 404
		}
		t.Fatalf("no fixture for path parameter {%s}: add one to TestOperationRoleMatrix", name)
		return ""
	}

	type caller struct {
		name   string
		role   auth.Role // "" when not signed in
		email  string
		client *apitest.Client
	}
	callers := []*caller{
		{name: "anonymous", client: s.Anon},
		{name: "unknown session", client: s.Anon.WithToken(apitest.SignedToken(t, "01JD3M5X7V8Q9R2S4T6W8Y0Z1D", string(auth.RoleAdmin), time.Hour))},
	}
	for _, role := range auth.Roles {
		link := ""
		if role == auth.RoleAlumnus {
			link = own.Id
		}
		email := s.CreateUser(t, role, link)
		c, _ := s.Login(t, email, apitest.TestPassword)
		callers = append(callers, &caller{name: string(role), role: role, email: email, client: c})
	}

	for _, o := range ops {
		switch {
		case o.public && o.roles != nil:
			t.Errorf("%s is public but declares x-roles %v: which is it?", o, o.roles)
		case !o.public && len(o.roles) == 0:
			t.Errorf("%s needs a token but declares no x-roles: nobody may call it; list its roles", o)
			continue
		}
		// The contract's tags say which groups of operations are for admins only.
		for _, name := range o.op.Tags {
			if tag := doc.Tags.Get(name); tag != nil && strings.Contains(tag.Description, "(admins only)") &&
				!slices.Equal(o.roles, []string{string(auth.RoleAdmin)}) {
				t.Errorf("%s is tagged %s, which is for admins only, but has x-roles %v", o, name, o.roles)
			}
		}
		if !o.public && o.op.Responses.Status(http.StatusUnauthorized) == nil {
			t.Errorf("%s needs a token but does not document 401", o)
		}
		statuses := map[string]int{}
		for _, c := range callers {
			t.Run(o.String()+"/"+c.name, func(t *testing.T) {
				path := pathParam.ReplaceAllStringFunc(o.path, func(m string) string {
					return fixture(t, m[1:len(m)-1], o.method, c.role)
				})
				req := apitest.Request{Method: o.method, Path: path, Header: map[string]string{}}
				if o.headerParam("If-Match") {
					// Never the current version: an allowed write answers 412 and changes nothing.
					req.Header["If-Match"] = `"0"`
				}
				if rb := o.op.RequestBody; rb != nil && rb.Value != nil && len(rb.Value.Content) > 0 {
					types := make([]string, 0, len(rb.Value.Content))
					for ct := range rb.Value.Content {
						types = append(types, ct)
					}
					sort.Strings(types)
					// An empty object: the role check comes before the body is validated.
					req.Body, req.ContentType = `{}`, types[0]
				}
				resp := c.client.Do(req)
				statuses[c.name] = resp.Status
				allowed := c.role != "" && slices.Contains(o.roles, string(c.role))
				switch {
				case o.public:
					if resp.Status == http.StatusForbidden {
						t.Errorf("public operation answered 403: %s", resp.Body)
					}
				case c.role == "":
					assertProblem(t, resp, http.StatusUnauthorized, "")
					if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("401 without a Bearer challenge: %v", resp.Header)
					}
				case !allowed:
					assertProblem(t, resp, http.StatusForbidden, "")
				default:
					if resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden {
						t.Errorf("role %s is in x-roles %v but got %d: %s", c.role, o.roles, resp.Status, resp.Body)
					}
				}
				// A request may end the caller's session (logout): sign in again.
				if c.role != "" && c.client.Get("/api/v1/auth/me", nil).Status == http.StatusUnauthorized {
					c.client, _ = s.Login(t, c.email, apitest.TestPassword)
				}
			})
		}
		if o.public {
			// A public operation does not look at credentials: everyone gets the same answer.
			for name, st := range statuses {
				if st != statuses["anonymous"] {
					t.Errorf("%s is public but answers %s %d and anonymous %d", o, name, st, statuses["anonymous"])
				}
			}
		}
	}

	// Every API route the service serves is an operation of the contract: the guard lets
	// requests for paths it does not know through to Echo, so a route missing from the contract
	// would be served to anyone.
	echoParam := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	for _, r := range s.Echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") && !strings.HasPrefix(r.Path, "/.well-known/") {
			continue
		}
		p := echoParam.ReplaceAllString(r.Path, "{$1}")
		item := doc.Paths.Value(p)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("the service serves %s %s, which the contract does not have: no role check applies to it", r.Method, r.Path)
		}
	}
}

// An alumnus can neither read nor change a record that is not theirs and not in the directory:
// such records do not exist for them (404, never 403, so ids cannot be probed). They may
// change their own record's self-editable fields, and never delete or restore.
func TestAlumniCannotReachOtherRecords(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	ra, _ := create(t, admin, map[string]any{"firstName": "Alice", "lastName": "Able", "email": "alice@example.org", "phone": "+1 555 0101",
		"tags": []any{"donor"}, "notes": "office only", "studentId": "S-A"})
	rb, _ := create(t, admin, map[string]any{"firstName": "Bob", "lastName": "Baker", "email": "bob@example.org", "phone": "+1 555 0102"})
	deceased, _ := create(t, admin, map[string]any{"firstName": "Dora", "lastName": "Dead", "directoryConsent": true, "status": "deceased"})
	listed, _ := create(t, admin, map[string]any{"firstName": "Lena", "lastName": "Listed", "directoryConsent": true, "phone": "+1 555 0103"})
	ca, cb := s.AsAlumnus(t, ra.Id), s.AsAlumnus(t, rb.Id)
	const unknown = "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"

	notFound := assertProblem(t, ca.Get("/api/v1/alumni/"+unknown, nil), http.StatusNotFound, "")
	patch := map[string]any{"phone": "+1 555 0199"}
	tests := []struct {
		name   string
		client *apitest.Client
		id     string
	}{
		{"A reads B (no directory consent)", ca, rb.Id},
		{"B reads A (no directory consent)", cb, ra.Id},
		{"A reads a deceased record in the directory", ca, deceased.Id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := assertProblem(t, tt.client.Get("/api/v1/alumni/"+tt.id, nil), http.StatusNotFound, "")
			if p.Title != notFound.Title || deref(p.Detail) != deref(notFound.Detail) || p.Type != notFound.Type {
				t.Errorf("the 404 differs from an unknown id's, which tells that the record exists: %+v vs %+v", p, notFound)
			}
			for _, tag := range []string{`"1"`, `*`} {
				assertProblem(t, tt.client.Patch("/api/v1/alumni/"+tt.id, tag, patch), http.StatusNotFound, "")
			}
		})
	}
	t.Run("a directory record is readable but not writable", func(t *testing.T) {
		got, _ := getAlumnus(t, ca, listed.Id)
		if got.Phone == nil || got.Status != nil || got.Notes != nil {
			t.Errorf("directory view: %+v", got)
		}
		assertProblem(t, ca.Patch("/api/v1/alumni/"+listed.Id, "*", patch), http.StatusNotFound, "")
	})
	t.Run("no delete or restore", func(t *testing.T) {
		for _, id := range []string{ra.Id, rb.Id, listed.Id} {
			assertProblem(t, ca.Delete("/api/v1/alumni/"+id, ""), http.StatusForbidden, "")
			assertProblem(t, ca.Delete("/api/v1/alumni/"+id, `"1"`), http.StatusForbidden, "")
			assertProblem(t, ca.Post("/api/v1/alumni/"+id+"/restore", nil), http.StatusForbidden, "")
		}
		if r := admin.Delete("/api/v1/alumni/"+rb.Id, ""); r.Status != http.StatusNoContent {
			t.Fatalf("admin delete: %d", r.Status)
		}
		assertProblem(t, ca.Post("/api/v1/alumni/"+rb.Id+"/restore", nil), http.StatusForbidden, "")
		assertProblem(t, ca.Get("/api/v1/alumni?deleted=true", nil), http.StatusForbidden, "deleted")
	})
	t.Run("own record", func(t *testing.T) {
		mine, tag := getAlumnus(t, ca, ra.Id)
		if mine.Tags != nil || mine.Notes != nil || mine.StudentId == nil || mine.Email == nil {
			t.Errorf("own record view: %+v", mine)
		}
		assertProblem(t, ca.Patch("/api/v1/alumni/"+ra.Id, "", patch), http.StatusPreconditionRequired, "")
		assertProblem(t, ca.Patch("/api/v1/alumni/"+ra.Id, `"7"`, patch), http.StatusPreconditionFailed, "")
		resp := ca.Patch("/api/v1/alumni/"+ra.Id, tag, map[string]any{
			"phone":      "+1 555 0199",
			"employment": map[string]any{"employer": "Babbage & Co", "jobTitle": "Engineer"},
		})
		if resp.Status != http.StatusOK {
			t.Fatalf("self edit: %d %s", resp.Status, resp.Body)
		}
		var got api.Alumnus
		resp.JSON(t, &got)
		if deref(got.Phone) != "+1 555 0199" || got.Employment == nil || deref(got.Employment.Employer) != "Babbage & Co" || got.Notes != nil || got.Tags != nil {
			t.Errorf("after self edit: %+v", got)
		}
		if resp.Header.Get("ETag") == tag {
			t.Errorf("ETag unchanged after an edit: %s", tag)
		}
		events := eventsOf(auditAll(t, admin, "entityType=alumnus&entityId="+ra.Id), requestIDOf(resp))
		if len(events) != 1 || events[0].Actor == nil || events[0].Actor.Id != whoAmI(t, ca).User.Id || events[0].Actor.Role != api.RoleAlumnus {
			t.Fatalf("self edit events: %+v", events)
		}
		fields := slices.Sorted(maps.Keys(changeMap(events[0])))
		if want := []string{"employment.employer", "employment.jobTitle", "phone"}; !slices.Equal(fields, want) {
			t.Errorf("self edit recorded %v, want %v", fields, want)
		}
		// The office's fields, which the alumnus cannot see, are kept.
		full, fullTag := getAlumnus(t, admin, ra.Id)
		if fullTag != `"2"` || deref(full.Notes) != "office only" || full.Tags == nil || strings.Join(*full.Tags, ",") != "donor" ||
			deref(full.StudentId) != "S-A" || deref(full.Phone) != "+1 555 0199" {
			t.Errorf("record after self edit (ETag %s): %+v", fullTag, full)
		}
	})
}

// An alumnus's change to an office field of their own record is refused whole, naming the
// field, and changes nothing.
func TestAlumnusSelfPatchMassAssignment(t *testing.T) {
	s := newServer(t)
	before, _ := create(t, s.Client, map[string]any{
		"firstName": "Alice", "lastName": "Able", "studentId": "S-1", "tags": []any{"donor"}, "notes": "office only",
		"degrees": []any{map[string]any{"degree": "BSc", "program": "Physics", "graduationYear": 2010}},
	})
	path := "/api/v1/alumni/" + before.Id
	c := s.AsAlumnus(t, before.Id)
	_, tag := getAlumnus(t, c, before.Id)

	tests := []struct {
		field string
		value any
	}{
		{"status", "deceased"},
		{"studentId", "S-999"},
		{"studentId", nil},
		{"tags", []any{"vip"}},
		{"tags", nil},
		{"notes", "set by myself"},
		{"notes", nil},
		{"firstName", "Mallory"},
		{"lastName", "Mallory"},
		{"enrolledName", "Mallory Able"},
		{"degrees", []any{map[string]any{"degree": "PhD", "program": "Physics", "graduationYear": 2015}}},
		{"degrees", nil},
		// Not fields of a record at all: the contract refuses them.
		{"id", "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"},
		{"withheld", []any{}},
		{"createdAt", "2020-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		for _, withAllowed := range []bool{false, true} {
			name := fmt.Sprintf("%s=%v", tt.field, tt.value)
			if withAllowed {
				name += " with phone"
			}
			t.Run(name, func(t *testing.T) {
				body := map[string]any{tt.field: tt.value}
				if withAllowed {
					body["phone"] = "+1 555 0100"
				}
				assertProblem(t, c.Patch(path, tag, body), http.StatusBadRequest, tt.field)
			})
		}
	}
	t.Run("several at once are all named", func(t *testing.T) {
		p := assertProblem(t, c.Patch(path, tag, map[string]any{"status": "deceased", "notes": "x", "phone": "+1 555 0100"}), http.StatusBadRequest, "status")
		if len(*p.Errors) != 2 {
			t.Errorf("want status and notes named: %+v", *p.Errors)
		}
	})

	after, afterTag := getAlumnus(t, s.Client, before.Id)
	if afterTag != `"1"` {
		t.Errorf("ETag after refused patches = %s, want \"1\"", afterTag)
	}
	if diff := cmpJSON(t, before, after); diff != "" {
		t.Errorf("record changed: %s", diff)
	}
	if n := len(auditAll(t, s.Client, "action=alumnus.update")); n != 0 {
		t.Errorf("%d update events for refused patches", n)
	}
}

// cmpJSON compares a and b as JSON and returns "" when equal.
func cmpJSON(t *testing.T, a, b any) string {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(ja) == string(jb) {
		return ""
	}
	return fmt.Sprintf("\n%s\n%s", ja, jb)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func withheld(a api.Alumnus) []string {
	var out []string
	if a.Withheld != nil {
		for _, w := range *a.Withheld {
			out = append(out, string(w))
		}
	}
	return out
}

func idSet(items []api.Alumnus) []string {
	out := make([]string, len(items))
	for i, a := range items {
		out[i] = a.Id
	}
	sort.Strings(out)
	return out
}

func sortedCopy(ids ...string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

// Contact details of alumni who did not consent to the directory are hidden from viewers and
// alumni, in reads, lists and filters; the office's notes are hidden from both.
func TestContactFieldsHiddenWithoutConsent(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	record := func(first string, consent bool, country, status string) api.Alumnus {
		a, _ := create(t, admin, map[string]any{
			"firstName": first, "lastName": "Person", "studentId": "S-" + first,
			"email": strings.ToLower(first) + "@example.org", "workEmail": strings.ToLower(first) + "@work.example.com",
			"phone":   "+44 20 7946 0000",
			"address": map[string]any{"line1": "1 High Street", "city": "Town", "country": country},
			"notes":   "private note on " + first, "tags": []any{"donor"},
			"directoryConsent": consent, "status": status,
		})
		return a
	}
	consenting := record("Connie", true, "GB", "active")
	hidden := record("Nora", false, "GB", "active")
	deceased := record("Dora", true, "GB", "deceased")
	french := record("Fran", false, "FR", "active")
	own := record("Olive", false, "GB", "active")
	viewer := s.As(t, auth.RoleViewer)
	alum := s.AsAlumnus(t, own.Id)

	contact := []string{"email", "workEmail", "phone", "address"}
	office := []string{"studentId", "tags", "contactPermissions", "status", "notes"}
	// checkView checks what role sees of a, and that withheld names exactly what is left out.
	checkView := func(t *testing.T, role auth.Role, a api.Alumnus, consent bool) {
		t.Helper()
		present := map[string]bool{
			"email": a.Email != nil, "workEmail": a.WorkEmail != nil, "phone": a.Phone != nil, "address": a.Address != nil,
			"studentId": a.StudentId != nil, "tags": a.Tags != nil, "contactPermissions": a.ContactPermissions != nil,
			"status": a.Status != nil, "notes": a.Notes != nil,
		}
		var hide []string
		switch {
		case role == auth.RoleViewer:
			hide = []string{"notes"}
			if !consent {
				hide = append(hide, contact...)
			}
		case a.Id == own.Id:
			hide = []string{"tags", "notes"}
		default:
			hide = slices.Clone(office)
			if !consent {
				hide = append(hide, contact...)
			}
		}
		for field, shown := range present {
			if shown == slices.Contains(hide, field) {
				t.Errorf("%s sees %s of %s: %v", role, field, a.FirstName, shown)
			}
		}
		if got := withheld(a); !slices.Equal(sortedCopy(got...), sortedCopy(hide...)) {
			t.Errorf("%s: withheld of %s = %v, want %v", role, a.FirstName, got, hide)
		}
	}

	t.Run("viewer reads", func(t *testing.T) {
		for _, a := range []api.Alumnus{consenting, hidden, deceased, french} {
			got, _ := getAlumnus(t, viewer, a.Id)
			checkView(t, auth.RoleViewer, got, a.DirectoryConsent)
		}
		got, _ := getAlumnus(t, viewer, consenting.Id)
		if deref(got.Phone) != "+44 20 7946 0000" || got.Address == nil || deref(got.Address.Country) != "GB" {
			t.Errorf("consenting alumnus's contact details: %+v", got)
		}
	})
	t.Run("viewer lists", func(t *testing.T) {
		all := listAll(t, viewer, "", 2)
		if len(all) != 5 {
			t.Fatalf("viewer lists %d records, want 5", len(all))
		}
		for _, a := range all {
			checkView(t, auth.RoleViewer, a, a.DirectoryConsent)
			one, _ := getAlumnus(t, viewer, a.Id)
			if diff := cmpJSON(t, one, a); diff != "" {
				t.Errorf("list item differs from the record read alone: %s", diff)
			}
		}
	})
	t.Run("country filter", func(t *testing.T) {
		for _, q := range []string{"country=GB", "country=gb"} {
			if got, want := idSet(listAll(t, viewer, q, 10)), sortedCopy(consenting.Id, deceased.Id); !slices.Equal(got, want) {
				t.Errorf("viewer %s: %v, want only the consenting %v", q, got, want)
			}
			if got, want := idSet(listAll(t, admin, q, 10)), sortedCopy(consenting.Id, hidden.Id, deceased.Id, own.Id); !slices.Equal(got, want) {
				t.Errorf("admin %s: %v, want %v", q, got, want)
			}
			if got, want := idSet(listAll(t, alum, q, 10)), sortedCopy(consenting.Id); !slices.Equal(got, want) {
				t.Errorf("alumnus %s: %v, want %v", q, got, want)
			}
		}
		if got := listAll(t, viewer, "country=FR", 10); len(got) != 0 {
			t.Errorf("viewer finds the non-consenting alumnus in FR by filtering: %v", idSet(got))
		}
	})
	t.Run("alumnus directory", func(t *testing.T) {
		got := listAll(t, alum, "", 1)
		if ids, want := idSet(got), sortedCopy(consenting.Id); !slices.Equal(ids, want) {
			t.Errorf("alumnus lists %v, want only consenting living alumni %v", ids, want)
		}
		for _, a := range got {
			checkView(t, auth.RoleAlumnus, a, true)
		}
		mine, _ := getAlumnus(t, alum, own.Id)
		checkView(t, auth.RoleAlumnus, mine, false)
		dir, _ := getAlumnus(t, alum, consenting.Id)
		checkView(t, auth.RoleAlumnus, dir, true)
		for _, id := range []string{hidden.Id, deceased.Id, french.Id} {
			assertProblem(t, alum.Get("/api/v1/alumni/"+id, nil), http.StatusNotFound, "")
		}
	})
	t.Run("forbidden filters", func(t *testing.T) {
		tests := []struct {
			client *apitest.Client
			query  string
			fields []string
		}{
			{alum, "status=active", []string{"status"}},
			{alum, "tag=donor", []string{"tag"}},
			{alum, "status=deceased&tag=donor", []string{"status", "tag"}},
			{alum, "deleted=true", []string{"deleted"}},
			{viewer, "deleted=true", []string{"deleted"}},
		}
		for _, tt := range tests {
			p := assertProblem(t, tt.client.Get("/api/v1/alumni?"+tt.query, nil), http.StatusForbidden, tt.fields[0])
			var named []string
			for _, e := range *p.Errors {
				named = append(named, e.Field)
			}
			if !slices.Equal(sortedCopy(named...), tt.fields) {
				t.Errorf("%s names %v, want %v", tt.query, named, tt.fields)
			}
		}
		// Viewers see status and tags, so they may filter on them.
		if got := idSet(listAll(t, viewer, "status=deceased", 10)); !slices.Equal(got, []string{deceased.Id}) {
			t.Errorf("viewer status filter: %v", got)
		}
	})
	t.Run("ETags differ by view", func(t *testing.T) {
		for _, a := range []api.Alumnus{consenting, hidden} {
			_, adminTag := getAlumnus(t, admin, a.Id)
			_, viewerTag := getAlumnus(t, viewer, a.Id)
			if adminTag == viewerTag {
				t.Errorf("%s: admin and viewer share ETag %s", a.FirstName, adminTag)
			}
			r := viewer.Get("/api/v1/alumni/"+a.Id, map[string]string{"If-None-Match": adminTag})
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), a.Id) {
				t.Errorf("viewer with the admin's ETag: %d, want 200 with the record", r.Status)
			}
			if r := viewer.Get("/api/v1/alumni/"+a.Id, map[string]string{"If-None-Match": viewerTag}); r.Status != http.StatusNotModified {
				t.Errorf("viewer with own ETag: %d, want 304", r.Status)
			}
			if r := admin.Get("/api/v1/alumni/"+a.Id, map[string]string{"If-None-Match": viewerTag}); r.Status != http.StatusOK {
				t.Errorf("admin with the viewer's ETag: %d, want 200", r.Status)
			}
		}
	})
}

// An alumnus who withdraws directory consent themself is gone at once from what other alumni
// read — the record, the directory list, search, facets, the events feed — and their contact
// details from what viewers read and export: each read is made right after the change's answer,
// with no wait (issue 17, consent history).
func TestSelfServiceWithdrawalAppliesAtOnce(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	w, _ := create(t, admin, map[string]any{"firstName": "Wanda", "lastName": "Withdrawn", "email": "wanda@example.org",
		"phone": "+1 555 0142", "address": map[string]any{"city": "Springfield", "country": "US"},
		"degrees": []any{map[string]any{"degree": "BA", "program": "History", "graduationYear": 2001}}, "directoryConsent": true})
	peerRecord, _ := create(t, admin, map[string]any{"firstName": "Pat", "lastName": "Peer", "directoryConsent": true})
	wanda, peer, viewer := s.AsAlumnus(t, w.Id), s.AsAlumnus(t, peerRecord.Id), s.As(t, auth.RoleViewer)
	peerEvents, _ := s.Subscribe(t, peer.Token(), "")
	viewerEvents, _ := s.Subscribe(t, viewer.Token(), "")
	start, _ := create(t, admin, map[string]any{"firstName": "Start", "lastName": "Marker", "directoryConsent": true})
	peerEvents.SkipUntil(t, start.Id)
	viewerEvents.SkipUntil(t, start.Id)

	facetTotal := func(c *apitest.Client, query string) int {
		t.Helper()
		var f api.Facets
		mustStatus(t, c.Get("/api/v1/alumni/facets?"+query, nil), http.StatusOK).JSON(t, &f)
		return f.Total.Count
	}
	exported := func() map[string]string {
		t.Helper()
		rows, _, _ := exportRows(t, viewer, "format=json&columns=id,email,phone,city")
		for _, r := range rows {
			if r["id"] == w.Id {
				return r
			}
		}
		t.Fatalf("the viewer's export has no row of %s", w.Id)
		return nil
	}
	// Before: the peer reads, lists, finds and counts Wanda; the viewer sees her contact details.
	mustStatus(t, peer.Get("/api/v1/alumni/"+w.Id, nil), http.StatusOK)
	if got := idSet(listAll(t, peer, "q=wanda", 10)); !slices.Equal(got, []string{w.Id}) {
		t.Fatalf("before: peer search finds %v", got)
	}
	if n := facetTotal(peer, "program=History"); n != 1 {
		t.Fatalf("before: peer facets count %d History graduates, want 1", n)
	}
	if r := exported(); r["email"] != "wanda@example.org" || r["city"] != "Springfield" {
		t.Fatalf("before: viewer export %v", r)
	}

	_, tag := getAlumnus(t, wanda, w.Id)
	mustStatus(t, wanda.Patch("/api/v1/alumni/"+w.Id, tag, map[string]any{"directoryConsent": false}), http.StatusOK)

	t.Run("get", func(t *testing.T) {
		assertProblem(t, peer.Get("/api/v1/alumni/"+w.Id, nil), http.StatusNotFound, "")
		got, _ := getAlumnus(t, viewer, w.Id)
		if got.Email != nil || got.Phone != nil || got.Address != nil {
			t.Errorf("viewer still reads contact details: %+v", got)
		}
		if mine, _ := getAlumnus(t, wanda, w.Id); deref(mine.Email) != "wanda@example.org" {
			t.Errorf("Wanda lost her own view: %+v", mine)
		}
	})
	t.Run("list and search", func(t *testing.T) {
		if slices.Contains(idSet(listAll(t, peer, "", 10)), w.Id) {
			t.Error("peer's directory still lists her")
		}
		if got := listAll(t, peer, "q=wanda", 10); len(got) != 0 {
			t.Errorf("peer search still finds %v", idSet(got))
		}
		for _, a := range listAll(t, viewer, "q=wanda", 10) {
			if a.Email != nil || a.Phone != nil || a.Address != nil {
				t.Errorf("viewer's list shows contact details: %+v", a)
			}
		}
		if got := listAll(t, viewer, "country=US", 10); len(got) != 0 {
			t.Errorf("viewer still finds her by country: %v", idSet(got))
		}
	})
	t.Run("facets", func(t *testing.T) {
		if n := facetTotal(peer, "program=History"); n != 0 {
			t.Errorf("peer facets still count her: %d", n)
		}
		if n := facetTotal(viewer, "country=US"); n != 0 {
			t.Errorf("viewer facets count her by country: %d", n)
		}
	})
	t.Run("export", func(t *testing.T) {
		if r := exported(); r["email"] != "" || r["phone"] != "" || r["city"] != "" {
			t.Errorf("viewer export still has contact details: %v", r)
		}
	})
	t.Run("events", func(t *testing.T) {
		// The peer gets nothing about her — neither the withdrawal nor a later change.
		mustStatus(t, admin.Patch("/api/v1/alumni/"+w.Id, `"2"`, map[string]any{"employment": map[string]any{"employer": "Acme"}}), http.StatusOK)
		marker, _ := create(t, admin, map[string]any{"firstName": "End", "lastName": "Marker", "directoryConsent": true})
		for {
			e := peerEvents.Next(t)
			if deref(e.AlumnusId) == w.Id {
				t.Errorf("peer got %s about the withdrawn record", e.Type)
			}
			if deref(e.AlumnusId) == marker.Id {
				break
			}
		}
		// The viewer learns of both changes, with no contact field named.
		for {
			e := viewerEvents.Next(t)
			for _, f := range fieldsOf(e) {
				if slices.Contains([]string{"email", "workEmail", "phone", "address"}, f) {
					t.Errorf("viewer got contact field %s", f)
				}
			}
			if deref(e.AlumnusId) == marker.Id {
				break
			}
		}
	})
}

// walkUsers follows nextCursor through GET /api/v1/users?query and returns every user.
func walkUsers(t *testing.T, c *apitest.Client, query string, limit int) (users []api.User, pages int) {
	t.Helper()
	users, pages, _ = apitest.Walk[api.User](t, c, "/api/v1/users", query, limit)
	return users, pages
}

func emails(users []api.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = string(u.Email)
	}
	return out
}

func TestUserListFiltersAndPages(t *testing.T) {
	s := newServer(t)
	type spec struct {
		email   string
		role    string
		enabled bool
	}
	specs := []spec{
		{"page-a@list.example.org", "staff", true},
		{"page-b@list.example.org", "viewer", true},
		{"page-c@list.example.org", "viewer", false},
		{"page-d@list.example.org", "admin", true},
		{"page-e@list.example.org", "staff", false},
		{"page-f@list.example.org", "viewer", true},
		{"page-g@list.example.org", "staff", true},
		{"pagex@list.example.org", "staff", true}, // "_" in a prefix must not match any character
		{"other@list.example.org", "viewer", true},
	}
	// Created out of order: the list is in email order.
	for _, i := range []int{3, 0, 6, 1, 8, 5, 2, 7, 4} {
		postUser(t, s.Client, map[string]any{"email": specs[i].email, "role": specs[i].role, "enabled": specs[i].enabled})
	}
	want := func(keep func(spec) bool) []string {
		var out []string
		for _, sp := range specs {
			if strings.HasPrefix(sp.email, "page-") && keep(sp) {
				out = append(out, sp.email)
			}
		}
		sort.Strings(out)
		return out
	}

	all, pages := walkUsers(t, s.Client, "email=page-", 3)
	if got := emails(all); !slices.Equal(got, want(func(spec) bool { return true })) {
		t.Errorf("pages by 3: %v", got)
	}
	if pages != 3 {
		t.Errorf("%d pages of 3 for 7 users", pages)
	}
	tests := []struct {
		query string
		keep  func(spec) bool
	}{
		{"email=PAGE-", func(spec) bool { return true }},
		{"email=page-&role=viewer", func(sp spec) bool { return sp.role == "viewer" }},
		{"email=page-&enabled=false", func(sp spec) bool { return !sp.enabled }},
		{"email=page-&enabled=true&role=staff", func(sp spec) bool { return sp.enabled && sp.role == "staff" }},
		{"email=page-&role=alumnus", func(spec) bool { return false }},
		{"email=page_", func(spec) bool { return false }},
		{"email=page%25", func(spec) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			for _, limit := range []int{1, 2, 200} {
				got, _ := walkUsers(t, s.Client, tt.query, limit)
				if !slices.Equal(emails(got), want(tt.keep)) {
					t.Errorf("limit %d: %v, want %v", limit, emails(got), want(tt.keep))
				}
			}
		})
	}
	t.Run("all users, no duplicates", func(t *testing.T) {
		got, _ := walkUsers(t, s.Client, "", 2)
		seen := map[string]bool{}
		for _, u := range got {
			if seen[u.Id] {
				t.Errorf("%s listed twice", u.Email)
			}
			seen[u.Id] = true
		}
		if len(got) != len(specs)+1 { // and the admin of s.Client
			t.Errorf("%d users, want %d", len(got), len(specs)+1)
		}
	})
	assertProblem(t, s.Client.Get("/api/v1/users?cursor=%21%21", nil), http.StatusBadRequest, "cursor")
}

func TestCreateUserValidation(t *testing.T) {
	s := newServer(t)
	rec, _ := create(t, s.Client, map[string]any{"firstName": "Alice", "lastName": "Able"})
	postUser(t, s.Client, map[string]any{"email": "taken@example.org", "role": "staff"})
	postUser(t, s.Client, map[string]any{"email": "linked@example.org", "role": "alumnus", "alumnusId": rec.Id})
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"weak password", map[string]any{"email": "weak@example.org", "role": "staff", "password": "password1234"}, 422, "password"},
		{"short password", map[string]any{"email": "weak@example.org", "role": "staff", "password": "kestrel"}, 422, "password"},
		{"password with the email", map[string]any{"email": "harbourmaster@example.org", "role": "staff", "password": "harbourmaster quiet violet"}, 422, "password"},
		{"duplicate email", map[string]any{"email": "taken@example.org", "role": "viewer"}, 409, "email"},
		{"duplicate email in other case", map[string]any{"email": "Taken@Example.ORG", "role": "viewer"}, 409, "email"},
		{"alumnus without record", map[string]any{"email": "alum@example.org", "role": "alumnus"}, 422, "alumnusId"},
		{"staff with a record", map[string]any{"email": "staff@example.org", "role": "staff", "alumnusId": rec.Id}, 422, "alumnusId"},
		{"unknown record", map[string]any{"email": "alum@example.org", "role": "alumnus", "alumnusId": "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"}, 422, "alumnusId"},
		{"record claimed by another user", map[string]any{"email": "alum@example.org", "role": "alumnus", "alumnusId": rec.Id}, 409, "alumnusId"},
		{"unknown role", map[string]any{"email": "x@example.org", "role": "root"}, 400, "role"},
		{"bad email", map[string]any{"email": "not-an-email", "role": "staff"}, 400, "email"},
		{"unknown property", map[string]any{"email": "x@example.org", "role": "staff", "isAdmin": true}, 400, "isAdmin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.body["password"]; !ok {
				tt.body["password"] = apitest.TestPassword
			}
			assertProblem(t, s.Client.Post("/api/v1/users", tt.body), tt.status, tt.field)
		})
	}
	got, _ := walkUsers(t, s.Client, "", 200)
	if len(got) != 3 {
		t.Errorf("refused creations left users behind: %v", emails(got))
	}
}

func TestUpdateUserPreconditions(t *testing.T) {
	s := newServer(t)
	u := postUser(t, s.Client, map[string]any{"email": "someone@example.org", "role": "staff"})
	path := "/api/v1/users/" + u.Id
	assertProblem(t, s.Client.Patch(path, "", map[string]any{"role": "viewer"}), http.StatusPreconditionRequired, "")
	assertProblem(t, s.Client.Patch(path, `"2"`, map[string]any{"role": "viewer"}), http.StatusPreconditionFailed, "")
	assertProblem(t, s.Client.Patch(path, `W/"1"`, map[string]any{"role": "viewer"}), http.StatusPreconditionFailed, "")
	assertProblem(t, s.Client.Patch(path, `"1"`, map[string]any{"email": "new@example.org"}), http.StatusBadRequest, "email")
	assertProblem(t, s.Client.Patch(path, `"1"`, map[string]any{"role": "alumnus"}), http.StatusUnprocessableEntity, "alumnusId")
	resp := s.Client.Patch(path, `"1"`, map[string]any{"role": "viewer"})
	if resp.Status != http.StatusOK || resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("update: %d %s %s", resp.Status, resp.Header.Get("ETag"), resp.Body)
	}
	assertProblem(t, s.Client.Patch(path, `"1"`, map[string]any{"enabled": false}), http.StatusPreconditionFailed, "")
	var got api.User
	s.Client.Get(path, nil).JSON(t, &got)
	if got.Role != api.RoleViewer || !got.Enabled {
		t.Errorf("after one update and a stale one: %+v", got)
	}
}

// The last enabled admin can be neither demoted, disabled nor deleted, by anyone (themselves
// included); a disabled admin does not count.
func TestLastAdminCannotBeRemoved(t *testing.T) {
	s := newServer(t)
	me := whoAmI(t, s.Client)
	path := "/api/v1/users/" + me.User.Id
	postUser(t, s.Client, map[string]any{"email": "dormant-admin@example.org", "role": "admin", "enabled": false})
	before := s.Client.Get(path, nil)
	tag := before.Header.Get("ETag")

	tests := []struct {
		name string
		do   func() *apitest.Response
	}{
		{"demote to staff", func() *apitest.Response { return s.Client.Patch(path, tag, map[string]any{"role": "staff"}) }},
		{"demote to viewer and disable", func() *apitest.Response {
			return s.Client.Patch(path, tag, map[string]any{"role": "viewer", "enabled": false})
		}},
		{"disable", func() *apitest.Response { return s.Client.Patch(path, tag, map[string]any{"enabled": false}) }},
		{"delete", func() *apitest.Response { return s.Client.Delete(path, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, tt.do(), http.StatusConflict, "")
			now := s.Client.Get(path, nil)
			if now.Status != http.StatusOK {
				t.Fatalf("the admin is gone or locked out: %d %s", now.Status, now.Body)
			}
			if diff := cmpJSONRaw(before.Body, now.Body); diff != "" || now.Header.Get("ETag") != tag {
				t.Errorf("the admin changed: %s", diff)
			}
		})
	}
	// A no-op patch of the last admin is fine.
	if r := s.Client.Patch(path, tag, map[string]any{"role": "admin", "enabled": true}); r.Status != http.StatusOK || r.Header.Get("ETag") != tag {
		t.Errorf("no-op patch: %d %s", r.Status, r.Header.Get("ETag"))
	}
	// With a second enabled admin, the first may step down.
	other := postUser(t, s.Client, map[string]any{"email": "second-admin@example.org", "role": "admin"})
	if r := s.Client.Patch(path, tag, map[string]any{"role": "staff"}); r.Status != http.StatusOK {
		t.Fatalf("demote with another admin: %d %s", r.Status, r.Body)
	}
	c2, _ := s.Login(t, "second-admin@example.org", apitest.TestPassword)
	r := c2.Get("/api/v1/users/"+other.Id, nil)
	assertProblem(t, c2.Patch("/api/v1/users/"+other.Id, r.Header.Get("ETag"), map[string]any{"enabled": false}), http.StatusConflict, "")
	assertProblem(t, c2.Delete("/api/v1/users/"+other.Id, ""), http.StatusConflict, "")
	// The demoted admin's session ended with the role change.
	assertProblem(t, s.Client.Get("/api/v1/users", nil), http.StatusUnauthorized, "")
}

func cmpJSONRaw(a, b []byte) string {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return "not JSON"
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	if string(ja) == string(jb) {
		return ""
	}
	return fmt.Sprintf("\n%s\n%s", ja, jb)
}

// Two admins demoting each other at the same moment leave at least one enabled admin.
func TestConcurrentAdminDemotions(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			s := newServer(t)
			a1 := s.Client
			id1 := whoAmI(t, a1).User.Id
			email2 := fmt.Sprintf("admin-two-%d@example.org", round)
			id2 := postUser(t, a1, map[string]any{"email": email2, "role": "admin"}).Id
			a2, _ := s.Login(t, email2, apitest.TestPassword)
			tag1 := a1.Get("/api/v1/users/"+id1, nil).Header.Get("ETag")
			tag2 := a1.Get("/api/v1/users/"+id2, nil).Header.Get("ETag")
			patch := map[string]any{"role": "staff"}
			if round == 2 {
				patch = map[string]any{"enabled": false}
			}

			var statuses [2]int
			var wg sync.WaitGroup
			wg.Go(func() { statuses[0] = a1.Patch("/api/v1/users/"+id2, tag2, patch).Status })
			wg.Go(func() { statuses[1] = a2.Patch("/api/v1/users/"+id1, tag1, patch).Status })
			wg.Wait()

			var admins int
			if err := s.DB.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM users WHERE role = 'admin' AND enabled").Scan(&admins); err != nil {
				t.Fatal(err)
			}
			if admins != 1 {
				t.Errorf("%d enabled admins left (answers %v), want 1", admins, statuses)
			}
			ok := 0
			for _, st := range statuses {
				switch st {
				case http.StatusOK:
					ok++
				case http.StatusConflict, http.StatusUnauthorized, http.StatusServiceUnavailable:
					// refused: last admin, the caller was demoted first, or it lost a lock race
				default:
					t.Errorf("unexpected answer %d (answers %v)", st, statuses)
				}
			}
			if ok != 1 {
				t.Errorf("%d demotions succeeded (answers %v), want exactly 1", ok, statuses)
			}
		})
	}
}

// jwtLifetime returns exp - iat of a JWT, without checking its signature.
func jwtLifetime(t *testing.T, tok string) time.Duration {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Iat, Exp int64
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return time.Duration(claims.Exp-claims.Iat) * time.Second
}

func putSettings(c *apitest.Client, ifMatch string, body any) *apitest.Response {
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return c.Do(apitest.Request{Method: http.MethodPut, Path: "/api/v1/settings", Body: body, Header: h})
}

func TestSettings(t *testing.T) {
	s := newServer(t)
	staff := s.As(t, auth.RoleStaff)

	resp := staff.Get("/api/v1/settings", nil)
	if resp.Status != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Fatalf("staff get: %d %v", resp.Status, resp.Header)
	}
	var cur api.Settings
	resp.JSON(t, &cur)
	tag := resp.Header.Get("ETag")
	if cur.AccessTokenMinutes != 15 || cur.DefaultDirectoryConsent {
		t.Errorf("defaults: %+v", cur)
	}
	with := func(change func(*api.Settings)) api.Settings {
		next := cur
		change(&next)
		return next
	}

	assertProblem(t, putSettings(staff, tag, cur), http.StatusForbidden, "")
	assertProblem(t, putSettings(s.Client, "", cur), http.StatusPreconditionRequired, "")
	assertProblem(t, putSettings(s.Client, `"0123456789abcdef"`, cur), http.StatusPreconditionFailed, "")
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"token minutes below range", with(func(s *api.Settings) { s.AccessTokenMinutes = 1 }), 400, "accessTokenMinutes"},
		{"token minutes above range", with(func(s *api.Settings) { s.AccessTokenMinutes = 61 }), 400, "accessTokenMinutes"},
		{"idle longer than absolute", with(func(s *api.Settings) { s.RefreshIdleHours, s.RefreshAbsoluteDays = 49, 2 }), 422, "refreshIdleHours"},
		{"blank organization", with(func(s *api.Settings) { s.OrganizationName = "   " }), 422, "organizationName"},
		{"empty organization", with(func(s *api.Settings) { s.OrganizationName = "" }), 400, "organizationName"},
		{"missing field", map[string]any{"organizationName": "X"}, 400, "defaultDirectoryConsent"},
		{"unknown field", map[string]any{"organizationName": "X", "defaultDirectoryConsent": false, "accessTokenMinutes": 15,
			"refreshIdleHours": 24, "refreshAbsoluteDays": 30, "inviteValidityDays": 14, "debug": true}, 400, "debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, putSettings(s.Client, tag, tt.body), tt.status, tt.field)
		})
	}
	if r := staff.Get("/api/v1/settings", nil); r.Header.Get("ETag") != tag {
		t.Fatalf("refused changes changed the settings: %s", r.Body)
	}

	next := with(func(s *api.Settings) {
		s.AccessTokenMinutes, s.DefaultDirectoryConsent, s.OrganizationName = 5, true, "Example Alumni"
	})
	resp = putSettings(s.Client, tag, next)
	if resp.Status != http.StatusOK {
		t.Fatalf("put: %d %s", resp.Status, resp.Body)
	}
	newTag := resp.Header.Get("ETag")
	var stored api.Settings
	resp.JSON(t, &stored)
	if newTag == tag || !reflect.DeepEqual(stored, next) {
		t.Errorf("put answered %s %+v", newTag, stored)
	}
	// A shorter token lifetime takes effect at once: tokens issued for the old, longer one are
	// refused (SECURITY.md), and signing in again (or a refresh) gets a token of the new one.
	assertProblem(t, staff.Get("/api/v1/settings", nil), http.StatusUnauthorized, "")
	staff, s.Client = s.As(t, auth.RoleStaff), s.As(t, auth.RoleAdmin)
	if r := staff.Get("/api/v1/settings", nil); r.Header.Get("ETag") != newTag {
		t.Errorf("GET ETag %s differs from PUT's %s", r.Header.Get("ETag"), newTag)
	}
	assertProblem(t, putSettings(s.Client, tag, cur), http.StatusPreconditionFailed, "")
	assertProblem(t, putSettings(s.Client, "W/"+newTag, cur), http.StatusPreconditionFailed, "")

	// If-Match works as on records and users (RFC 9110 13.1.1): "*" and a list naming the
	// current tag match.
	t.Run("If-Match wildcard and list", func(t *testing.T) {
		r := putSettings(s.Client, `*`, with(func(s *api.Settings) { s.AccessTokenMinutes, s.DefaultDirectoryConsent = 5, false }))
		if r.Status != http.StatusOK {
			t.Fatalf("If-Match *: %d %s", r.Status, r.Body)
		}
		r = putSettings(s.Client, `"0000", `+r.Header.Get("ETag"), next)
		if r.Status != http.StatusOK || r.Header.Get("ETag") != newTag {
			t.Fatalf("If-Match list: %d %s", r.Status, r.Body)
		}
	})

	t.Run("token lifetime applies to the next sign-in", func(t *testing.T) {
		_, tok := s.Login(t, s.CreateUser(t, auth.RoleViewer, ""), apitest.TestPassword)
		if tok.ExpiresIn != 300 {
			t.Errorf("expiresIn = %d, want 300", tok.ExpiresIn)
		}
		if got := jwtLifetime(t, tok.AccessToken); got != 5*time.Minute {
			t.Errorf("the token lives %v, want 5m", got)
		}
	})
	t.Run("default directory consent applies to new records", func(t *testing.T) {
		a, _ := create(t, s.Client, map[string]any{"firstName": "Default", "lastName": "Consent"})
		if !a.DirectoryConsent {
			t.Errorf("record created without directoryConsent got false")
		}
		b, _ := create(t, s.Client, map[string]any{"firstName": "Explicit", "lastName": "Refusal", "directoryConsent": false})
		if b.DirectoryConsent {
			t.Errorf("explicit directoryConsent false was overridden")
		}
	})
	// adminsRequireTotp is optional in a PUT: left out, it is on (the default). (The test
	// server turned it off; TestTOTPRequiredForAdmins tests what it does.)
	t.Run("adminsRequireTotp left out is on", func(t *testing.T) {
		r := s.Client.Get("/api/v1/settings", nil)
		var got api.Settings
		r.JSON(t, &got)
		if got.AdminsRequireTotp == nil || *got.AdminsRequireTotp {
			t.Fatalf("test server's adminsRequireTotp: %s", r.Body)
		}
		got.AdminsRequireTotp = nil
		r = putSettings(s.Client, r.Header.Get("ETag"), got)
		r.JSON(t, &got)
		if r.Status != http.StatusOK || got.AdminsRequireTotp == nil || !*got.AdminsRequireTotp {
			t.Errorf("put without adminsRequireTotp: %d %s", r.Status, r.Body)
		}
	})
}

// Every list's cursor is bound to the filters it was made with, not only the alumni list's.
func TestListCursorsAreBoundToTheirFilter(t *testing.T) {
	s := newServer(t)
	s.CreateUser(t, auth.RoleStaff, "")
	s.CreateUser(t, auth.RoleStaff, "")
	for _, tt := range []struct{ first, other string }{
		{"/api/v1/users?limit=1&role=staff", "/api/v1/users?limit=1&role=viewer"},
		{"/api/v1/audit-events?limit=1&action=user.create", "/api/v1/audit-events?limit=1&action=session.login"},
	} {
		var first struct{ NextCursor *string }
		resp := s.Client.Get(tt.first, nil)
		resp.JSON(t, &first)
		if resp.Status != http.StatusOK || first.NextCursor == nil {
			t.Fatalf("%s: %d, next cursor %v", tt.first, resp.Status, first.NextCursor)
		}
		cur := "&cursor=" + url.QueryEscape(*first.NextCursor)
		if r := s.Client.Get(tt.first+cur, nil); r.Status != http.StatusOK {
			t.Errorf("%s with its own cursor: %d %s", tt.first, r.Status, r.Body)
		}
		assertProblem(t, s.Client.Get(tt.other+cur, nil), http.StatusBadRequest, "cursor")
	}
}
