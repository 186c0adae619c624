package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/importer"
)

// race runs do(i) for i in [0, n) in n goroutines that all start at once (a barrier), and
// returns their answers in order of i.
func race(n int, do func(i int) *apitest.Response) []*apitest.Response {
	out := make([]*apitest.Response, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = do(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// statusCount counts the answers by status.
func statusCount(resps []*apitest.Response) map[int]int {
	out := map[int]int{}
	for _, r := range resps {
		out[r.Status]++
	}
	return out
}

// version reads the stored version of a record.
func version(t *testing.T, s *apitest.Server, id string) int {
	t.Helper()
	var v int
	if err := s.DB.QueryRow("SELECT version FROM alumni WHERE public_id = ?", id).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// PATCHes racing with the same ETag: exactly one wins (200), every other one is refused with
// 412, the record is the winner's patch and its version went up by exactly one.
func TestConcurrentPatchesWithOneETag(t *testing.T) {
	s := newServer(t)
	a, etag := create(t, s.Client, ada())
	clients := []*apitest.Client{s.Client, s.As(t, "staff")}
	for round, n := range []int{2, 2, 8, 8, 16} {
		before := version(t, s, a.Id)
		resps := race(n, func(i int) *apitest.Response {
			return clients[i%len(clients)].Patch("/api/v1/alumni/"+a.Id, etag, map[string]any{
				"preferredName": fmt.Sprintf("Writer %d-%d", round, i),
				"notes":         fmt.Sprintf("round %d, writer %d", round, i),
			})
		})
		if got := statusCount(resps); got[http.StatusOK] != 1 || got[http.StatusPreconditionFailed] != n-1 {
			t.Fatalf("round %d, %d writers: statuses %v", round, n, got)
		}
		var winner int
		for i, r := range resps {
			if r.Status == http.StatusOK {
				winner = i
				continue
			}
			assertProblem(t, r, http.StatusPreconditionFailed, "")
		}
		after, newTag := getAlumnus(t, s.Client, a.Id)
		if want := fmt.Sprintf("Writer %d-%d", round, winner); val(after.PreferredName) != want ||
			val(after.Notes) != fmt.Sprintf("round %d, writer %d", round, winner) {
			t.Fatalf("round %d: record has %q / %q, the winner was %d", round, val(after.PreferredName), val(after.Notes), winner)
		}
		if v := version(t, s, a.Id); v != before+1 || newTag != resps[winner].Header.Get("ETag") || newTag != fmt.Sprintf(`"%d"`, v) {
			t.Fatalf("round %d: version %d -> %d, ETag %s (winner's %s)", round, before, v, newTag, resps[winner].Header.Get("ETag"))
		}
		etag = newTag
	}
}

// Creates racing with one student id, or one email: exactly one 201, every other one a 409
// problem naming the field, and one record.
func TestConcurrentCreatesWithOneNaturalKey(t *testing.T) {
	s := newServer(t)
	const n = 8
	for _, field := range []string{"studentId", "email"} {
		resps := race(n, func(i int) *apitest.Response {
			body := map[string]any{"firstName": "Ada", "lastName": fmt.Sprintf("King %d", i),
				"studentId": fmt.Sprintf("S-%s-%d", field, i), "email": fmt.Sprintf("ada%d-%s@example.org", i, field)}
			if field == "studentId" {
				body["studentId"] = "S-SAME"
			} else {
				body["email"] = "same@example.org"
			}
			return s.Client.Post("/api/v1/alumni", body)
		})
		if got := statusCount(resps); got[http.StatusCreated] != 1 || got[http.StatusConflict] != n-1 {
			t.Fatalf("%s: statuses %v", field, got)
		}
		for _, r := range resps {
			if r.Status == http.StatusConflict {
				assertProblem(t, r, http.StatusConflict, field)
			}
		}
	}
	var records int
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM alumni WHERE student_id = 'S-SAME' OR email = 'same@example.org'").Scan(&records); err != nil || records != 2 {
		t.Fatalf("%d records (%v), want 2", records, err)
	}
}

// Two replicas' import workers apply overlapping files at the same time: the same existing
// people (matched by student id in one file, by email in the other for half of them), the
// same new people, and people of their own. No record is duplicated, every row is created or
// updated, both files' changes (to different fields) are in every shared record, and the
// jobs' counts add up.
func TestConcurrentImportsOfOverlappingFiles(t *testing.T) {
	t.Parallel()
	a := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	b := apitest.NewServer(t, apitest.DefaultConfig(), apitest.OnDatabaseOf(a), apitest.WithoutImportWorker())
	const existing, shared, own = 40, 60, 20
	for i := range existing {
		create(t, a.Client, map[string]any{"studentId": fmt.Sprintf("E%03d", i), "firstName": "Existing", "lastName": fmt.Sprintf("Person %d", i),
			"email": fmt.Sprintf("e%d@example.org", i)})
	}
	// File A sets the city, file B the phone. File B has the shared people in the opposite
	// order (so that the two jobs meet in the middle) and matches every other one by email
	// alone.
	file := func(name, column, value string) string {
		var lines []string
		person := func(sid, first string, i int, email string) {
			if name == "B" && i%2 == 1 && first != "Own" {
				sid = ""
			}
			lines = append(lines, fmt.Sprintf("%s,%s,Person %d,%s,%s", sid, first, i, email, value))
		}
		for i := range shared {
			person(fmt.Sprintf("N%03d", i), "New", i, fmt.Sprintf("n%d@example.org", i))
		}
		for i := range existing {
			person(fmt.Sprintf("E%03d", i), "Existing", i, fmt.Sprintf("e%d@example.org", i))
		}
		if name == "B" {
			slices.Reverse(lines)
		}
		for i := range own {
			person(fmt.Sprintf("%s%03d", name, i), "Own", i, fmt.Sprintf("%s%d@example.org", strings.ToLower(name), i))
		}
		return "Student ID,First name,Last name,Email," + column + "\n" + strings.Join(lines, "\n") + "\n"
	}
	rows := existing + shared + own

	for round := range 2 {
		city, phone := fmt.Sprintf("City %d", round), fmt.Sprintf("+44 20 7946 000%d", round)
		var jobA, jobB api.ImportJob
		mustStatus(t, upload(t, a.Client, "apply", file("A", "City", city)), http.StatusAccepted).JSON(t, &jobA)
		mustStatus(t, upload(t, b.Client, "apply", file("B", "Phone", phone)), http.StatusAccepted).JSON(t, &jobB)
		// Both jobs wait; two workers, one per replica, start together, in small batches so
		// that the jobs interleave.
		stopA := a.StartImportWorker(t, importer.RunnerConfig{BatchSize: 10, Owner: "worker-a"})
		stopB := b.StartImportWorker(t, importer.RunnerConfig{BatchSize: 10, Owner: "worker-b"})
		jobA, jobB = waitForImport(t, a.Client, jobA.Id), waitForImport(t, b.Client, jobB.Id)
		stopA()
		stopB()

		for _, j := range []api.ImportJob{jobA, jobB} {
			if j.Status != api.ImportJobStatusSucceeded || j.ProcessedRows != rows || j.Counts.Rejected != 0 || j.Counts.Unchanged != 0 ||
				j.Counts.Created+j.Counts.Updated != rows {
				t.Fatalf("round %d: job %+v, problems %v", round, j, importErrors(t, a.Client, j.Id))
			}
		}
		wantCreated := shared + 2*own
		if round > 0 {
			wantCreated = 0
		}
		if got := jobA.Counts.Created + jobB.Counts.Created; got != wantCreated {
			t.Fatalf("round %d: %d + %d created, want %d", round, jobA.Counts.Created, jobB.Counts.Created, wantCreated)
		}

		var records, dupIDs, dupEmails, incomplete int
		if err := a.DB.QueryRow(`SELECT (SELECT COUNT(*) FROM alumni),
			(SELECT COUNT(*) FROM (SELECT student_id FROM alumni WHERE student_id IS NOT NULL GROUP BY student_id HAVING COUNT(*) > 1) d),
			(SELECT COUNT(*) FROM (SELECT email FROM alumni WHERE email IS NOT NULL GROUP BY email HAVING COUNT(*) > 1) d),
			(SELECT COUNT(*) FROM alumni WHERE first_name <> 'Own' AND (city <> ? OR phone <> ? OR city IS NULL OR phone IS NULL OR student_id IS NULL))`,
			city, phone).Scan(&records, &dupIDs, &dupEmails, &incomplete); err != nil {
			t.Fatal(err)
		}
		if records != existing+shared+2*own || dupIDs != 0 || dupEmails != 0 || incomplete != 0 {
			t.Fatalf("round %d: %d records (want %d), %d student ids and %d emails duplicated, %d shared records missing a file's change",
				round, records, existing+shared+2*own, dupIDs, dupEmails, incomplete)
		}
	}
}
