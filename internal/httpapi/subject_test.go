package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

func subjectPath(id string) string { return "/api/v1/alumni/" + id + "/subject-data" }

func subjectData(t *testing.T, c *apitest.Client, path string) (api.SubjectData, *apitest.Response) {
	t.Helper()
	resp := mustStatus(t, c.Get(path, nil), http.StatusOK)
	var d api.SubjectData
	resp.JSON(t, &d)
	return d, resp
}

// claim invites the person of record id and accepts the invitation: a user linked to the
// record, signed in.
func claim(t *testing.T, s *apitest.Server, id string) (*apitest.Client, api.Tokens) {
	t.Helper()
	var inv api.Invite
	mustStatus(t, s.Client.Post("/api/v1/alumni/"+id+"/invites", map[string]any{}), http.StatusCreated).JSON(t, &inv)
	var tok api.Tokens
	mustStatus(t, s.Anon.Post("/api/v1/auth/accept-invite", map[string]string{"token": inv.Token, "password": "purple otter reads maps at dawn"}),
		http.StatusOK).JSON(t, &tok)
	return s.Anon.WithToken(tok.AccessToken), tok
}

// The access document holds everything about the person — the whole record (the office's
// notes and tags too), the consent history, the events about them, their account, sessions
// and invitations — and no secret; the admin and the person read the same document, and each
// read is audited.
func TestSubjectDataHoldsEverythingAndNoSecret(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	rec, _ := create(t, admin, map[string]any{"firstName": "Ada", "lastName": "King", "email": "ada@example.org",
		"tags": []any{"donor"}, "notes": "office only", "directoryConsent": true,
		"degrees": []any{map[string]any{"degree": "BSc", "program": "Mathematics", "graduationYear": 2008}}})
	other, _ := create(t, admin, map[string]any{"firstName": "Bob", "lastName": "Baker", "email": "bob@example.org"})
	ada, tok := claim(t, s, rec.Id)
	_, tag := getAlumnus(t, ada, rec.Id)
	mustStatus(t, ada.Patch("/api/v1/alumni/"+rec.Id, tag, map[string]any{"directoryConsent": false}), http.StatusOK)
	claim(t, s, other.Id) // another person's events stay out

	d, resp := subjectData(t, admin, subjectPath(rec.Id))
	if d.Alumnus.Id != rec.Id || deref(d.Alumnus.Notes) != "office only" || d.Alumnus.Tags == nil || len(*d.Alumnus.Tags) != 1 ||
		len(d.Alumnus.Degrees) != 1 || d.Alumnus.DirectoryConsent || d.Alumnus.Withheld != nil {
		t.Errorf("record: %+v", d.Alumnus)
	}
	var consent []string
	for _, c := range d.ConsentHistory.Items {
		consent = append(consent, string(c.Source))
	}
	if !slices.Equal(consent, []string{"staff", "self-service"}) {
		t.Errorf("consent history sources %v", consent)
	}
	me := whoAmI(t, ada).User
	if d.User == nil || d.User.Id != me.Id || string(d.User.Email) != "ada@example.org" || deref(d.User.AlumnusId) != rec.Id {
		t.Errorf("user: %+v", d.User)
	}
	if len(d.Sessions) != 1 || d.Sessions[0].Id != deref(whoAmISession(t, ada)) || d.Sessions[0].EndedAt != nil {
		t.Errorf("sessions: %+v", d.Sessions)
	}
	if len(d.Invites) != 1 || d.Invites[0].AcceptedAt == nil || len(d.Identities) != 0 {
		t.Errorf("invites %+v, identities %+v", d.Invites, d.Identities)
	}
	got := actions(d.AuditEvents.Items)
	for _, want := range []string{"alumnus.create", "alumnus.update", "invite.create", "invite.accept", "user.create"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit events %v lack %s", got, want)
		}
	}
	for _, e := range d.AuditEvents.Items {
		if deref(e.EntityId) == other.Id || (e.Actor != nil && e.Actor.Id != me.Id && e.Actor.Role == api.RoleAlumnus) {
			t.Errorf("an event of another person: %+v", e)
		}
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, "argon2id", "password\"", "secret", "recovery"} {
		if strings.Contains(string(resp.Body), secret) {
			t.Errorf("the document holds %q", secret)
		}
	}

	// The person reads the same document of themself.
	mine, _ := subjectData(t, ada, "/api/v1/me/data")
	if mine.Alumnus.Id != rec.Id || deref(mine.Alumnus.Notes) != "office only" || len(mine.AuditEvents.Items) < len(d.AuditEvents.Items) {
		t.Errorf("own document: %+v", mine.Alumnus)
	}
	// Both reads are in the trail, with who read.
	var readers []string
	for _, e := range auditAll(t, admin, "action=alumnus.access_export&entityType=alumnus&entityId="+rec.Id) {
		readers = append(readers, string(e.Actor.Role))
	}
	if !slices.Equal(readers, []string{"alumnus", "admin"}) {
		t.Errorf("access_export events by %v, want alumnus then admin (newest first)", readers)
	}

	// A record in the trash is still held: its document is still there; a record without an
	// account has none.
	mustStatus(t, admin.Delete("/api/v1/alumni/"+rec.Id, ""), http.StatusNoContent)
	if d, _ := subjectData(t, admin, subjectPath(rec.Id)); d.Alumnus.DeletedAt == nil {
		t.Errorf("trashed record: %+v", d.Alumnus)
	}
	lone, _ := create(t, admin, map[string]any{"firstName": "Lone", "lastName": "Record"})
	if d, _ := subjectData(t, admin, subjectPath(lone.Id)); d.User != nil || len(d.Sessions) != 0 || len(d.AuditEvents.Items) != 1 {
		t.Errorf("record without an account: user %+v, sessions %+v, events %v", d.User, d.Sessions, actions(d.AuditEvents.Items))
	}
}

