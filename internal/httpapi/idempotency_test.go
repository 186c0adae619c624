package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// postWithKey creates an alumnus with an Idempotency-Key.
func postWithKey(c *apitest.Client, key string, body any) *apitest.Response {
	return c.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni", Body: body, Header: map[string]string{"Idempotency-Key": key}})
}

func countRows(t *testing.T, s *apitest.Server, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// assertReplay checks that again is first answered again.
func assertReplay(t *testing.T, first, again *apitest.Response) {
	t.Helper()
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the first answer says Idempotent-Replayed: %q", first.Header.Get("Idempotent-Replayed"))
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a replay has Idempotent-Replayed %q, want true", again.Header.Get("Idempotent-Replayed"))
	}
	if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
		t.Errorf("replay: %d %s, want %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	for _, h := range []string{"Location", "ETag", "Content-Type"} {
		if again.Header.Get(h) != first.Header.Get(h) {
			t.Errorf("replay: %s %q, want %q", h, again.Header.Get(h), first.Header.Get(h))
		}
	}
}

func TestIdempotentCreate(t *testing.T) {
	s := newServer(t)
	minimal := map[string]any{"firstName": "Ada", "lastName": "Lovelace"}

	first := postWithKey(s.Client, "create-ada-1", minimal)
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	again := postWithKey(s.Client, "create-ada-1", minimal)
	assertReplay(t, first, again)
	if n := countRows(t, s, "SELECT COUNT(*) FROM alumni"); n != 1 {
		t.Errorf("%d records after a retry, want 1", n)
	}

	// The same key with another body is refused, and changes nothing.
	resp := postWithKey(s.Client, "create-ada-1", map[string]any{"firstName": "Grace", "lastName": "Hopper"})
	if p := assertProblem(t, resp, http.StatusUnprocessableEntity, "Idempotency-Key"); p.Type != "https://alumnid.dev/problems/idempotency-key-reused" {
		t.Errorf("type %s", p.Type)
	}

	// Keys are the user's own: another user's request with the same key and body runs.
	staff := s.As(t, auth.RoleStaff)
	other := postWithKey(staff, "create-ada-1", minimal)
	if other.Status != http.StatusCreated || other.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another user's request: %d %v %s", other.Status, other.Header, other.Body)
	}
	if other.Header.Get("Location") == first.Header.Get("Location") {
		t.Error("another user's request got the first user's record")
	}
	// A request without a key is not one of them.
	if resp := s.Client.Post("/api/v1/alumni", minimal); resp.Status != http.StatusCreated {
		t.Fatalf("create without a key: %d %s", resp.Status, resp.Body)
	}
	if n := countRows(t, s, "SELECT COUNT(*) FROM alumni"); n != 3 {
		t.Errorf("%d records, want 3", n)
	}
	// The longest key there may be works.
	long := strings.Repeat("k", 255)
	if a, b := postWithKey(s.Client, long, minimal), postWithKey(s.Client, long, minimal); a.Status != http.StatusCreated {
		t.Errorf("255-character key: %d %s", a.Status, a.Body)
	} else {
		assertReplay(t, a, b)
	}
}

func TestIdempotentCreateReplaysARefusal(t *testing.T) {
	s := newServer(t)
	bad := map[string]any{"firstName": "Ada", "lastName": "King", "address": map[string]any{"country": "XX"}}
	first := postWithKey(s.Client, "bad-country", bad)
	assertProblem(t, first, http.StatusUnprocessableEntity, "address.country")
	again := postWithKey(s.Client, "bad-country", bad)
	if again.Status != first.Status || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
	}
	// The same problem, under the id of the request that got it again (the client checks
	// that requestId is the X-Request-Id).
	var p1, p2 map[string]any
	if err := json.Unmarshal(first.Body, &p1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again.Body, &p2); err != nil {
		t.Fatal(err)
	}
	delete(p1, "requestId")
	delete(p2, "requestId")
	if diff := cmp.Diff(p1, p2); diff != "" {
		t.Errorf("replayed problem (-first +replay):\n%s", diff)
	}
	// Fixing the body needs a new key.
	good := map[string]any{"firstName": "Ada", "lastName": "King", "address": map[string]any{"country": "GB"}}
	assertProblem(t, postWithKey(s.Client, "bad-country", good), http.StatusUnprocessableEntity, "Idempotency-Key")
	if resp := postWithKey(s.Client, "good-country", good); resp.Status != http.StatusCreated {
		t.Errorf("new key: %d %s", resp.Status, resp.Body)
	}
}

