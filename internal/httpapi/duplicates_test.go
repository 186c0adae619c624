package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/duplicates"
)

// queue returns the pairs with status in the queue, every page of it.
func queue(t *testing.T, c *apitest.Client, status string) []api.DuplicatePair {
	t.Helper()
	pairs, _, _ := apitest.Walk[api.DuplicatePair](t, c, "/api/v1/duplicates", "status="+status, 200)
	return pairs
}

func pairIDs(pairs []api.DuplicatePair) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.Id
	}
	return out
}

func duplicatesOf(t *testing.T, c *apitest.Client, id string) []api.DuplicatePair {
	t.Helper()
	resp := c.Get("/api/v1/alumni/"+id+"/duplicates", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("duplicates of %s: %d %s", id, resp.Status, resp.Body)
	}
	var out api.DuplicatePairList
	resp.JSON(t, &out)
	return out.Items
}

// TestLikelyDuplicatesFollowEveryChange: a record entered again (the address written
// differently, a nickname) is named at once on create (Link) and on its record's list, and
// reaches the queue; a dismissal keeps it out of the queue through later changes until it is
// reopened; a record moved to the trash takes its pairs out of the queue and brings them back
// with it.
func TestLikelyDuplicatesFollowEveryChange(t *testing.T) {
	s := newServer(t)
	c := s.Client
	first, _ := create(t, c, ada())
	other, _ := create(t, c, map[string]any{"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.org"})

	resp := c.Post("/api/v1/alumni", map[string]any{"firstName": "Ada", "lastName": "King",
		"email": "ada.lovelace+events@example.org", "address": map[string]any{"city": "London"}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.Status, resp.Body)
	}
	var second api.Alumnus
	resp.JSON(t, &second)
	if want := `</api/v1/alumni/` + second.Id + `/duplicates>; rel="likely-duplicates"`; resp.Header.Get("Link") != want {
		t.Errorf("Link = %q, want %q", resp.Header.Get("Link"), want)
	}
	if resp := c.Post("/api/v1/alumni", map[string]any{"firstName": "Someone", "lastName": "Else"}); resp.Header.Get("Link") != "" {
		t.Errorf("a record like no other: Link = %q", resp.Header.Get("Link"))
	}

	id := duplicates.PairID(first.Id, second.Id)
	got := duplicatesOf(t, c, second.Id)
	if len(got) != 1 || got[0].Id != id || got[0].Status != api.Open || got[0].Score < 0.9 {
		t.Fatalf("duplicates of the second record = %+v, want the pair %s, open, scored ≥ 0.9", got, id)
	}
	if want := []api.DuplicateReason{api.SameEmail, api.SameCity}; !slices.Equal(got[0].Reasons, want) {
		t.Errorf("reasons = %v, want %v", got[0].Reasons, want)
	}
	if ids := []string{got[0].Records[0].Id, got[0].Records[1].Id}; !slices.Equal(ids, sortedCopy(first.Id, second.Id)) {
		t.Errorf("records = %v, want both, in the order of the id", ids)
	}
	if got := duplicatesOf(t, c, other.Id); len(got) != 0 {
		t.Errorf("duplicates of an unrelated record = %v", pairIDs(got))
	}
	eventually(t, "the pair reaches the queue", func() bool { return slices.Contains(pairIDs(queue(t, c, "open")), id) })

	// Staff may work the queue; the dismissal is theirs and audited.
	staff := s.As(t, auth.RoleStaff)
	resp = staff.Post("/api/v1/duplicates/"+id+"/dismiss", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("dismiss: %d %s", resp.Status, resp.Body)
	}
	var dismissed api.DuplicatePair
	resp.JSON(t, &dismissed)
	if dismissed.Status != api.Dismissed || dismissed.DecidedAt == nil || deref(dismissed.DecidedBy) != whoAmI(t, staff).User.Id {
		t.Errorf("dismissed pair = %+v", dismissed)
	}
	if ids := pairIDs(queue(t, c, "open")); slices.Contains(ids, id) {
		t.Errorf("the dismissed pair is still in the queue: %v", ids)
	}
	if ids := pairIDs(queue(t, c, "dismissed")); !slices.Equal(ids, []string{id}) {
		t.Errorf("dismissed pairs = %v, want %s", ids, id)
	}
	for _, record := range []string{first.Id, second.Id} {
		events := auditAll(t, c, "action=duplicate.dismiss&entityType=alumnus&entityId="+record)
		if len(events) != 1 || events[0].Actor == nil || events[0].Actor.Role != api.RoleStaff || events[0].Changes == nil ||
			cmpJSON(t, *events[0].Changes, []map[string]any{{"field": "pairId", "after": id}, {"field": "status", "before": "open", "after": "dismissed"}}) != "" {
			t.Errorf("dismissal events about %s = %+v", record, events)
		}
	}

	// A later change to either record (scored again by the worker) leaves the decision be.
	tag := etagOf(t, c, second.Id)
	if resp := c.Patch("/api/v1/alumni/"+second.Id, tag, map[string]any{"address": map[string]any{"city": "Paris"}}); resp.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", resp.Status, resp.Body)
	}
	eventually(t, "the change is scored", func() bool { return workLeft(t, s) == 0 })
	if ids := pairIDs(queue(t, c, "open")); slices.Contains(ids, id) {
		t.Errorf("a change brought the dismissed pair back to the queue: %v", ids)
	}
	got = duplicatesOf(t, c, first.Id)
	if len(got) != 1 || got[0].Status != api.Dismissed || slices.Contains(got[0].Reasons, api.SameCity) {
		t.Errorf("duplicates of the first record after the move = %+v, want the pair dismissed, scored as it is now", got)
	}

	// Reopened, it is in the queue again; in the trash, it leaves; restored, it is back.
	if resp := c.Post("/api/v1/duplicates/"+id+"/reopen", nil); resp.Status != http.StatusOK {
		t.Fatalf("reopen: %d %s", resp.Status, resp.Body)
	}
	if ids := pairIDs(queue(t, c, "open")); !slices.Contains(ids, id) {
		t.Errorf("the reopened pair is not in the queue: %v", ids)
	}
	if resp := c.Delete("/api/v1/alumni/"+first.Id, etagOf(t, c, first.Id)); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.Status, resp.Body)
	}
	eventually(t, "the pair leaves the queue", func() bool { return !slices.Contains(pairIDs(queue(t, c, "open")), id) })
	if got := duplicatesOf(t, c, second.Id); len(got) != 0 {
		t.Errorf("duplicates of the second record while the first is in the trash = %v", pairIDs(got))
	}
	if resp := c.Post("/api/v1/duplicates/"+id+"/dismiss", nil); resp.Status != http.StatusNotFound {
		t.Errorf("dismissing a pair with a record in the trash: %d %s", resp.Status, resp.Body)
	}
	if resp := c.Post("/api/v1/alumni/"+first.Id+"/restore", nil); resp.Status != http.StatusOK {
		t.Fatalf("restore: %d %s", resp.Status, resp.Body)
	}
	eventually(t, "the pair is back in the queue", func() bool { return slices.Contains(pairIDs(queue(t, c, "open")), id) })
}

