package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/duplicates"
)

// mergeReq posts a merge of absorbed into survivor with the two ETags and optional fields.
func mergeReq(c *apitest.Client, survivor, ifMatch, absorbed, absorbedETag string, fields map[string]any) *apitest.Response {
	body := map[string]any{"absorb": absorbed, "absorbedETag": absorbedETag}
	if fields != nil {
		body["fields"] = fields
	}
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return c.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni/" + survivor + "/merge", Body: body, Header: h})
}

func merged(t *testing.T, resp *apitest.Response) api.MergeResult {
	t.Helper()
	if resp.Status != http.StatusOK {
		t.Fatalf("merge: %d %s", resp.Status, resp.Body)
	}
	var out api.MergeResult
	resp.JSON(t, &out)
	return out
}

// survivorAndTwin are two records of one person, entered by the registrar and at an event.
// The twin has studentId twinID when it is not "" (two records with different student ids
// are never a likely pair: two registrar records are two students).
func survivorAndTwin(t *testing.T, c *apitest.Client, twinID ...string) (api.Alumnus, string, api.Alumnus, string) {
	t.Helper()
	s, sTag := create(t, c, map[string]any{
		"studentId": "S2004-0042", "firstName": "Augusta Ada", "lastName": "King", "email": "ada.lovelace@example.org",
		"degrees": []any{
			map[string]any{"degree": "BSc", "program": "Mathematics", "graduationYear": 2008, "primary": true},
		},
		"tags": []any{"mentor"}, "directoryConsent": true,
		"contactPermissions": map[string]any{"doNotPhone": true},
	})
	twin := map[string]any{
		"firstName": "Ada", "lastName": "King", "email": "ada.lovelace+events@example.org",
		"workEmail": "ada@engines.example", "phone": "+44 20 7946 0958",
		"address":    map[string]any{"city": "London", "country": "GB"},
		"employment": map[string]any{"employer": "Analytical Engines Ltd"},
		"degrees": []any{
			map[string]any{"degree": "bsc", "program": "mathematics", "graduationYear": 2008, "primary": true},
			map[string]any{"degree": "MSc", "program": "Computing", "graduationYear": 2012},
		},
		"tags": []any{"Mentor", "donor"}, "directoryConsent": false,
		"contactPermissions": map[string]any{"doNotMail": true},
	}
	if len(twinID) > 0 {
		twin["studentId"] = twinID[0]
	}
	a, aTag := create(t, c, twin)
	return s, sTag, a, aTag
}