func TestIdempotencyKeyMustBeSane(t *testing.T) {
	s := newServer(t)
	for _, tt := range []struct{ name, key string }{
		{"empty", ""},
		{"too long", strings.Repeat("k", 256)},
		{"not ASCII", "schlüssel"},
		{"control character", "a\tb"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := postWithKey(s.Client, tt.key, map[string]any{"firstName": "Ada", "lastName": "King"})
			assertProblem(t, resp, http.StatusBadRequest, "Idempotency-Key")
		})
	}
	if n := countRows(t, s, "SELECT COUNT(*) FROM alumni"); n != 0 {
		t.Errorf("%d records created by refused requests", n)
	}
}

// Concurrent requests with the same key and body, as a client that retries too soon sends
// them: one runs, each of the others waits for nothing and gets either 409 (the first still
// runs) or the first one's answer.
func TestIdempotentConcurrent(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	const n = 8
	cfg.Admission.MaxStreams = n // admission refuses uploads over its limit before they claim a key
	s := apitest.NewServer(t, cfg)
	csv := "Student ID,First name,Last name\nS1,Ada,King\n"
	for _, tt := range []struct {
		name  string
		send  func(key string) *apitest.Response
		ok    int
		count string
	}{
		{"create", func(key string) *apitest.Response { return postWithKey(s.Client, key, ada()) }, http.StatusCreated,
			"SELECT COUNT(*) FROM alumni"},
		{"import", func(key string) *apitest.Response {
			return s.Client.UploadWithHeader(importsPath, map[string]string{"Idempotency-Key": key},
				apitest.Field("mode", "dry_run"), apitest.File("alumni.csv", strings.NewReader(csv)))
		}, http.StatusAccepted, "SELECT COUNT(*) FROM import_jobs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := make(chan struct{})
			answers := make([]*apitest.Response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					answers[i] = tt.send("concurrent")
				})
			}
			close(start)
			wg.Wait()

			var created string
			statuses := map[int]int{}
			for i, resp := range answers {
				statuses[resp.Status]++
				switch resp.Status {
				case tt.ok:
					var v struct{ ID string }
					resp.JSON(t, &v)
					if created != "" && v.ID != created {
						t.Errorf("answer %d made %s, another %s", i, v.ID, created)
					}
					created = v.ID
				case http.StatusConflict:
					p := assertProblem(t, resp, http.StatusConflict, "Idempotency-Key")
					if p.Type != "https://alumnid.dev/problems/idempotency-key-in-use" || resp.Header.Get("Retry-After") == "" {
						t.Errorf("answer %d: %v %s", i, resp.Header, resp.Body)
					}
				default:
					t.Errorf("answer %d: %d %s", i, resp.Status, resp.Body)
				}
			}
			t.Logf("answers by status: %v", statuses)
			if created == "" {
				t.Error("no request ran")
			}
			if got := countRows(t, s, tt.count); got != 1 {
				t.Errorf("%d made, want 1", got)
			}
			// Once the first has answered, every retry gets its answer.
			resp := tt.send("concurrent")
			var v struct{ ID string }
			resp.JSON(t, &v)
			if resp.Status != tt.ok || v.ID != created || resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry after all answered: %d %v %s", resp.Status, resp.Header, resp.Body)
			}
		})
	}
}