func whoAmISession(t *testing.T, c *apitest.Client) *string {
	t.Helper()
	s := whoAmI(t, c).SessionId
	return &s
}

// Only admins read anyone's document; an alumnus reads only their own, through /me/data.
func TestSubjectDataAccess(t *testing.T) {
	s := newServer(t)
	own, _ := create(t, s.Client, map[string]any{"firstName": "Own", "lastName": "Record"})
	listed, _ := create(t, s.Client, map[string]any{"firstName": "Listed", "lastName": "Record", "directoryConsent": true})
	alumnus := s.AsAlumnus(t, own.Id)
	for _, c := range []*apitest.Client{alumnus, s.As(t, auth.RoleStaff), s.As(t, auth.RoleViewer)} {
		assertProblem(t, c.Get(subjectPath(listed.Id), nil), http.StatusForbidden, "")
	}
	assertProblem(t, alumnus.Get(subjectPath(own.Id), nil), http.StatusForbidden, "") // their own too: /me/data is theirs
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleStaff, auth.RoleViewer} {
		assertProblem(t, s.As(t, role).Get("/api/v1/me/data", nil), http.StatusForbidden, "")
	}
	if d, _ := subjectData(t, alumnus, "/api/v1/me/data"); d.Alumnus.Id != own.Id {
		t.Errorf("/me/data of another record: %s", d.Alumnus.Id)
	}
	assertProblem(t, s.Client.Get(subjectPath("01JD3M5X7V8Q9R2S4T6W8Y0Z1A"), nil), http.StatusNotFound, "")
}

// The audit events are paged inside the document: 200 a document, newest first, the next ones
// with the cursor, none twice or left out; the cursor is bound to the person.
func TestSubjectDataPagesAuditEvents(t *testing.T) {
	s := newServer(t)
	rec, _ := create(t, s.Client, map[string]any{"firstName": "Busy", "lastName": "Person"})
	other, _ := create(t, s.Client, map[string]any{"firstName": "Other", "lastName": "Person"})
	if _, err := s.DB.Exec(`INSERT INTO audit_events (occurred_at, action, entity_type, entity_id, changes)
		WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
		SELECT NOW(6), 'alumnus.update', 'alumnus', ?, '[{"field":"notes","after":"x"}]' FROM n`, rec.Id); err != nil {
		t.Fatal(err)
	}
	var want int
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM audit_events WHERE entity_type = 'alumnus' AND entity_id = ?", rec.Id).Scan(&want); err != nil {
		t.Fatal(err)
	}
	first, _ := subjectData(t, s.Client, subjectPath(rec.Id))
	if len(first.AuditEvents.Items) != 200 || first.AuditEvents.NextCursor == nil {
		t.Fatalf("first document: %d events, next %v", len(first.AuditEvents.Items), first.AuditEvents.NextCursor)
	}
	cursor := url.QueryEscape(*first.AuditEvents.NextCursor)
	second, _ := subjectData(t, s.Client, subjectPath(rec.Id)+"?cursor="+cursor)
	if second.AuditEvents.NextCursor != nil {
		t.Errorf("second document has a next cursor")
	}
	all := append(eventIDs(first.AuditEvents.Items), eventIDs(second.AuditEvents.Items)...)
	// The first read's own access_export event came after the cursor's position: not in the second.
	if len(all) != want || len(slices.Compact(slices.Clone(all))) != want {
		t.Errorf("%d events in two documents (%d distinct), want %d", len(all), len(slices.Compact(slices.Clone(all))), want)
	}
	tests := []struct {
		name, path, field string
	}{
		{"not a cursor", subjectPath(rec.Id) + "?cursor=bm90IGEgY3Vyc29y", "cursor"},
		{"another person's cursor", subjectPath(other.Id) + "?cursor=" + cursor, "cursor"},
		{"empty cursor", subjectPath(rec.Id) + "?cursor=", "cursor"},
		{"bad id", subjectPath("not-an-id"), "alumnusId"},
		{"unknown parameter", subjectPath(rec.Id) + "?limit=10", "limit"},
		{"unknown parameter of /me/data", "/api/v1/me/data?limit=10", "limit"},
	}
	alumnus := s.AsAlumnus(t, other.Id)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.Client
			if strings.HasPrefix(tt.path, "/api/v1/me/") {
				c = alumnus
			}
			assertProblem(t, c.Get(tt.path, nil), http.StatusBadRequest, tt.field)
		})
	}
}