// TestMergeUnitesTwoRecords: the survivor rules, the ETag, the absorbed id's redirect and 409s,
// the audit events, and the pair leaving the queue.
func TestMergeUnitesTwoRecords(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c)
	pair := duplicates.PairID(sur.Id, abs.Id)
	eventually(t, "the pair reaches the queue", func() bool { return slices.Contains(pairIDs(queue(t, c, "open")), pair) })

	resp := mergeReq(c, sur.Id, surTag, abs.Id, absTag, nil)
	got := merged(t, resp)
	if got.Merge.SurvivorId != sur.Id || got.Merge.AbsorbedId != abs.Id || got.Merge.Id == "" || got.Merge.UndoneAt != nil ||
		deref(got.Merge.MergedBy) != whoAmI(t, c).User.Id {
		t.Errorf("merge = %+v", got.Merge)
	}
	m := got.Survivor
	if resp.Header.Get("ETag") != `"2"` {
		t.Errorf("ETag = %q, want \"2\"", resp.Header.Get("ETag"))
	}
	// The survivor's values stay; the gaps are filled from the absorbed record.
	if m.Id != sur.Id || deref(m.StudentId) != "S2004-0042" || m.FirstName != "Augusta Ada" ||
		string(deref(m.Email)) != "ada.lovelace@example.org" || string(deref(m.WorkEmail)) != "ada@engines.example" ||
		deref(m.Phone) != "+44 20 7946 0958" || deref(deref(m.Address).City) != "London" ||
		deref(deref(m.Employment).Employer) != "Analytical Engines Ltd" {
		t.Errorf("survivor = %+v", m)
	}
	// Degrees united without repeats, the survivor's primary staying primary; tags united.
	type deg struct {
		Degree, Program string
		Year            int
		Primary         bool
	}
	var degrees []deg
	for _, d := range m.Degrees {
		degrees = append(degrees, deg{d.Degree, d.Program, d.GraduationYear, deref(d.Primary)})
	}
	if diff := cmp.Diff([]deg{{"BSc", "Mathematics", 2008, true}, {"MSc", "Computing", 2012, false}}, degrees); diff != "" {
		t.Errorf("degrees (-want +got):\n%s", diff)
	}
	if tags := deref(m.Tags); !slices.Equal(tags, []string{"donor", "mentor"}) {
		t.Errorf("tags = %v, want donor, mentor", tags)
	}
	// The more restrictive consent and permissions.
	if m.DirectoryConsent {
		t.Error("directory consent: the absorbed record did not consent, the result must not")
	}
	if cp := deref(m.ContactPermissions); !deref(cp.DoNotPhone) || !deref(cp.DoNotMail) || deref(cp.DoNotEmail) {
		t.Errorf("contact permissions = %+v, want doNotPhone and doNotMail", cp)
	}

	// The consent history of the survivor tells what the merge changed, from where.
	history := consentHistory(t, c, sur.Id)
	var fromMerge []string
	for _, h := range history {
		if h.Source == "merge" {
			fromMerge = append(fromMerge, fmt.Sprintf("%s=%v", h.Field, h.Value))
		}
	}
	if want := []string{"contactPermissions.doNotMail=true", "directoryConsent=false"}; !slices.Equal(sortedCopy(fromMerge...), want) {
		t.Errorf("consent changes by the merge = %v, want %v", fromMerge, want)
	}

	// The absorbed id: 308 to the survivor (followed by clients), 409 to changes.
	direct := c.NoRedirects().Get("/api/v1/alumni/"+abs.Id, nil)
	p := assertProblem(t, direct, http.StatusPermanentRedirect, "")
	if loc := direct.Header.Get("Location"); loc != "/api/v1/alumni/"+sur.Id || deref(p.SurvivorId) != sur.Id {
		t.Errorf("308: Location %q, problem %+v", loc, p)
	}
	if followed, _ := getAlumnus(t, c, abs.Id); followed.Id != sur.Id {
		t.Errorf("following the redirect gives %s, want the survivor %s", followed.Id, sur.Id)
	}
	if p := assertProblem(t, c.Patch("/api/v1/alumni/"+abs.Id, `"1"`, map[string]any{"lastName": "X"}), http.StatusConflict, ""); deref(p.SurvivorId) != sur.Id {
		t.Errorf("PATCH of the absorbed id: %+v", p)
	}
	if p := assertProblem(t, c.Delete("/api/v1/alumni/"+abs.Id, ""), http.StatusConflict, ""); deref(p.SurvivorId) != sur.Id {
		t.Errorf("DELETE of the absorbed id: %+v", p)
	}
	// Another alumnus cannot read the survivor (no directory consent since the merge): the
	// absorbed id is not found for them.
	other, _ := create(t, c, map[string]any{"firstName": "Other", "lastName": "Person"})
	assertProblem(t, s.AsAlumnus(t, other.Id).NoRedirects().Get("/api/v1/alumni/"+abs.Id, nil), http.StatusNotFound, "")
	// Merging the absorbed record again: it lives on the survivor.
	assertProblem(t, mergeReq(c, sur.Id, `"2"`, abs.Id, absTag, nil), http.StatusConflict, "absorb")

	// Audited: the survivor's before/after with the absorbed id, and the absorbed record's end.
	events := eventsOf(auditAll(t, c, "entityType=alumnus"), requestIDOf(resp))
	if got := actions(events); !slices.Equal(sortedCopy(got...), []string{"alumnus.absorb", "alumnus.merge"}) {
		t.Fatalf("actions = %v", got)
	}
	for _, e := range events {
		ch := changeMap(e)
		switch e.Action {
		case "alumnus.merge":
			if deref(e.EntityId) != sur.Id || ch["absorbedId"].After != abs.Id || ch["mergeId"].After != got.Merge.Id ||
				ch["workEmail"].After != "ada@engines.example" || ch["directoryConsent"].Before != true {
				t.Errorf("merge event = %+v", e)
			}
		case "alumnus.absorb":
			// The absorbed record's fields as they were, with where it went.
			if deref(e.EntityId) != abs.Id || ch["survivorId"].After != sur.Id || ch["mergeId"].After != got.Merge.Id ||
				ch["workEmail"].Before != "ada@engines.example" || ch["workEmail"].After != nil || ch["lastName"].Before != "King" {
				t.Errorf("absorb event = %+v", e)
			}
		}
	}

	// The pair of the two records leaves the queue at once; the list and search know one record.
	if ids := pairIDs(queue(t, c, "open")); slices.Contains(ids, pair) {
		t.Errorf("the merged pair is still in the queue: %v", ids)
	}
	page := listIDs(t, c, "q=king")
	if !slices.Equal(page, []string{sur.Id}) {
		t.Errorf("search for king = %v, want only the survivor", page)
	}
	assertStatsRecount(t, s, "the merge")
}

