package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

func consentPath(id string) string { return "/api/v1/alumni/" + id + "/consent-history" }

// consentHistory returns the whole consent history of record id as c reads it, a page of two
// at a time.
func consentHistory(t *testing.T, c *apitest.Client, id string) []api.ConsentChange {
	t.Helper()
	items, _, _ := apitest.Walk[api.ConsentChange](t, c, consentPath(id), "", 2)
	return items
}

// consentEntry is what a test compares of a consent change.
type consentEntry struct {
	Field  api.ConsentField
	Value  bool
	Source api.ConsentChangeSource
	Actor  string // user id, "" for none
}

func consentEntries(changes []api.ConsentChange) []consentEntry {
	out := make([]consentEntry, len(changes))
	for i, c := range changes {
		out[i] = consentEntry{Field: c.Field, Value: c.Value, Source: c.Source}
		if c.Actor != nil {
			out[i].Actor = c.Actor.Id
		}
	}
	return out
}

// The consent history follows every way consent changes — a create, the office's edit, the
// alumnus' own, an import — with who and from where, and nothing else: an edit of another
// field, a dry run and an import that changes other fields write no row.
func TestConsentHistoryFollowsEveryChange(t *testing.T) {
	s := newServer(t)
	admin := s.Client
	adminID := whoAmI(t, admin).User.Id
	staff := s.As(t, auth.RoleStaff)
	staffID := whoAmI(t, staff).User.Id

	a, _ := create(t, admin, map[string]any{"firstName": "Ada", "lastName": "King", "studentId": "S1",
		"directoryConsent": true, "contactPermissions": map[string]any{"doNotPhone": true}})
	quiet, _ := create(t, admin, map[string]any{"firstName": "Quiet", "lastName": "Record", "directoryConsent": false})
	if got := consentHistory(t, admin, quiet.Id); len(got) != 0 {
		t.Errorf("a record created without consent or flags has history: %+v", got)
	}

	// The office edits another field: nothing; then a flag.
	_, tag := getAlumnus(t, staff, a.Id)
	tag = mustStatus(t, staff.Patch("/api/v1/alumni/"+a.Id, tag, map[string]any{"notes": "called"}), http.StatusOK).Header.Get("ETag")
	mustStatus(t, staff.Patch("/api/v1/alumni/"+a.Id, tag, map[string]any{"contactPermissions": map[string]any{"doNotEmail": true}}), http.StatusOK)

	// The alumnus withdraws directory consent and lifts the phone flag.
	self := s.AsAlumnus(t, a.Id)
	selfID := whoAmI(t, self).User.Id
	_, tag = getAlumnus(t, self, a.Id)
	mustStatus(t, self.Patch("/api/v1/alumni/"+a.Id, tag, map[string]any{"directoryConsent": false,
		"contactPermissions": map[string]any{"doNotPhone": false}}), http.StatusOK)

	// Imports: a dry run writes nothing; an apply that sets a job title writes nothing; one that
	// gives consent writes it, by the uploader.
	runImport(t, admin, "dry_run", "studentId,directoryConsent\nS1,yes\n")
	runImport(t, admin, "apply", "studentId,employment.jobTitle\nS1,Programmer\n")
	runImport(t, admin, "apply", "studentId,directoryConsent\nS1,yes\n")

	want := []consentEntry{
		{api.ConsentFieldDirectoryConsent, true, api.ConsentChangeSourceStaff, adminID},
		{api.ConsentFieldContactPermissionsDoNotPhone, true, api.ConsentChangeSourceStaff, adminID},
		{api.ConsentFieldContactPermissionsDoNotEmail, true, api.ConsentChangeSourceStaff, staffID},
		{api.ConsentFieldDirectoryConsent, false, api.ConsentChangeSourceSelfService, selfID},
		{api.ConsentFieldContactPermissionsDoNotPhone, false, api.ConsentChangeSourceSelfService, selfID},
		{api.ConsentFieldDirectoryConsent, true, api.ConsentChangeSourceImport, adminID},
	}
	got := consentHistory(t, admin, a.Id)
	if diff := cmp.Diff(want, consentEntries(got)); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ChangedAt.Before(got[i-1].ChangedAt) {
			t.Errorf("history not oldest first: %v before %v", got[i].ChangedAt, got[i-1].ChangedAt)
		}
	}
	// The alumnus reads the same history of their own record, and staff do.
	if diff := cmp.Diff(got, consentHistory(t, self, a.Id)); diff != "" {
		t.Errorf("the alumnus reads another history (-admin +alumnus):\n%s", diff)
	}
	if diff := cmp.Diff(got, consentHistory(t, staff, a.Id)); diff != "" {
		t.Errorf("staff read another history (-admin +staff):\n%s", diff)
	}

	// A record in the trash keeps its history; the import's new record has the consent it gave.
	mustStatus(t, admin.Delete("/api/v1/alumni/"+a.Id, ""), http.StatusNoContent)
	if n := len(consentHistory(t, admin, a.Id)); n != len(want) {
		t.Errorf("history of a record in the trash: %d changes, want %d", n, len(want))
	}
	runImport(t, admin, "apply", "studentId,firstName,lastName,directoryConsent,contactPermissions.doNotSms\nS9,New,Person,no,yes\n")
	created := alumniByStudentID(t, admin)["S9"]
	if diff := cmp.Diff([]consentEntry{{api.ConsentFieldContactPermissionsDoNotSms, true, api.ConsentChangeSourceImport, adminID}},
		consentEntries(consentHistory(t, admin, created.Id))); diff != "" {
		t.Errorf("history of an imported record (-want +got):\n%s", diff)
	}
}