// TestDuplicateQueueIsBestFirstAndPaged: the queue pages through every pair once, best first.
func TestDuplicateQueueIsBestFirstAndPaged(t *testing.T) {
	s := newServer(t)
	c := s.Client
	var want []string
	for i := range 5 {
		a, _ := create(t, c, map[string]any{"firstName": "Person", "lastName": fmt.Sprintf("Number%c", 'A'+i),
			"email": fmt.Sprintf("person%d@example.org", i), "studentId": fmt.Sprintf("S-%d", i)})
		// Stronger evidence for some: the same student id beside the address.
		again := map[string]any{"firstName": "Person", "lastName": fmt.Sprintf("Number%c", 'A'+i), "email": fmt.Sprintf("Person%d+again@example.org", i)}
		b, _ := create(t, c, again)
		want = append(want, duplicates.PairID(a.Id, b.Id))
	}
	eventually(t, "every pair reaches the queue", func() bool { return len(queue(t, c, "open")) == len(want) })
	pairs, pages, _ := apitest.Walk[api.DuplicatePair](t, c, "/api/v1/duplicates", "", 2)
	if pages != 3 {
		t.Errorf("%d pages of 2 for 5 pairs", pages)
	}
	if got := sortedCopy(pairIDs(pairs)...); !slices.Equal(got, sortedCopy(want...)) {
		t.Errorf("queue = %v, want %v", got, want)
	}
	for i := 1; i < len(pairs); i++ {
		if pairs[i].Score > pairs[i-1].Score {
			t.Errorf("pair %d scores %v after %v", i, pairs[i].Score, pairs[i-1].Score)
		}
	}
}