// assertStatsRecount checks that the summary counts the write path keeps are those a recount
// finds. Values are compared folded: a count's row shows one spelling of the values the
// collation holds equal (mathematics, Mathematics), whichever was written last.
func assertStatsRecount(t *testing.T, s *apitest.Server, after string) {
	t.Helper()
	folded := func(rows []string) []string {
		for i := range rows {
			rows[i] = strings.ToLower(rows[i])
		}
		return rows
	}
	written := folded(statRows(t, s))
	if err := alumni.NewStore(s.DB).RebuildStats(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(folded(statRows(t, s)), written); diff != "" {
		t.Errorf("counts after %s differ from a recount (-recount +written):\n%s", after, diff)
	}
}

// listIDs returns the ids of the first page of GET /api/v1/alumni?query.
func listIDs(t *testing.T, c *apitest.Client, query string) []string {
	t.Helper()
	resp := c.Get("/api/v1/alumni?"+query, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("list: %d %s", resp.Status, resp.Body)
	}
	var page api.AlumnusPage
	resp.JSON(t, &page)
	ids := make([]string, len(page.Items))
	for i, a := range page.Items {
		ids[i] = a.Id
	}
	return ids
}

// facetTotal returns the facets' total for query.
func facetTotal(t *testing.T, c *apitest.Client, query string) int {
	t.Helper()
	resp := c.Get("/api/v1/alumni/facets?"+query, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("facets: %d %s", resp.Status, resp.Body)
	}
	var f api.Facets
	resp.JSON(t, &f)
	return f.Total.Count
}

// TestMergedRecordLeavesEveryReplicasIndex: the absorbed record disappears from search, list
// and facets at once on the replica that merged and on another one.
func TestMergedRecordLeavesEveryReplicasIndex(t *testing.T) {
	a := newServer(t)
	b := apitest.NewServer(t, apitest.DefaultConfig(), apitest.OnDatabaseOf(a))
	sur, surTag, abs, absTag := survivorAndTwin(t, a.Client)
	for _, c := range []*apitest.Client{a.Client, b.Client} {
		if ids := listIDs(t, c, "q=king"); len(ids) != 2 {
			t.Fatalf("before the merge: %v", ids)
		}
		if n := facetTotal(t, c, "country=GB"); n != 1 {
			t.Fatalf("facets before the merge: %d", n)
		}
	}
	merged(t, mergeReq(a.Client, sur.Id, surTag, abs.Id, absTag, nil))
	for name, c := range map[string]*apitest.Client{"merging replica": a.Client, "other replica": b.Client} {
		if ids := listIDs(t, c, "q=king"); !slices.Equal(ids, []string{sur.Id}) {
			t.Errorf("%s: search = %v, want only the survivor", name, ids)
		}
		if ids := listIDs(t, c, "q=ada"); !slices.Equal(ids, []string{sur.Id}) {
			t.Errorf("%s: search ada = %v, want only the survivor", name, ids)
		}
		if ids := listIDs(t, c, ""); !slices.Equal(ids, []string{sur.Id}) {
			t.Errorf("%s: list = %v, want only the survivor", name, ids)
		}
		// The survivor took the absorbed record's address: one record in GB, not two.
		if n := facetTotal(t, c, "country=GB"); n != 1 {
			t.Errorf("%s: facets total for GB = %d, want 1", name, n)
		}
		if n := facetTotal(t, c, ""); n != 1 {
			t.Errorf("%s: facets total = %d, want 1", name, n)
		}
	}
}

func TestMergePreconditions(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c)
	assertProblem(t, mergeReq(c, sur.Id, "", abs.Id, absTag, nil), http.StatusPreconditionRequired, "")
	assertProblem(t, mergeReq(c, sur.Id, `"9"`, abs.Id, absTag, nil), http.StatusPreconditionFailed, "")
	assertProblem(t, mergeReq(c, sur.Id, surTag, abs.Id, `"9"`, nil), http.StatusPreconditionFailed, "absorbedETag")
	// Nothing changed: both records are as they were.
	for _, id := range []string{sur.Id, abs.Id} {
		if _, tag := getAlumnus(t, c, id); tag != `"1"` {
			t.Errorf("%s: ETag %s after refused merges", id, tag)
		}
	}
}