// Who may read which history: the office any record's, an alumnus only their own (another
// record is as unknown as an id that does not exist, even one in the directory), viewers none.
func TestConsentHistoryAccess(t *testing.T) {
	s := newServer(t)
	own, _ := create(t, s.Client, map[string]any{"firstName": "Own", "lastName": "Record", "directoryConsent": true})
	listed, _ := create(t, s.Client, map[string]any{"firstName": "Listed", "lastName": "Record", "directoryConsent": true})
	alumnus := s.AsAlumnus(t, own.Id)
	const unknown = "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"

	notFound := assertProblem(t, alumnus.Get(consentPath(unknown), nil), http.StatusNotFound, "")
	other := assertProblem(t, alumnus.Get(consentPath(listed.Id), nil), http.StatusNotFound, "")
	if deref(other.Detail) != deref(notFound.Detail) {
		t.Errorf("another's history answers %q, an unknown id %q: the answer tells the record exists", deref(other.Detail), deref(notFound.Detail))
	}
	assertProblem(t, s.As(t, auth.RoleViewer).Get(consentPath(listed.Id), nil), http.StatusForbidden, "")
	assertProblem(t, s.Client.Get(consentPath(unknown), nil), http.StatusNotFound, "")
	mustStatus(t, alumnus.Get(consentPath(own.Id), nil), http.StatusOK)
	mustStatus(t, s.As(t, auth.RoleStaff).Get(consentPath(listed.Id), nil), http.StatusOK)
}

func TestConsentHistoryRejectsBadInput(t *testing.T) {
	s := newServer(t)
	a, _ := create(t, s.Client, map[string]any{"firstName": "Ada", "lastName": "King", "directoryConsent": true,
		"contactPermissions": map[string]any{"doNotMail": true, "doNotSms": true}})
	b, _ := create(t, s.Client, map[string]any{"firstName": "Bob", "lastName": "Baker", "directoryConsent": true,
		"contactPermissions": map[string]any{"doNotMail": true, "doNotSms": true}})
	var first api.ConsentChangePage
	mustStatus(t, s.Client.Get(consentPath(b.Id)+"?limit=1", nil), http.StatusOK).JSON(t, &first)
	if first.NextCursor == nil {
		t.Fatalf("no next page: %+v", first)
	}
	tests := []struct {
		name, path, field string
	}{
		{"limit 0", consentPath(a.Id) + "?limit=0", "limit"},
		{"limit too large", consentPath(a.Id) + "?limit=201", "limit"},
		{"not a cursor", consentPath(a.Id) + "?cursor=bm90IGEgY3Vyc29y", "cursor"},
		{"another record's cursor", consentPath(a.Id) + "?cursor=" + url.QueryEscape(*first.NextCursor), "cursor"},
		{"bad id", consentPath("not-an-id"), "alumnusId"},
		{"unknown parameter", consentPath(a.Id) + "?since=2026-01-01", "since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertProblem(t, s.Client.Get(tt.path, nil), http.StatusBadRequest, tt.field)
		})
	}
}
