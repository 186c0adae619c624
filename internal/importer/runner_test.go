package importer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/importer"
)

// upload posts csv for import and returns the job's id.
func upload(t *testing.T, s *apitest.Server, mode, csv string) string {
	t.Helper()
	resp := s.Client.Upload("/api/v1/alumni/imports", apitest.Field("mode", mode), apitest.File("a.csv", strings.NewReader(csv)))
	if resp.Status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", resp.Status, resp.Body)
	}
	var job struct{ ID string }
	if err := json.Unmarshal(resp.Body, &job); err != nil {
		t.Fatal(err)
	}
	return job.ID
}

// wait polls job id until it has finished and returns its status and failure.
func wait(t *testing.T, s *apitest.Server, id string) (status, failure string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var f *string
		if err := s.DB.QueryRow("SELECT status, failure FROM import_jobs WHERE public_id = ?", id).Scan(&status, &f); err != nil {
			t.Fatal(err)
		}
		if status == importer.StatusSucceeded || status == importer.StatusFailed {
			if f != nil {
				failure = *f
			}
			return status, failure
		}
	}
	t.Fatalf("import %s did not finish", id)
	return "", ""
}

func rowsCSV(from, to int) string {
	var b strings.Builder
	b.WriteString("Student ID,First name,Last name,Email\n")
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "S%05d,Given%d,Family%d,p%d@example.org\n", i, i, i, i)
	}
	return b.String()
}

// Several replicas each run a worker: every job runs on one of them at a time, and every row
// is applied once.
func TestSeveralWorkers(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	for i := range 3 {
		s.StartImportWorker(t, importer.RunnerConfig{BatchSize: 50, Owner: fmt.Sprintf("replica-%d", i)})
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, upload(t, s, "apply", rowsCSV(i*400+1, i*400+400)))
	}
	for _, id := range ids {
		if status, failure := wait(t, s, id); status != importer.StatusSucceeded {
			t.Fatalf("import %s: %s %s", id, status, failure)
		}
	}
	var records, events, created int
	_ = s.DB.QueryRow(`SELECT (SELECT COUNT(*) FROM alumni), (SELECT COUNT(*) FROM audit_events WHERE action = 'alumnus.create'),
		(SELECT SUM(created_count) FROM import_jobs)`).Scan(&records, &events, &created)
	if records != 1200 || events != 1200 || created != 1200 {
		t.Errorf("%d records, %d audit events, %d created", records, events, created)
	}
}

// A job that fails every time it is taken up (here: its column map is broken) is given up
// after MaxAttempts, as failed, with its staged rows deleted.
func TestPoisonJobFails(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	id := upload(t, s, "apply", rowsCSV(1, 10))
	if _, err := s.DB.Exec(`UPDATE import_jobs SET column_map = '{"broken": true}' WHERE public_id = ?`, id); err != nil {
		t.Fatal(err)
	}
	s.StartImportWorker(t, importer.RunnerConfig{MaxAttempts: 3})
	status, failure := wait(t, s, id)
	if status != importer.StatusFailed || !strings.Contains(failure, "after 3 attempts") {
		t.Fatalf("%s: %s", status, failure)
	}
	var attempts, staged int
	_ = s.DB.QueryRow("SELECT failed_attempts, (SELECT COUNT(*) FROM import_rows) FROM import_jobs WHERE public_id = ?", id).Scan(&attempts, &staged)
	if attempts != 3 || staged != 0 {
		t.Errorf("%d attempts, %d staged rows left", attempts, staged)
	}
	if !strings.Contains(s.Logs(), "import batch failed") {
		t.Error("the failures were not logged")
	}
}

// Claims are atomic: of many workers trying at once, one gets the job.
func TestClaimIsExclusive(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	id := upload(t, s, "dry_run", rowsCSV(1, 5))
	var wg sync.WaitGroup
	won := make(chan string, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", i)
			r := importer.NewRunner(s.DB, importer.RunnerConfig{Owner: owner}, slog.New(slog.DiscardHandler))
			if ok, _ := r.RunOnce(context.Background()); ok {
				won <- owner
			}
		}()
	}
	wg.Wait()
	close(won)
	if n := len(won); n != 1 {
		t.Errorf("%d workers took the job", n)
	}
	if status, _ := wait(t, s, id); status != importer.StatusSucceeded {
		t.Errorf("status %s", status)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	now := time.Now().UTC()
	n := 0
	job := func(name, status string, updated time.Time, finished *time.Time) int64 {
		n++
		res, err := s.DB.Exec(`INSERT INTO import_jobs (public_id, status, file_name, field_delimiter, column_map, ignored_columns, created_at, updated_at, finished_at)
			VALUES (?, ?, ?, ',', '[]', '[]', ?, ?, ?)`, fmt.Sprintf("01JD3M5X7V8Q9R2S4T6W8Y0Z%02d", n), status, name, updated, updated, finished)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		for row := 1; row <= 3; row++ {
			if _, err := s.DB.Exec("INSERT INTO import_rows (import_id, row_no, line_no, data) VALUES (?, ?, ?, '[]')", id, row, row+1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB.Exec("INSERT INTO import_errors (import_id, row_no, line_no, message) VALUES (?, 1, 2, 'x')", id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	old, recent := now.Add(-importer.Retention-time.Hour), now.Add(-24*time.Hour)
	job("abandoned", "receiving", now.Add(-2*time.Hour), nil)
	arriving := job("arriving", "receiving", now.Add(-time.Minute), nil)
	job("old", "succeeded", old, &old)
	keep := job("recent", "failed", recent, &recent)
	if err := importer.Purge(context.Background(), s.DB, now); err != nil {
		t.Fatal(err)
	}
	var jobs, rows, errs string
	_ = s.DB.QueryRow(`SELECT (SELECT GROUP_CONCAT(id ORDER BY id) FROM import_jobs),
		(SELECT GROUP_CONCAT(DISTINCT import_id ORDER BY import_id) FROM import_rows),
		(SELECT GROUP_CONCAT(import_id ORDER BY import_id) FROM import_errors)`).Scan(&jobs, &rows, &errs)
	want := fmt.Sprintf("%d,%d", arriving, keep)
	if jobs != want || rows != want || errs != want {
		t.Errorf("left: jobs %s, staged rows of %s, problems of %s; want %s", jobs, rows, errs, want)
	}
}