// TestMergeBadInput: a table of requests the merge refuses.
func TestMergeBadInput(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c)
	third, _ := create(t, c, map[string]any{"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.org"})
	trashed, trashedTag := create(t, c, map[string]any{"firstName": "Trashed", "lastName": "Record"})
	if r := c.Delete("/api/v1/alumni/"+trashed.Id, ""); r.Status != http.StatusNoContent {
		t.Fatal(r.Status)
	}
	const unknown = "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"
	tests := []struct {
		name     string
		survivor string
		body     any
		status   int
		field    string
	}{
		{"itself", sur.Id, map[string]any{"absorb": sur.Id, "absorbedETag": surTag}, 422, "absorb"},
		{"no absorb", sur.Id, map[string]any{"absorbedETag": absTag}, 400, ""},
		{"no absorbed ETag", sur.Id, map[string]any{"absorb": abs.Id}, 400, ""},
		{"absorb not an id", sur.Id, map[string]any{"absorb": "nope", "absorbedETag": absTag}, 400, ""},
		{"unknown property", sur.Id, map[string]any{"absorb": abs.Id, "absorbedETag": absTag, "survivor": "x"}, 400, ""},
		{"unknown absorbed record", sur.Id, map[string]any{"absorb": unknown, "absorbedETag": absTag}, 404, "absorb"},
		{"trashed absorbed record", sur.Id, map[string]any{"absorb": trashed.Id, "absorbedETag": trashedTag}, 404, "absorb"},
		{"unknown survivor", unknown, map[string]any{"absorb": abs.Id, "absorbedETag": absTag}, 404, ""},
		{"a field the contract refuses", sur.Id, map[string]any{"absorb": abs.Id, "absorbedETag": absTag, "fields": map[string]any{"email": "not an email"}}, 400, ""},
		{"a result the rules refuse", sur.Id, map[string]any{"absorb": abs.Id, "absorbedETag": absTag, "fields": map[string]any{"address": map[string]any{"country": "XX"}}}, 422, "address.country"},
		{"a third record's email", sur.Id, map[string]any{"absorb": abs.Id, "absorbedETag": absTag, "fields": map[string]any{"email": "grace@example.org"}}, 409, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := c.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni/" + tt.survivor + "/merge", Body: tt.body,
				Header: map[string]string{"If-Match": surTag}})
			assertProblem(t, resp, tt.status, tt.field)
		})
	}
	_ = third
	// Nothing was merged.
	for _, id := range []string{sur.Id, abs.Id} {
		if _, tag := getAlumnus(t, c, id); tag != `"1"` {
			t.Errorf("%s: ETag %s after refused merges", id, tag)
		}
	}
	// Viewers and alumni may not merge.
	for _, cl := range []*apitest.Client{s.As(t, auth.RoleViewer), s.AsAlumnus(t, sur.Id)} {
		assertProblem(t, mergeReq(cl, sur.Id, surTag, abs.Id, absTag, nil), http.StatusForbidden, "")
	}
}