// A claim whose request still runs (pending, within its lease) answers 409; one whose request
// stopped with its replica (pending, lease over) is taken over by the next request, which runs
// again: a create with a student id then finds the record the stopped request made.
func TestIdempotencyKeyClaimLease(t *testing.T) {
	s := newServer(t)
	first := postWithKey(s.Client, "lease", ada())
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	pretend := func(lease string) {
		t.Helper()
		if _, err := s.DB.Exec("UPDATE idempotency_keys SET state = 'pending', lease_until = " + lease + " WHERE idem_key = 'lease'"); err != nil {
			t.Fatal(err)
		}
	}
	pretend("UTC_TIMESTAMP(6) + INTERVAL 1 HOUR")
	resp := postWithKey(s.Client, "lease", ada())
	assertProblem(t, resp, http.StatusConflict, "Idempotency-Key")
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}

	pretend("UTC_TIMESTAMP(6) - INTERVAL 1 SECOND")
	resp = postWithKey(s.Client, "lease", ada())
	assertProblem(t, resp, http.StatusConflict, "studentId")
	if resp.Header.Get("Idempotent-Replayed") != "" {
		t.Error("a request that took over a claim is not a replay")
	}
	if n := countRows(t, s, "SELECT COUNT(*) FROM alumni"); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

// A request that fails on the server's side keeps nothing: the retry runs.
func TestIdempotencyKeyReleasedAfterServerError(t *testing.T) {
	s := newServer(t)
	// The create's audit record cannot be written: the create fails with 500 (and rolls back).
	if _, err := s.DB.Exec("RENAME TABLE audit_events TO audit_events_away"); err != nil {
		t.Fatal(err)
	}
	resp := postWithKey(s.Client, "server-error", ada())
	if resp.Status != http.StatusInternalServerError {
		t.Fatalf("create without an audit table: %d %s", resp.Status, resp.Body)
	}
	if n := countRows(t, s, "SELECT COUNT(*) FROM idempotency_keys"); n != 0 {
		t.Errorf("%d keys kept after a 500", n)
	}
	if _, err := s.DB.Exec("RENAME TABLE audit_events_away TO audit_events"); err != nil {
		t.Fatal(err)
	}
	if resp := postWithKey(s.Client, "server-error", ada()); resp.Status != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry: %d %v %s", resp.Status, resp.Header, resp.Body)
	}
}

func TestIdempotentImport(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.ImportMaxBytes = 64 << 10
	s := apitest.NewServer(t, cfg)
	csv := "Student ID,First name,Last name\nS1,Ada,King\nS2,Grace,Hopper\n"
	send := func(key, csv string) *apitest.Response {
		// Each upload has a boundary of its own, as browsers make them.
		return s.Client.UploadWithHeader(importsPath, map[string]string{"Idempotency-Key": key},
			apitest.Field("mode", "apply"), apitest.File("alumni.csv", strings.NewReader(csv)))
	}
	first := send("import-1", csv)
	if first.Status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", first.Status, first.Body)
	}
	again := send("import-1", csv)
	assertReplay(t, first, again)
	if n := countRows(t, s, "SELECT COUNT(*) FROM import_jobs"); n != 1 {
		t.Errorf("%d import jobs after a retry, want 1", n)
	}
	assertProblem(t, send("import-1", csv+"S3,Alan,Turing\n"), http.StatusUnprocessableEntity, "Idempotency-Key")
	// Another file name is another request.
	resp := s.Client.UploadWithHeader(importsPath, map[string]string{"Idempotency-Key": "import-1"},
		apitest.Field("mode", "apply"), apitest.File("other.csv", strings.NewReader(csv)))
	assertProblem(t, resp, http.StatusUnprocessableEntity, "Idempotency-Key")

	// An upload refused for its size keeps nothing: the key works for the upload that fits.
	big := "Student ID\n" + strings.Repeat("S0000001\n", 10_000)
	assertProblem(t, send("import-2", big), http.StatusRequestEntityTooLarge, "file")
	if resp := send("import-2", csv); resp.Status != http.StatusAccepted || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("after a 413: %d %v %s", resp.Status, resp.Header, resp.Body)
	}
	if n := countRows(t, s, "SELECT COUNT(*) FROM import_jobs"); n != 2 {
		t.Errorf("%d import jobs, want 2", n)
	}
	var j api.ImportJob
	first.JSON(t, &j)
	if got := waitForImport(t, s.Client, j.Id); got.Counts.Created != 2 {
		t.Errorf("the import created %d", got.Counts.Created)
	}
}