// TestDuplicateBadInput: malformed pair ids, statuses, cursors and limits are 400s; pairs of
// records that do not exist are 404s; nothing is written.
func TestDuplicateBadInput(t *testing.T) {
	s := newServer(t)
	c := s.Client
	a, _ := create(t, c, map[string]any{"firstName": "Ada", "lastName": "King"})
	b, _ := create(t, c, map[string]any{"firstName": "Grace", "lastName": "Hopper"})
	low, high := sortedCopy(a.Id, b.Id)[0], sortedCopy(a.Id, b.Id)[1]
	const missing = "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"
	cases := []struct {
		name, method, path string
		status             int
	}{
		{"pair id of one record", http.MethodPost, "/api/v1/duplicates/" + low + "-" + low + "/dismiss", http.StatusBadRequest},
		{"pair id larger first", http.MethodPost, "/api/v1/duplicates/" + high + "-" + low + "/dismiss", http.StatusBadRequest},
		{"pair id not two ids", http.MethodPost, "/api/v1/duplicates/" + low + "/dismiss", http.StatusBadRequest},
		{"pair id lower case", http.MethodPost, "/api/v1/duplicates/" + url.PathEscape(fmt.Sprintf("%s-%s", toLower(low), toLower(high))) + "/reopen", http.StatusBadRequest},
		{"pair id with a quote", http.MethodPost, "/api/v1/duplicates/" + url.PathEscape(low+"-'"+high[1:]) + "/dismiss", http.StatusBadRequest},
		{"record that does not exist", http.MethodPost, "/api/v1/duplicates/" + duplicates.PairID(missing, high) + "/dismiss", http.StatusNotFound},
		{"status unknown", http.MethodGet, "/api/v1/duplicates?status=merged", http.StatusBadRequest},
		{"limit zero", http.MethodGet, "/api/v1/duplicates?limit=0", http.StatusBadRequest},
		{"limit too large", http.MethodGet, "/api/v1/duplicates?limit=201", http.StatusBadRequest},
		{"cursor not ours", http.MethodGet, "/api/v1/duplicates?cursor=bm90LWEtY3Vyc29y", http.StatusBadRequest},
		{"duplicates of no record", http.MethodGet, "/api/v1/alumni/" + missing + "/duplicates", http.StatusNotFound},
		{"duplicates of a malformed id", http.MethodGet, "/api/v1/alumni/not-an-id/duplicates", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := c.Do(apitest.Request{Method: tc.method, Path: tc.path})
			if resp.Status != tc.status {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, resp.Status, resp.Body, tc.status)
			}
		})
	}
	// A cursor made for the dismissed pairs is refused for the open ones.
	if len(queue(t, c, "dismissed")) != 0 {
		t.Error("bad input dismissed a pair")
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// workLeft is the number of records waiting to have their pairs scored.
func workLeft(t *testing.T, s *apitest.Server) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM duplicate_work").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func etagOf(t *testing.T, c *apitest.Client, id string) string {
	t.Helper()
	_, tag := getAlumnus(t, c, id)
	return tag
}