// TestMergeChosenFields: the caller's fields override the rules, and are validated.
func TestMergeChosenFields(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c, "S2004-9999")
	got := merged(t, mergeReq(c, sur.Id, surTag, abs.Id, absTag, map[string]any{
		"email": "ada.lovelace+events@example.org", "studentId": "S2004-9999", "directoryConsent": true, "tags": []any{"donor"},
	}))
	m := got.Survivor
	if string(deref(m.Email)) != "ada.lovelace+events@example.org" || deref(m.StudentId) != "S2004-9999" || !m.DirectoryConsent ||
		!slices.Equal(deref(m.Tags), []string{"donor"}) {
		t.Errorf("survivor = %+v", m)
	}
	// The absorbed record's keys are free for the survivor: its own now.
	if a, _ := getAlumnus(t, c, sur.Id); deref(a.StudentId) != "S2004-9999" {
		t.Errorf("stored student id = %q", deref(a.StudentId))
	}
}

// TestMergeMovesTheUserAccount: the absorbed record's account moves to the survivor; when both
// have one, the merge is refused, naming both.
func TestMergeMovesTheUserAccount(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c)
	third, thirdTag := create(t, c, map[string]any{"firstName": "Ada", "lastName": "Byron"})
	alum := s.AsAlumnus(t, abs.Id)
	before := whoAmI(t, alum)

	resp := mergeReq(c, sur.Id, surTag, abs.Id, absTag, nil)
	merged(t, resp)
	users := usersOf(t, c)
	if got := deref(users[before.User.Id].AlumnusId); got != sur.Id {
		t.Errorf("the absorbed record's user is linked to %q, want the survivor %s", got, sur.Id)
	}
	// Signed in still, the alumnus is the survivor's now: their own record is the survivor.
	if me := whoAmI(t, alum); deref(me.User.AlumnusId) != sur.Id {
		t.Errorf("me after the merge = %+v, want linked to %s", me.User, sur.Id)
	}
	if r := alum.Patch("/api/v1/alumni/"+sur.Id, etagOf(t, alum, sur.Id), map[string]any{"phone": "+44 20 7946 0000"}); r.Status != http.StatusOK {
		t.Errorf("the alumnus changes their record, the survivor: %d %s", r.Status, r.Body)
	}
	// Both have one now: the survivor (through the move) and a third record.
	s.AsAlumnus(t, third.Id)
	p := assertProblem(t, mergeReq(c, sur.Id, `"3"`, third.Id, thirdTag, nil), http.StatusConflict, "absorb")
	if !strings.Contains(deref(p.Detail), "user account") {
		t.Errorf("problem = %+v", p)
	}
	if _, tag := getAlumnus(t, c, third.Id); tag != `"1"` {
		t.Error("the refused merge changed the third record")
	}
}

