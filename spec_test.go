package alumnid_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/alumnid/alumnid"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/httpapi"
)

// TestContract lints openapi.yaml beyond what kin-openapi's validation checks: the house rules
// every operation and schema of the contract follows. Among them: every parameter, request body
// and response body has an example, because Swagger UI at /docs shows them and pre-fills "Try it
// out" with them, and client authors read them.
func TestContract(t *testing.T) {
	doc, err := httpapi.LoadSpec(alumnid.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi version %s, want 3.0.3 (oapi-codegen does not support 3.1)", doc.OpenAPI)
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
	}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") && !strings.HasPrefix(path, "/.well-known/") {
			t.Errorf("%s: every operation lives under /api/v1 (or /.well-known)", path)
		}
		for method, op := range item.Operations() {
			name := method + " " + path
			checkOperation(t, name, op, tags)
			checkPermissions(t, name, doc, op)
			if ids[op.OperationID] {
				t.Errorf("%s: operationId %s is used twice", name, op.OperationID)
			}
			ids[op.OperationID] = true
		}
	}

	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		checkClosed(t, "#/components/schemas/"+name, doc.Components.Schemas[name].Value, map[*openapi3.Schema]bool{})
	}
}

// TestContractAuditActions: the contract's AuditEvent.action lists exactly the actions the
// trail may record (audit.Record refuses any other). The description writes them as
// `entity.verb|verb`.
func TestContractAuditActions(t *testing.T) {
	doc, err := httpapi.LoadSpec(alumnid.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	desc := doc.Components.Schemas["AuditEvent"].Value.Properties["action"].Value.Description
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+)\\.([a-z_|]+)`").FindAllStringSubmatch(desc, -1) {
		for _, verb := range strings.Split(m[2], "|") {
			documented[m[1]+"."+verb] = true
		}
	}
	for _, a := range audit.Actions {
		if !documented[a] {
			t.Errorf("the trail records %s, which the contract's AuditEvent.action does not list", a)
		}
		delete(documented, a)
	}
	for a := range documented {
		t.Errorf("the contract lists the audit action %s, which is never recorded", a)
	}
}

func checkOperation(t *testing.T, name string, op *openapi3.Operation, tags map[string]bool) {
	t.Helper()
	if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
		t.Errorf("%s: needs an operationId, a summary and a tag", name)
	}
	for _, tag := range op.Tags {
		if !tags[tag] {
			t.Errorf("%s: tag %q is not declared at the top level", name, tag)
		}
	}
	for _, ref := range op.Parameters {
		p := ref.Value
		if ref.Ref == "#/components/parameters/Cursor" {
			// The one exception: a cursor is opaque and bound to the list's filters, so only a
			// previous page's nextCursor works. Swagger UI pre-fills "Try it out" with a
			// parameter's example, and any example cursor would turn the first call into a 400.
			continue
		}
		if p.Example == nil && len(p.Examples) == 0 && (p.Schema == nil || p.Schema.Value.Example == nil) {
			t.Errorf("%s: %s parameter %q has no example", name, p.In, p.Name)
		}
	}
	if op.RequestBody != nil {
		for ct, media := range op.RequestBody.Value.Content {
			if !hasExample(media) {
				t.Errorf("%s: request body %s has no example", name, ct)
			}
		}
	}
	has4xx, has500 := false, false
	for code, ref := range op.Responses.Map() {
		resp := ref.Value
		switch {
		case code == "500":
			has500 = true
		case strings.HasPrefix(code, "4"):
			has4xx = true
		}
		for ct, media := range resp.Content {
			if !hasExample(media) {
				t.Errorf("%s: response %s %s has no example", name, code, ct)
			}
			if code >= "400" && (ct != "application/problem+json" || media.Schema.Ref != "#/components/schemas/Problem") {
				t.Errorf("%s: error response %s must be application/problem+json with the Problem schema", name, code)
			}
		}
		if code >= "400" && ref.Ref == "" {
			t.Errorf("%s: error response %s should reference #/components/responses", name, code)
		}
	}
	if !has4xx || !has500 {
		t.Errorf("%s: must document its client errors and 500", name)
	}
}

// hasExample reports whether a request or response body shows Swagger UI and client authors
// what it looks like: an example or named examples on the media type, or an example on the
// schema itself (a binary download's schema carries none, so it needs one on the media type).
func hasExample(media *openapi3.MediaType) bool {
	if media.Example != nil || len(media.Examples) > 0 {
		return true
	}
	return media.Schema != nil && media.Schema.Value != nil && media.Schema.Value.Example != nil
}

// checkPermissions requires every operation to say who may call it: either it is public
// (security: []) or it needs a bearer token and lists the allowed roles in x-roles. Operations
// that need a token document 401, and those not open to every role document 403.
func checkPermissions(t *testing.T, name string, doc *openapi3.T, op *openapi3.Operation) {
	t.Helper()
	roles := doc.Components.Schemas["Role"].Value.Enum
	public := op.Security != nil && len(*op.Security) == 0
	raw, hasRoles := op.Extensions["x-roles"]
	if public {
		if hasRoles {
			t.Errorf("%s: a public operation (security: []) must not list x-roles", name)
		}
		return
	}
	if op.Security == nil && len(doc.Security) == 0 {
		t.Errorf("%s: needs a security requirement", name)
	}
	list, ok := raw.([]any)
	if !hasRoles || !ok || len(list) == 0 {
		t.Errorf("%s: must list the roles that may call it in x-roles", name)
		return
	}
	for _, r := range list {
		known := false
		for _, e := range roles {
			known = known || e == r
		}
		if !known {
			t.Errorf("%s: x-roles names unknown role %v", name, r)
		}
	}
	if op.Responses.Value("401") == nil {
		t.Errorf("%s: needs a token, so it must document 401", name)
	}
	if len(list) < len(roles) && op.Responses.Value("403") == nil {
		t.Errorf("%s: is not open to every role, so it must document 403", name)
	}
}

// checkClosed requires additionalProperties: false on every object schema, so unknown
// properties are rejected and misspelt fields never pass silently.
func checkClosed(t *testing.T, where string, s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	t.Helper()
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.Type.Is("object") {
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s: object schemas must set additionalProperties: false", where)
		}
	}
	for name, p := range s.Properties {
		checkClosed(t, fmt.Sprintf("%s.%s", where, name), p.Value, seen)
	}
	if s.Items != nil {
		checkClosed(t, where+"[]", s.Items.Value, seen)
	}
	for i, sub := range append(append(s.AllOf, s.OneOf...), s.AnyOf...) {
		checkClosed(t, fmt.Sprintf("%s/%d", where, i), sub.Value, seen)
	}
}
