package importer_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/importer"
	"github.com/alumnid/alumnid/internal/seed"
)

// BenchmarkImport imports a CSV file of IMPORT_BENCH_ROWS (default 100,000) synthetic alumni
// (internal/seed's people, one degree each) in apply mode into a fresh database, through the
// HTTP API and the worker (batches of IMPORT_BENCH_BATCH rows, default 500): upload, staging
// and processing, until the job has succeeded. Run it once:
//
//	go test ./internal/importer/ -run '^$' -bench Import -benchtime 1x
func BenchmarkImport(b *testing.B) {
	rows, batch := 100_000, 0
	if n, err := strconv.Atoi(os.Getenv("IMPORT_BENCH_ROWS")); err == nil && n > 0 {
		rows = n
	}
	if n, err := strconv.Atoi(os.Getenv("IMPORT_BENCH_BATCH")); err == nil && n > 0 {
		batch = n
	}
	for range b.N {
		b.StopTimer()
		s := apitest.NewServer(b, apitest.DefaultConfig(), apitest.WithoutImportWorker())
		s.StartImportWorker(b, importer.RunnerConfig{BatchSize: batch}) // 0: the default, 500
		b.StartTimer()
		uploaded, total := importOnce(b, s, generate(rows, ""), rows, "created_count")
		b.StopTimer()
		b.ReportMetric(uploaded.Seconds(), "upload-s")
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(float64(rows)/total.Seconds(), "rows/s")
		// The same file again: every row unchanged.
		_, again := importOnce(b, s, generate(rows, ""), rows, "unchanged_count")
		b.ReportMetric(again.Seconds(), "again-s")
		// Then with another job title on every row: every record updated.
		_, updated := importOnce(b, s, generate(rows, "Benchmark Analyst"), rows, "updated_count")
		b.ReportMetric(updated.Seconds(), "update-s")
	}
}

// importOnce imports file and waits for the job; every one of its rows must end in the count
// column.
func importOnce(b *testing.B, s *apitest.Server, file io.Reader, rows int, column string) (uploaded, total time.Duration) {
	start := time.Now()
	resp := s.Client.Upload("/api/v1/alumni/imports", apitest.Field("mode", "apply"), apitest.File("alumni.csv", file))
	uploaded = time.Since(start)
	if resp.Status != http.StatusAccepted {
		b.Fatalf("upload: %d %s", resp.Status, resp.Body)
	}
	var job struct{ ID string }
	if err := json.Unmarshal(resp.Body, &job); err != nil {
		b.Fatal(err)
	}
	for {
		var status string
		var n int
		err := s.DB.QueryRow("SELECT status, "+column+" FROM import_jobs WHERE public_id = ?", job.ID).Scan(&status, &n)
		if err != nil {
			b.Fatal(err)
		}
		if status == importer.StatusSucceeded || status == importer.StatusFailed {
			if status != importer.StatusSucceeded || n != rows {
				b.Fatalf("import %s: %d %s", status, n, column)
			}
			return uploaded, time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// generate streams a CSV file of n synthetic alumni; a jobTitle other than "" replaces
// every row's.
func generate(n int, jobTitle string) io.Reader {
	r, w := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(w, 64<<10)
		out := csv.NewWriter(bw)
		_ = out.Write([]string{"Student ID", "First name", "Last name", "Preferred name", "Enrolled name", "E-mail", "Work email",
			"Phone", "Address", "City", "Region", "Postal code", "Country", "Employer", "Job title", "Industry", "LinkedIn",
			"Degree", "Major", "Faculty", "Class year", "Tags", "Directory consent", "Status", "Notes"})
		g := seed.NewGenerator(1, 0, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
		for i := 1; i <= n; i++ {
			f := g.Next(i)
			d := f.Degrees[0]
			if jobTitle != "" {
				f.Employment.JobTitle = jobTitle
			}
			_ = out.Write([]string{f.StudentID, f.FirstName, f.LastName, f.PreferredName, f.EnrolledName, f.Email, f.WorkEmail,
				f.Phone, f.Address.Line1, f.Address.City, f.Address.Region, f.Address.PostalCode, f.Address.Country,
				f.Employment.Employer, f.Employment.JobTitle, f.Employment.Industry, f.LinkedInURL,
				d.Degree, d.Program, d.Faculty, strconv.Itoa(d.GraduationYear), strings.Join(f.Tags, ";"),
				yesNo(f.DirectoryConsent), string(f.Status), f.Notes})
		}
		out.Flush()
		_ = bw.Flush()
		_ = w.CloseWithError(out.Error())
	}()
	return r
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