func usersOf(t *testing.T, c *apitest.Client) map[string]api.User {
	t.Helper()
	items, _, _ := apitest.Walk[api.User](t, c, "/api/v1/users", "", 200)
	out := map[string]api.User{}
	for _, u := range items {
		out[u.Id] = u
	}
	return out
}

// TestImportOfAnAbsorbedKeyUpdatesTheSurvivor: a registrar row with the absorbed record's
// student id (or email) lands on the survivor, which keeps its own keys.
func TestImportOfAnAbsorbedKeyUpdatesTheSurvivor(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c, "S2004-9999")
	merged(t, mergeReq(c, sur.Id, surTag, abs.Id, absTag, nil))
	csv := "Student ID,Email,First name,Last name,Employer\n" +
		"S2004-9999,,Ada,King,Babbage & Co\n"
	j := runImport(t, c, "apply", csv)
	if diff := cmp.Diff(counts(0, 1, 0, 0), j.Counts); diff != "" {
		t.Fatalf("counts (-want +got):\n%s\n%v", diff, importErrors(t, c, j.Id))
	}
	a, _ := getAlumnus(t, c, sur.Id)
	if deref(deref(a.Employment).Employer) != "Babbage & Co" || deref(a.StudentId) != "S2004-0042" {
		t.Errorf("survivor after the import = %+v", a)
	}
	// By the absorbed email too.
	csv = "Email,First name,Last name,Job title\n" +
		"Ada.Lovelace+events@example.org,Ada,King,Countess\n"
	j = runImport(t, c, "apply", csv)
	if diff := cmp.Diff(counts(0, 1, 0, 0), j.Counts); diff != "" {
		t.Fatalf("counts by email (-want +got):\n%s\n%v", diff, importErrors(t, c, j.Id))
	}
	a, _ = getAlumnus(t, c, sur.Id)
	if deref(deref(a.Employment).JobTitle) != "Countess" || string(deref(a.Email)) != "ada.lovelace@example.org" {
		t.Errorf("survivor after the import by email = %+v", a)
	}
	if ids := listIDs(t, c, "q=king"); !slices.Equal(ids, []string{sur.Id}) {
		t.Errorf("records = %v, want only the survivor", ids)
	}
}

// TestUndoMerge: the absorbed record returns with its id, the survivor gets its fields back,
// the user account goes back; not after a later change, not twice.
func TestUndoMerge(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sur, surTag, abs, absTag := survivorAndTwin(t, c)
	alum := s.AsAlumnus(t, abs.Id)
	userID := whoAmI(t, alum).User.Id
	surBefore, _ := getAlumnus(t, c, sur.Id)
	absBefore, _ := getAlumnus(t, c, abs.Id)
	got := merged(t, mergeReq(c, sur.Id, surTag, abs.Id, absTag, nil))
	undoPath := "/api/v1/merges/" + got.Merge.Id + "/undo"

	assertProblem(t, s.As(t, auth.RoleStaff).Post(undoPath, nil), http.StatusForbidden, "")
	assertProblem(t, c.Post("/api/v1/merges/01JD3M5X7V8Q9R2S4T6W8Y0Z1F/undo", nil), http.StatusNotFound, "")

	resp := c.Post(undoPath, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("undo: %d %s", resp.Status, resp.Body)
	}
	var undone api.MergeResult
	resp.JSON(t, &undone)
	if undone.Merge.UndoneAt == nil || undone.Merge.Id != got.Merge.Id || resp.Header.Get("ETag") != `"3"` {
		t.Errorf("undo = %+v, ETag %s", undone.Merge, resp.Header.Get("ETag"))
	}
	opts := cmp.Options{cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".UpdatedAt"
	}, cmp.Ignore())}
	back, tag := getAlumnus(t, c, sur.Id)
	if diff := cmp.Diff(surBefore, back, opts); diff != "" || tag != `"3"` {
		t.Errorf("survivor after the undo (-before +after), ETag %s:\n%s", tag, diff)
	}
	returned, tag := getAlumnus(t, c.NoRedirects(), abs.Id)
	if diff := cmp.Diff(absBefore, returned, opts); diff != "" || tag != `"2"` {
		t.Errorf("absorbed record after the undo (-before +after), ETag %s:\n%s", tag, diff)
	}
	if got := deref(usersOf(t, c)[userID].AlumnusId); got != abs.Id {
		t.Errorf("user linked to %q after the undo, want %s", got, abs.Id)
	}
	if ids := listIDs(t, c, "q=king"); len(ids) != 2 {
		t.Errorf("search after the undo = %v, want both records", ids)
	}
	assertStatsRecount(t, s, "the undo")
	assertProblem(t, c.Post(undoPath, nil), http.StatusConflict, "")
	events := eventsOf(auditAll(t, c, "entityType=alumnus"), requestIDOf(resp))
	if got := actions(events); !slices.Equal(sortedCopy(got...), []string{"alumnus.unabsorb", "alumnus.unmerge"}) {
		t.Errorf("undo actions = %v", got)
	}

	// Merged again and changed since: the undo would lose the change.
	got = merged(t, mergeReq(c, sur.Id, `"3"`, abs.Id, `"2"`, nil))
	if r := c.Patch("/api/v1/alumni/"+sur.Id, `"4"`, map[string]any{"notes": "called"}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	p := assertProblem(t, c.Post("/api/v1/merges/"+got.Merge.Id+"/undo", nil), http.StatusConflict, "")
	if deref(p.SurvivorId) != sur.Id || !strings.Contains(deref(p.Detail), "changed after the merge") {
		t.Errorf("problem = %+v", p)
	}
}

// A merge reaches subscribers as the absorbed record's deletion and the survivor's update
// (with the fields that changed, not the merge's ids); its undo as the survivor's update and
// the absorbed record's creation.
func TestMergeInTheEventsFeed(t *testing.T) {
	s := newServer(t)
	c := s.Client
	sub, _ := s.Subscribe(t, s.As(t, auth.RoleStaff).Token(), "")
	sur, surTag, abs, absTag := survivorAndTwin(t, c)
	expectEvent(t, sub.Next(t), api.AlumnusCreated, sur.Id)
	expectEvent(t, sub.Next(t), api.AlumnusCreated, abs.Id)
	got := merged(t, mergeReq(c, sur.Id, surTag, abs.Id, absTag, nil))
	expectEvent(t, sub.Next(t), api.AlumnusDeleted, abs.Id)
	updated := sub.Next(t)
	expectEvent(t, updated, api.AlumnusUpdated, sur.Id)
	want := []string{"address", "contactPermissions", "degrees", "directoryConsent", "employment", "phone", "tags", "workEmail"}
	if fields := sortedCopy(fieldsOf(updated)...); !slices.Equal(fields, want) {
		t.Errorf("merge event fields = %v, want %v", fields, want)
	}
	if r := c.Post("/api/v1/merges/"+got.Merge.Id+"/undo", nil); r.Status != http.StatusOK {
		t.Fatalf("undo: %d %s", r.Status, r.Body)
	}
	expectEvent(t, sub.Next(t), api.AlumnusUpdated, sur.Id)
	expectEvent(t, sub.Next(t), api.AlumnusCreated, abs.Id)
}

// Two merges of the same two records in opposite directions at once: one wins, the other is
// refused, and one record is left.
func TestOppositeMergesAtOnce(t *testing.T) {
	s := newServer(t)
	c := s.Client
	for round := range 5 {
		x, xTag := create(t, c, map[string]any{"firstName": "Ada", "lastName": fmt.Sprintf("King%d", round)})
		y, yTag := create(t, c, map[string]any{"firstName": "Ada", "lastName": fmt.Sprintf("Byron%d", round)})
		statuses := make([]int, 2)
		var wg sync.WaitGroup
		for i, pair := range [][4]string{{x.Id, xTag, y.Id, yTag}, {y.Id, yTag, x.Id, xTag}} {
			wg.Go(func() {
				resp, err := c.Try(apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni/" + pair[0] + "/merge",
					Body: map[string]any{"absorb": pair[2], "absorbedETag": pair[3]}, Header: map[string]string{"If-Match": pair[1]}})
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i] = resp.Status
			})
		}
		wg.Wait()
		slices.Sort(statuses)
		if statuses[0] != http.StatusOK || (statuses[1] != http.StatusConflict && statuses[1] != http.StatusNotFound) {
			t.Errorf("round %d: statuses %v, want one 200 and one 409 or 404", round, statuses)
		}
	}
	if n := facetTotal(t, c, ""); n != 5 {
		t.Errorf("%d records left, want 5", n)
	}
}

// An id absorbed by a record that is merged away later lives on the last survivor; the earlier
// merge cannot be undone before the later one; undoing both, last first, gives every record
// back. An undo that would take a value another record has since is refused.
func TestMergeChains(t *testing.T) {
	s := newServer(t)
	c := s.Client
	a, aTag := create(t, c, map[string]any{"firstName": "Ada", "lastName": "A", "email": "a@example.org"})
	b, bTag := create(t, c, map[string]any{"firstName": "Ada", "lastName": "B", "email": "b@example.org"})
	x, xTag := create(t, c, map[string]any{"firstName": "Ada", "lastName": "X"})
	redirect := func(id string) string {
		t.Helper()
		return c.NoRedirects().Get("/api/v1/alumni/"+id, nil).Header.Get("Location")
	}
	undo := func(m api.MergeResult) *apitest.Response {
		t.Helper()
		return c.Post("/api/v1/merges/"+m.Merge.Id+"/undo", nil)
	}
	first := merged(t, mergeReq(c, a.Id, aTag, b.Id, bTag, nil))
	second := merged(t, mergeReq(c, x.Id, xTag, a.Id, `"2"`, nil))
	if got := redirect(b.Id); got != "/api/v1/alumni/"+x.Id {
		t.Errorf("b after the second merge redirects to %q, want x", got)
	}
	// The first merge's survivor was merged away since: its undo is refused (x's version is
	// that a had after the first merge: the refusal must not rest on versions).
	if _, tag := getAlumnus(t, c, x.Id); tag != `"2"` {
		t.Fatalf("x's ETag %s, want \"2\" (a's after the first merge)", tag)
	}
	if p := assertProblem(t, undo(first), http.StatusConflict, ""); !strings.Contains(deref(p.Detail), second.Merge.Id) {
		t.Errorf("the refusal does not name the later merge: %+v", p)
	}
	if r := undo(second); r.Status != http.StatusOK {
		t.Fatalf("undo the second: %d %s", r.Status, r.Body)
	}
	if got := redirect(b.Id); got != "/api/v1/alumni/"+a.Id {
		t.Errorf("b after the undo redirects to %q, want a", got)
	}
	if r := undo(first); r.Status != http.StatusOK {
		t.Fatalf("undo the first after the second: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{a.Id, b.Id, x.Id} {
		if got, _ := getAlumnus(t, c.NoRedirects(), id); got.Id != id {
			t.Errorf("%s is not back: %+v", id, got)
		}
	}

	// Merged again, and b's email (which a did not take) is another record's since.
	again := merged(t, mergeReq(c, a.Id, etagOf(t, c, a.Id), b.Id, etagOf(t, c, b.Id), nil))
	create(t, c, map[string]any{"firstName": "Other", "lastName": "Person", "email": "b@example.org"})
	assertProblem(t, undo(again), http.StatusConflict, "email")
	if got := redirect(b.Id); got != "/api/v1/alumni/"+a.Id {
		t.Errorf("the refused undo changed b's redirect: %q", got)
	}
}
