package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/importer"
)

const importsPath = "/api/v1/alumni/imports"

// upload posts a CSV file with mode (and the other parts) and returns the answer.
func upload(t *testing.T, c *apitest.Client, mode, csv string, more ...apitest.Part) *apitest.Response {
	t.Helper()
	parts := append([]apitest.Part{apitest.Field("mode", mode)}, more...)
	parts = append(parts, apitest.File("alumni.csv", strings.NewReader(csv)))
	return c.Upload(importsPath, parts...)
}

// runImport uploads a CSV file, waits for its job to finish and returns the job.
func runImport(t *testing.T, c *apitest.Client, mode, csv string, more ...apitest.Part) api.ImportJob {
	t.Helper()
	resp := upload(t, c, mode, csv, more...)
	if resp.Status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", resp.Status, resp.Body)
	}
	var j api.ImportJob
	resp.JSON(t, &j)
	if want := importsPath + "/" + j.Id; resp.Header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), want)
	}
	return waitForImport(t, c, j.Id)
}

// waitForImport polls the job until it has finished.
func waitForImport(t *testing.T, c *apitest.Client, id string) api.ImportJob {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp := c.Get(importsPath+"/"+id, nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("get import: %d %s", resp.Status, resp.Body)
		}
		var j api.ImportJob
		resp.JSON(t, &j)
		if j.Status == api.ImportJobStatusSucceeded || j.Status == api.ImportJobStatusFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %s did not finish: %+v", id, j)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func counts(created, updated, unchanged, rejected int) api.ImportCounts {
	return api.ImportCounts{Created: created, Updated: updated, Unchanged: unchanged, Rejected: rejected}
}

// importErrors returns every problem of the job, through the paged list.
func importErrors(t *testing.T, c *apitest.Client, id string) []api.ImportError {
	t.Helper()
	items, _, _ := apitest.Walk[api.ImportError](t, c, importsPath+"/"+id+"/errors", "", 2)
	return items
}

// alumniByStudentID lists every live record as c sees it, by student id.
func alumniByStudentID(t *testing.T, c *apitest.Client) map[string]api.Alumnus {
	t.Helper()
	items, _, _ := apitest.Walk[api.Alumnus](t, c, "/api/v1/alumni", "", 200)
	out := map[string]api.Alumnus{}
	for _, a := range items {
		out[val(a.StudentId)] = a
	}
	return out
}

func val[T any](p *T) T {
	var zero T
	if p != nil {
		return *p
	}
	return zero
}

const registrarCSV = `Student ID,Given name,Surname,E-mail,Degree,Major,Faculty,Class year,Tags,Internal code
S1,Ada,King,ada@example.org,BSc,Mathematics,Science,2008,volunteer;mentor,X1
S2,Grace,Hopper,grace@example.org,PhD,Mathematics,Science,1934,,X2
S3,Alan,Turing,,BSc,Mathematics,Science,1934,donor|board,X3
`

func TestImportDryRunWritesNothing(t *testing.T) {
	s := newServer(t)
	j := runImport(t, s.Client, "dry_run", registrarCSV)
	if j.Status != api.ImportJobStatusSucceeded || j.Mode != api.DryRun || j.TotalRows != 3 || j.ProcessedRows != 3 {
		t.Fatalf("job: %+v", j)
	}
	if diff := cmp.Diff(counts(3, 0, 0, 0), j.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got := alumniByStudentID(t, s.Client); len(got) != 0 {
		t.Errorf("a dry run wrote %d records", len(got))
	}
	var n int
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'alumnus.%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("a dry run wrote %d alumni audit events (%v)", n, err)
	}
	// Against existing records, a dry run reports updates and leaves them as they were.
	runImport(t, s.Client, "apply", registrarCSV)
	before := alumniByStudentID(t, s.Client)
	j = runImport(t, s.Client, "dry_run", strings.ReplaceAll(registrarCSV, "Ada,King", "Ada,Lovelace"))
	if diff := cmp.Diff(counts(0, 1, 2, 0), j.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, alumniByStudentID(t, s.Client)); diff != "" {
		t.Errorf("a dry run changed records (-before +after):\n%s", diff)
	}
}

func TestImportApplyCreatesUpdatesAndIsIdempotent(t *testing.T) {
	s := newServer(t)
	existing, _ := create(t, s.Client, map[string]any{
		"studentId": "S2", "firstName": "Grace", "lastName": "Murray", "phone": "+1 555 0100",
		"degrees": []any{map[string]any{"degree": "MA", "program": "Mathematics", "graduationYear": 1930}},
		"tags":    []any{"navy"},
	})
	j := runImport(t, s.Client, "apply", registrarCSV)
	if j.Status != api.ImportJobStatusSucceeded || j.Mode != api.Apply {
		t.Fatalf("job: %+v", j)
	}
	if diff := cmp.Diff(counts(2, 1, 0, 0), j.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if j.IgnoredColumns == nil || strings.Join(j.IgnoredColumns, ",") != "Internal code" {
		t.Errorf("ignoredColumns = %v", j.IgnoredColumns)
	}
	got := alumniByStudentID(t, s.Client)
	ada := got["S1"]
	if ada.FirstName != "Ada" || string(val(ada.Email)) != "ada@example.org" || strings.Join(val(ada.Tags), ",") != "mentor,volunteer" ||
		len(ada.Degrees) != 1 || ada.Degrees[0].Program != "Mathematics" || !val(ada.Degrees[0].Primary) {
		t.Errorf("created record: %+v", ada)
	}
	if turing := got["S3"]; strings.Join(val(turing.Tags), ",") != "board,donor" || turing.Email != nil {
		t.Errorf("created record: %+v", turing)
	}
	// The update changes the cells given, keeps the rest (the phone, an empty email cell
	// clears nothing), adds the degree and the tags.
	grace := got["S2"]
	if grace.Id != existing.Id || grace.LastName != "Hopper" || val(grace.Phone) != "+1 555 0100" || string(val(grace.Email)) != "grace@example.org" {
		t.Errorf("updated record: %+v", grace)
	}
	if len(grace.Degrees) != 2 || grace.Degrees[0].Degree != "MA" || !val(grace.Degrees[0].Primary) || grace.Degrees[1].Degree != "PhD" {
		t.Errorf("degrees: %+v", grace.Degrees)
	}
	_, etag := getAlumnus(t, s.Client, grace.Id)
	if etag != `"2"` {
		t.Errorf("ETag after the update = %s", etag)
	}

	// The same file again changes nothing: no version bump, no audit event.
	var events int
	_ = s.DB.QueryRow("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'alumnus.%'").Scan(&events)
	j = runImport(t, s.Client, "apply", registrarCSV)
	if diff := cmp.Diff(counts(0, 0, 3, 0), j.Counts); diff != "" {
		t.Errorf("second run counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, alumniByStudentID(t, s.Client)); diff != "" {
		t.Errorf("second run changed records:\n%s", diff)
	}
	var after int
	_ = s.DB.QueryRow("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'alumnus.%'").Scan(&after)
	if after != events {
		t.Errorf("second run wrote %d audit events", after-events)
	}
	if _, etag := getAlumnus(t, s.Client, grace.Id); etag != `"2"` {
		t.Errorf("ETag after the second run = %s", etag)
	}
	// The staged rows are gone.
	var staged int
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM import_rows").Scan(&staged); err != nil || staged != 0 {
		t.Errorf("%d staged rows left (%v)", staged, err)
	}
}

func TestImportRoles(t *testing.T) {
	s := newServer(t)
	for _, role := range []auth.Role{auth.RoleViewer} {
		c := s.As(t, role)
		if r := upload(t, c, "dry_run", registrarCSV); r.Status != http.StatusForbidden {
			t.Errorf("%s upload: %d %s", role, r.Status, r.Body)
		}
		if r := c.Get(importsPath, nil); r.Status != http.StatusForbidden {
			t.Errorf("%s list: %d", role, r.Status)
		}
	}
	own, _ := create(t, s.Client, map[string]any{"firstName": "Own", "lastName": "Record"})
	if r := upload(t, s.AsAlumnus(t, own.Id), "apply", registrarCSV); r.Status != http.StatusForbidden {
		t.Errorf("alumnus upload: %d %s", r.Status, r.Body)
	}
	staff := s.As(t, auth.RoleStaff)
	j := runImport(t, staff, "apply", registrarCSV)
	if j.Counts.Created != 3 {
		t.Errorf("staff import: %+v", j)
	}
	if r := s.Anon.Get(importsPath+"/"+j.Id, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous get: %d", r.Status)
	}
	if r := staff.Get(importsPath+"/01JD3M5X7V8Q9R2S4T6W8Y0Z1E", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown import: %d", r.Status)
	}
	if r := staff.Get(importsPath+"/01JD3M5X7V8Q9R2S4T6W8Y0Z1E/errors", nil); r.Status != http.StatusNotFound {
		t.Errorf("errors of an unknown import: %d", r.Status)
	}
	list := staff.Get(importsPath+"?limit=1", nil)
	var page api.ImportJobPage
	list.JSON(t, &page)
	if list.Status != http.StatusOK || len(page.Items) != 1 || page.Items[0].Id != j.Id || page.Items[0].Errors != nil {
		t.Errorf("list: %d %s", list.Status, list.Body)
	}
}

func TestImportReportsProblemsByRowAndColumn(t *testing.T) {
	s := newServer(t)
	csv := "Student ID,First name,Last name,Email,Degree,Major,Graduation year,Country,Directory consent\n" +
		"S1,Ada,King,ada@example.org,BSc,Maths,2008,GB,yes\n" + // row 1: created
		"S2,Grace,,grace@example.org,,,,US,no\n" + // row 2: no last name
		"S3,Alan,Turing,not-an-email,BSc,Maths,20x8,XX,maybe\n" + // row 3: four problems
		"S4,Bad \"quote\",Turing,,,,,,\n" + // row 4: not CSV
		"S5,Too,Few\n" + // row 5: too few cells
		"\n" + // a blank line is skipped
		"s1,Ada,Again,ada2@example.org,,,,,\n" + // row 6: the student id of row 1
		"S6,Eve,Other,ADA@example.org,,,,,\n" + // row 7: the email of row 1
		",Nobody,Keyless,,,,,,\n" + // row 8: nothing to match on
		",,,,,,,,\n" + // an empty row is skipped
		"S7,Kat,Ok,kat@example.org,,,,zz,\n" + // row 9: unknown country
		"S8,Kit,New,,BSc,,1999,,\n" // row 10: a new degree needs a program
	j := runImport(t, s.Client, "apply", csv)
	if diff := cmp.Diff(counts(1, 0, 0, 9), j.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if j.TotalRows != 10 || j.ProcessedRows != 10 {
		t.Errorf("rows: %d total, %d processed", j.TotalRows, j.ProcessedRows)
	}
	e := func(row, line int, column, field, message string) api.ImportError {
		return api.ImportError{Row: row, Line: line, Column: opt(column), Field: opt(field), Message: message}
	}
	want := []api.ImportError{
		e(2, 3, "Last name", "lastName", "is required"),
		e(3, 4, "Graduation year", "graduationYear", "must be a year like 2008"),
		e(3, 4, "Directory consent", "directoryConsent", "must be yes or no (true/false, 1/0)"),
		e(3, 4, "Email", "email", "must be an email address like name@example.org"),
		e(3, 4, "Country", "address.country", "must be an ISO 3166-1 alpha-2 country code"),
		e(4, 5, "", "", `line 5, column 8: a quote (") inside a cell that does not start with one; write the cell in quotes and double the quote ("")`),
		e(5, 6, "", "", "has 3 cells but the header has 9 columns"),
		e(6, 8, "Student ID", "studentId", "is the same as in row 1; only the first row with a student id is imported"),
		e(7, 9, "Email", "email", "is the same as in row 1; only the first row with an email is imported"),
		e(8, 10, "Student ID", "studentId", "has no student id and no email, so it cannot be matched"),
		e(9, 12, "Country", "address.country", "must be an ISO 3166-1 alpha-2 country code"),
		e(10, 13, "Major", "program", "is required"),
	}
	if diff := cmp.Diff(want, importErrors(t, s.Client, j.Id)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if j.ErrorCount != len(want) || j.Errors == nil || len(*j.Errors) != len(want) {
		t.Errorf("errorCount %d, errors %v", j.ErrorCount, j.Errors)
	}
	if got := alumniByStudentID(t, s.Client); len(got) != 1 || got["S1"].LastName != "King" {
		t.Errorf("records: %v", got)
	}
	// A cursor of one import's problems is no good for another's.
	other := runImport(t, s.Client, "dry_run", csv)
	first := s.Client.Get(importsPath+"/"+j.Id+"/errors?limit=1", nil)
	var page api.ImportErrorPage
	first.JSON(t, &page)
	if r := s.Client.Get(importsPath+"/"+other.Id+"/errors?limit=1&cursor="+url.QueryEscape(val(page.NextCursor)), nil); r.Status != http.StatusBadRequest {
		t.Errorf("cursor of another import: %d %s", r.Status, r.Body)
	}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func TestImportFormats(t *testing.T) {
	s := newServer(t)
	// A byte order mark, semicolons, CRLF line ends, quoted cells with the delimiter and a line
	// break, tags separated by | (as ; is the delimiter), recognized headers in any spelling.
	csv := "\uFEFFstudent_id;E-MAIL;GIVEN NAME;surname;Graduation Year;major;degree;TAGS;Notes\r\n" +
		"S10;li@example.org;Li;\"Wei; Jr.\";2015;Physics;BSc;alpha|beta;\"two\r\nlines\"\r\n"
	j := runImport(t, s.Client, "apply", csv)
	if j.Delimiter != ";" || j.Counts.Created != 1 || j.Counts.Rejected != 0 {
		t.Fatalf("job: %+v %v", j, importErrors(t, s.Client, j.Id))
	}
	wantColumns := []api.ImportColumn{
		{Column: "student_id", Field: "studentId"}, {Column: "E-MAIL", Field: "email"}, {Column: "GIVEN NAME", Field: "firstName"},
		{Column: "surname", Field: "lastName"}, {Column: "Graduation Year", Field: "graduationYear"}, {Column: "major", Field: "program"},
		{Column: "degree", Field: "degree"}, {Column: "TAGS", Field: "tags"}, {Column: "Notes", Field: "notes"},
	}
	if diff := cmp.Diff(wantColumns, j.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	a := alumniByStudentID(t, s.Client)["S10"]
	if a.LastName != "Wei; Jr." || strings.Join(val(a.Tags), ",") != "alpha,beta" || val(a.Notes) != "two\nlines" ||
		a.Degrees[0].Program != "Physics" || a.Degrees[0].GraduationYear != 2015 {
		t.Errorf("record: %+v", a)
	}
	// Commas: tags separated by ; or |.
	j = runImport(t, s.Client, "apply", "Student ID,Tags\nS10,gamma; delta|alpha\n")
	if j.Counts.Updated != 1 || j.Delimiter != "," {
		t.Fatalf("job: %+v", j)
	}
	if a := alumniByStudentID(t, s.Client)["S10"]; strings.Join(val(a.Tags), ",") != "alpha,beta,delta,gamma" {
		t.Errorf("tags: %v", val(a.Tags))
	}
}

func TestImportMapping(t *testing.T) {
	s := newServer(t)
	csv := "Matrikelnummer,Vorname,Nachname,Internal code,Email\nM-1,Karl,Gauss,X,karl@example.org\n"
	mapping := apitest.Field("mapping", `{"Matrikelnummer": "studentId", "vorname": "firstName", "Nachname": "lastName", "Email": ""}`)
	j := runImport(t, s.Client, "apply", csv, mapping)
	if j.Counts.Created != 1 || strings.Join(j.IgnoredColumns, "|") != "Internal code|Email" {
		t.Fatalf("job: %+v %v", j, importErrors(t, s.Client, j.Id))
	}
	a := alumniByStudentID(t, s.Client)["M-1"]
	if a.FirstName != "Karl" || a.LastName != "Gauss" || a.Email != nil {
		t.Errorf("record: %+v", a)
	}
}

func TestImportMatchesStudentIDThenEmail(t *testing.T) {
	s := newServer(t)
	byID, _ := create(t, s.Client, map[string]any{"studentId": "S1", "firstName": "Ada", "lastName": "King", "email": "ada@example.org"})
	byEmail, _ := create(t, s.Client, map[string]any{"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.org"})
	other, _ := create(t, s.Client, map[string]any{"studentId": "S9", "firstName": "Alan", "lastName": "Turing", "email": "alan@example.org"})
	gone, _ := create(t, s.Client, map[string]any{"studentId": "S8", "firstName": "Gone", "lastName": "Away"})
	if r := s.Client.Delete("/api/v1/alumni/"+gone.Id, ""); r.Status != http.StatusNoContent {
		t.Fatal(r.Status)
	}
	csv := "Student ID,Email,Last name\n" +
		"S1,ada.new@example.org,Lovelace\n" + // the student id wins: the email changes
		"S2,GRACE@example.org,Murray\n" + // no such student id: the email matches, the id is set
		"S3,alan@example.org,Other\n" + // the email belongs to a record with another student id
		"S4,,Nobody\n" + // no match: a new record, which needs a first name
		"S1X,ada@example.org,\n" + // the email ada@ had is free now, but S1X is new and has no names
		"S8,,Back\n" // the record is in the trash
	j := runImport(t, s.Client, "apply", csv)
	if diff := cmp.Diff(counts(0, 2, 0, 4), j.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s\n%v", diff, importErrors(t, s.Client, j.Id))
	}
	got := alumniByStudentID(t, s.Client)
	if a := got["S1"]; a.Id != byID.Id || a.LastName != "Lovelace" || string(val(a.Email)) != "ada.new@example.org" {
		t.Errorf("matched by student id: %+v", a)
	}
	if a := got["S2"]; a.Id != byEmail.Id || a.LastName != "Murray" {
		t.Errorf("matched by email: %+v", a)
	}
	if a := got["S9"]; a.Id != other.Id || a.LastName != "Turing" {
		t.Errorf("email of another student id: %+v", a)
	}
	errs := importErrors(t, s.Client, j.Id)
	want := map[int]string{
		3: "email: belongs to the record with student id S9",
		4: "firstName: is required",
		5: "firstName: is required",
		6: "studentId: matches a deleted record; restore it first",
	}
	for _, e := range errs {
		if w, ok := want[e.Row]; ok && strings.HasPrefix(w, val(e.Field)+": ") && strings.HasSuffix(w, e.Message) {
			delete(want, e.Row)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing problems %v in %+v", want, errs)
	}
}

func TestImportUniqueConflictRejectsOnlyThatRow(t *testing.T) {
	s := newServer(t)
	create(t, s.Client, map[string]any{"studentId": "S1", "firstName": "Ada", "lastName": "King", "email": "ada@example.org"})
	create(t, s.Client, map[string]any{"studentId": "S2", "firstName": "Grace", "lastName": "Hopper", "email": "grace@example.org"})
	csv := "Student ID,Email,City\n" +
		"S1,,London\n" +
		"S2,ada@example.org,Arlington\n" + // ada@ belongs to S1: this row is rejected whole
		"S3,,Paris\n"
	j := runImport(t, s.Client, "apply", csv, apitest.Field("mapping", `{"City": "address.city"}`))
	if diff := cmp.Diff(counts(0, 1, 0, 2), j.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	got := alumniByStudentID(t, s.Client)
	if a := got["S2"]; string(val(a.Email)) != "grace@example.org" || a.Address != nil && val(a.Address.City) != "" {
		t.Errorf("the rejected row changed its record: %+v", a)
	}
	if a := got["S1"]; a.Address == nil || val(a.Address.City) != "London" {
		t.Errorf("the other rows were not applied: %+v", a)
	}
	errs := importErrors(t, s.Client, j.Id)
	if len(errs) < 2 || errs[0].Row != 2 || val(errs[0].Column) != "Email" || errs[0].Message != "another record already has this email" {
		t.Errorf("errors: %+v", errs)
	}
}

func TestImportRefusesWhatItCannotRead(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.ImportMaxBytes = 256 << 10
	cfg.Domain.ImportLimits.MaxRows = 5
	cfg.Domain.ImportLimits.MaxRowBytes = 128 << 10
	s := apitest.NewServer(t, cfg)
	csv := func(body string) apitest.Part { return apitest.File("alumni.csv", strings.NewReader(body)) }
	mode := apitest.Field("mode", "apply")
	good := "Student ID,First name,Last name\nS1,Ada,King\n"
	tests := []struct {
		name   string
		parts  []apitest.Part
		status int
		field  string
		detail string // part of the problem's message
	}{
		{"Latin-1", []apitest.Part{mode, csv("Student ID,First name,Last name\nS1,Jos\xe9,Garc\xeda\n")}, 400, "file", "line 2 has bytes that are not UTF-8"},
		{"Latin-1 header", []apitest.Part{mode, csv("Student ID,Pr\xe9nom\nS1,Jos\n")}, 400, "file", "line 1 has bytes that are not UTF-8"},
		{"tab-separated", []apitest.Part{mode, csv("Student ID\tFirst name\tLast name\nS1\tAda\tKing\n")}, 400, "file", "tab-separated"},
		{"one unknown column", []apitest.Part{mode, csv("Student ID|First name|Last name\nS1|Ada|King\n")}, 400, "file", "has only one column"},
		{"no key column", []apitest.Part{mode, csv("First name,Last name,Phone\nAda,King,123\n")}, 400, "file", "needs a studentId column"},
		{"the same field twice", []apitest.Part{mode, csv("Email,E-mail,Last name\na@example.org,b@example.org,King\n")}, 400, "file", `columns "Email" and "E-mail" both set email`},
		{"empty", []apitest.Part{mode, csv("")}, 400, "file", "is empty"},
		{"workbook", []apitest.Part{mode, csv("PK\x03\x04\x14\x00\x06\x00")}, 400, "file", "Excel workbook"},
		{"UTF-16", []apitest.Part{mode, csv("\xff\xfeS\x00")}, 400, "file", "UTF-16"},
		{"a quote left open", []apitest.Part{mode, csv("Student ID,Notes\nS1,x\nS2,\"" + strings.Repeat("x\n", 110<<10))}, 400, "file", "longer than 128 KiB after line 2"},
		{"too many rows", []apitest.Part{mode, csv("Student ID\nS1\nS2\nS3\nS4\nS5\nS6\n")}, 413, "file", "more than 5 rows"},
		{"no mode", []apitest.Part{csv(good)}, 400, "mode", "is required"},
		{"unknown mode", []apitest.Part{apitest.Field("mode", "now"), csv(good)}, 400, "mode", "must be dry_run or apply"},
		{"mode twice", []apitest.Part{mode, mode, csv(good)}, 400, "mode", "is given twice"},
		{"no file", []apitest.Part{mode}, 400, "file", "is required"},
		{"unknown part", []apitest.Part{mode, apitest.Field("sheet", "1"), csv(good)}, 400, "sheet", "is not a field of this form"},
		{"mapping after the file", []apitest.Part{mode, csv(good), apitest.Field("mapping", "{}")}, 400, "mapping", "must come before file"},
		{"mapping not JSON", []apitest.Part{mode, apitest.Field("mapping", "Student ID=studentId"), csv(good)}, 400, "mapping", "must be a JSON object"},
		{"mapping to no field", []apitest.Part{mode, apitest.Field("mapping", `{"Student ID": "matriculation"}`), csv(good)}, 400, "mapping", `"matriculation" is not a field`},
		{"mapping of no column", []apitest.Part{mode, apitest.Field("mapping", `{"Matrikel": "studentId"}`), csv(good)}, 400, "mapping", `"Matrikel" is not a column of the file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.Client.Upload(importsPath, tt.parts...)
			p := assertProblem(t, resp, tt.status, tt.field)
			said := val(p.Detail)
			for _, e := range val(p.Errors) {
				said += "\n" + e.Message
			}
			if !strings.Contains(said, tt.detail) {
				t.Errorf("%s does not say %q", resp.Body, tt.detail)
			}
		})
	}

	// Bodies that are not a form at all.
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"JSON", "application/json", `{"mode": "apply"}`, http.StatusUnsupportedMediaType},
		{"no boundary", "multipart/form-data", "--x\r\n", http.StatusBadRequest},
		{"broken form", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\napply", http.StatusBadRequest},
	} {
		resp := s.Client.Do(apitest.Request{Method: http.MethodPost, Path: importsPath, Body: tt.body, ContentType: tt.contentType})
		if resp.Status != tt.status {
			t.Errorf("%s: %d %s", tt.name, resp.Status, resp.Body)
		}
	}

	// Over the size limit: refused at once when Content-Length says so, and when a streamed
	// body grows past it.
	big := "Student ID\n" + strings.Repeat("S0000001\n", 40_000)
	var form strings.Builder
	form.WriteString("--x\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\napply\r\n")
	form.WriteString("--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n" + big + "\r\n--x--\r\n")
	resp := s.Client.Do(apitest.Request{Method: http.MethodPost, Path: importsPath, Body: []byte(form.String()), ContentType: "multipart/form-data; boundary=x"})
	assertProblem(t, resp, http.StatusRequestEntityTooLarge, "file")
	resp = s.Client.Upload(importsPath, mode, csv(big))
	assertProblem(t, resp, http.StatusRequestEntityTooLarge, "file")

	// Nothing of the refused uploads stays behind.
	for _, table := range []string{"import_jobs", "import_rows", "import_errors"} {
		var n int
		if err := s.DB.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s has %d rows (%v)", table, n, err)
		}
	}
	if strings.Contains(s.Logs(), `"level":"ERROR"`) {
		t.Errorf("bad uploads were logged as errors:\n%s", s.Logs())
	}
}

func TestImportIsAudited(t *testing.T) {
	s := newServer(t)
	existing, _ := create(t, s.Client, map[string]any{"studentId": "S2", "firstName": "Grace", "lastName": "Murray"})
	staff := s.As(t, auth.RoleStaff)
	me := whoAmI(t, staff)
	resp := upload(t, staff, "apply", registrarCSV)
	mustStatus(t, resp, http.StatusAccepted)
	var j api.ImportJob
	resp.JSON(t, &j)
	j = waitForImport(t, staff, j.Id)

	events := eventsOf(auditAll(t, s.Client, ""), requestIDOf(resp))
	slices.Reverse(events) // oldest first
	// Within a batch, the updates come first and the new records after; then the batch's
	// progress (for real-time subscribers) and the end of the import.
	if got := strings.Join(actions(events), " "); got != "import.create alumnus.update alumnus.create alumnus.create import.progress import.complete" {
		t.Fatalf("events of the upload: %s", got)
	}
	for _, e := range events {
		if e.Actor == nil || e.Actor.Id != me.User.Id || e.Actor.Role != api.Role(auth.RoleStaff) {
			t.Errorf("%s: actor %+v, want the uploader", e.Action, e.Actor)
		}
	}
	created := changeMap(events[0])
	if events[0].EntityType != "import" || val(events[0].EntityId) != j.Id || created["fileName"].After != "alumni.csv" ||
		created["mode"].After != "apply" || created["fileSize"].After != float64(len(registrarCSV)) || created["totalRows"].After != float64(3) {
		t.Errorf("import.create: %+v %v", events[0], created)
	}
	if update := changeMap(events[1]); val(events[1].EntityId) != existing.Id || update["lastName"].Before != "Murray" || update["lastName"].After != "Hopper" {
		t.Errorf("alumnus.update: %+v", update)
	}
	if progress := changeMap(events[4]); progress["status"].After != "running" || progress["processedRows"].After != float64(3) || progress["created"].After != float64(2) {
		t.Errorf("import.progress: %v", progress)
	}
	done := changeMap(events[5])
	if done["status"].After != "succeeded" || done["created"].After != float64(2) || done["updated"].After != float64(1) || done["rejected"].After != float64(0) {
		t.Errorf("import.complete: %v", done)
	}

	// A dry run is audited as an import, without changes to records.
	resp = upload(t, staff, "dry_run", strings.ReplaceAll(registrarCSV, "King", "Lovelace"))
	mustStatus(t, resp, http.StatusAccepted)
	resp.JSON(t, &j)
	waitForImport(t, staff, j.Id)
	if got := strings.Join(actions(eventsOf(auditAll(t, s.Client, ""), requestIDOf(resp))), " "); got != "import.complete import.progress import.create" {
		t.Errorf("events of a dry run: %s", got)
	}
}

// TestImportStreamsLargeFiles imports 100,000 rows sent as they are generated: the rows are
// staged while the upload is still arriving (nothing holds the body whole first), and all of
// them end up as records. (Few columns, so that it stays quick under the race detector.)
func TestImportStreamsLargeFiles(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	s.StartImportWorker(t, importer.RunnerConfig{BatchSize: 1000})
	const rows = 100_000
	body, w := io.Pipe()
	halfway := make(chan struct{})
	var once sync.Once
	proceed := func() { once.Do(func() { close(halfway) }) }
	t.Cleanup(proceed)
	go func() {
		bw := bufio.NewWriter(w)
		_, _ = bw.WriteString("Student ID,First name,Last name,Email\n")
		for i := 1; i <= rows; i++ {
			if i == 2_000 {
				_ = bw.Flush()
				<-halfway
			}
			_, _ = fmt.Fprintf(bw, "S%07d,Given%d,Family%d,person%d@example.org\n", i, i, i%977, i)
		}
		_ = bw.Flush()
		_ = w.Close()
	}()
	answer := make(chan *apitest.Response, 1)
	go func() {
		defer close(answer) // also when the client gives up (t.Fatalf ends this goroutine)
		answer <- s.Client.Upload(importsPath, apitest.Field("mode", "apply"), apitest.File("big.csv", body))
	}()
	deadline := time.Now().Add(time.Minute)
	for staged := 0; staged < 1_000; {
		if time.Now().After(deadline) {
			t.Fatal("no rows were staged while the upload was arriving")
		}
		time.Sleep(10 * time.Millisecond)
		_ = s.DB.QueryRow("SELECT COUNT(*) FROM import_rows").Scan(&staged)
	}
	proceed()
	resp, ok := <-answer
	if !ok {
		t.Fatal("the upload failed")
	}
	mustStatus(t, resp, http.StatusAccepted)
	var j api.ImportJob
	resp.JSON(t, &j)
	if j.TotalRows != rows {
		t.Fatalf("job: %+v", j)
	}
	j = waitForImport(t, s.Client, j.Id)
	if j.Status != api.ImportJobStatusSucceeded || j.Counts != counts(rows, 0, 0, 0) || j.ProcessedRows != rows {
		t.Fatalf("job: %+v %v", j, val(j.Errors))
	}
	var alumni, events int
	_ = s.DB.QueryRow("SELECT (SELECT COUNT(*) FROM alumni), (SELECT COUNT(*) FROM audit_events WHERE action = 'alumnus.create')").Scan(&alumni, &events)
	if alumni != rows || events != rows {
		t.Errorf("%d alumni, %d audit events", alumni, events)
	}
}

// TestImportResumesAfterInterruption stops a worker in the middle of an import and lets the
// job be taken over, also from a worker that died holding it: the end state is the one an
// uninterrupted import of the same file reaches, with every row applied once.
func TestImportResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig(), apitest.WithoutImportWorker())
	const rows = 3000
	var b strings.Builder
	b.WriteString("Student ID,First name,Last name,Email,Degree,Program,Graduation year,Tags\n")
	bad := 0
	for i := 1; i <= rows; i++ {
		email := fmt.Sprintf("p%d@example.org", i)
		if i%97 == 0 {
			email, bad = "not-an-email", bad+1
		}
		fmt.Fprintf(&b, "S%05d,Given%d,Family%d,%s,BSc,Program %d,%d,t%d|all\n", i, i, i, email, i%13, 1980+i%40, i%5)
	}
	csv := b.String()
	resp := upload(t, s.Client, "apply", csv)
	mustStatus(t, resp, http.StatusAccepted)
	var j api.ImportJob
	resp.JSON(t, &j)
	get := func() api.ImportJob {
		var j2 api.ImportJob
		mustStatus(t, s.Client.Get(importsPath+"/"+j.Id, nil), http.StatusOK).JSON(t, &j2)
		return j2
	}

	// Worker A stops after a few batches, most likely in the middle of one.
	stopA := s.StartImportWorker(t, importer.RunnerConfig{BatchSize: 100, Owner: "worker-a"})
	for deadline := time.Now().Add(time.Minute); get().ProcessedRows < 500; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("worker A did not get going")
		}
	}
	stopA()
	j = get()
	if j.Status != api.ImportJobStatusRunning || j.ProcessedRows%100 != 0 || j.ProcessedRows >= rows {
		t.Fatalf("after stopping worker A: %+v", j)
	}
	// What was committed is whole batches: each with its records, children and audit events.
	var records, degrees, events, problems int
	_ = s.DB.QueryRow(`SELECT (SELECT COUNT(*) FROM alumni), (SELECT COUNT(*) FROM degrees),
		(SELECT COUNT(*) FROM audit_events WHERE action = 'alumnus.create'), (SELECT COUNT(*) FROM import_errors)`).Scan(&records, &degrees, &events, &problems)
	if records != j.Counts.Created || degrees != records || events != records || problems != j.ErrorCount ||
		j.Counts.Created+j.Counts.Rejected != j.ProcessedRows {
		t.Fatalf("after %d rows: %d records, %d degrees, %d events, %d problems; job %+v", j.ProcessedRows, records, degrees, events, problems, j)
	}

	// A worker that died holding the job: its lease must run out before another takes over.
	if _, err := s.DB.Exec("UPDATE import_jobs SET lease_owner = 'crashed', lease_expires_at = ? WHERE public_id = ?",
		time.Now().UTC().Add(3*time.Second), j.Id); err != nil {
		t.Fatal(err)
	}
	s.StartImportWorker(t, importer.RunnerConfig{BatchSize: 100, Owner: "worker-b"})
	time.Sleep(500 * time.Millisecond)
	if again := get(); again.ProcessedRows != j.ProcessedRows {
		t.Fatalf("worker B took the job while its lease was valid: %+v", again)
	}
	j = waitForImport(t, s.Client, j.Id)
	if j.Status != api.ImportJobStatusSucceeded || j.Counts != counts(rows-bad, 0, 0, bad) || j.ProcessedRows != rows || j.ErrorCount != bad {
		t.Fatalf("resumed import: %+v", j)
	}
	var failures int
	if err := s.DB.QueryRow("SELECT failed_attempts FROM import_jobs WHERE public_id = ?", j.Id).Scan(&failures); err != nil || failures != 0 {
		t.Errorf("stopping and taking over counted %d failed attempts (%v)", failures, err)
	}

	// The same end state as an uninterrupted import of the same file.
	other := apitest.NewServer(t, apitest.DefaultConfig())
	if o := runImport(t, other.Client, "apply", csv); o.Counts != j.Counts {
		t.Fatalf("uninterrupted import: %+v", o)
	}
	if diff := cmp.Diff(importState(t, other), importState(t, s)); diff != "" {
		t.Errorf("the resumed import differs from an uninterrupted one (-uninterrupted +resumed):\n%s", diff)
	}
}

// importState describes the records, their children and audit events, and the import's
// problems, without ids and times.
func importState(t *testing.T, s *apitest.Server) []string {
	t.Helper()
	return lines(t, s, `
		SELECT CONCAT_WS('|', a.student_id, a.first_name, a.last_name, COALESCE(a.email, ''), a.version,
		  (SELECT GROUP_CONCAT(CONCAT_WS(':', d.position, d.degree, d.program, d.graduation_year, d.is_primary) ORDER BY d.position)
		     FROM degrees d WHERE d.alumnus_id = a.id),
		  (SELECT GROUP_CONCAT(g.tag ORDER BY g.tag) FROM alumni_tags g WHERE g.alumnus_id = a.id),
		  (SELECT GROUP_CONCAT(e.action ORDER BY e.id) FROM audit_events e WHERE e.entity_type = 'alumnus' AND e.entity_id = a.public_id))
		FROM alumni a
		UNION ALL
		SELECT CONCAT_WS('|', 'problem', row_no, line_no, COALESCE(column_name, ''), COALESCE(field, ''), message) FROM import_errors
		ORDER BY 1`)
}

// lines returns the one text column of the rows query returns.
func lines(t *testing.T, s *apitest.Server, query string) []string {
	t.Helper()
	rows, err := s.DB.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Two rows of one batch can reach the same record, by its student id and by its email: the
// second sees the first's change.
func TestImportRowsReachingOneRecord(t *testing.T) {
	s := newServer(t)
	a, _ := create(t, s.Client, map[string]any{"studentId": "S1", "firstName": "Ada", "lastName": "King", "email": "ada@example.org"})
	j := runImport(t, s.Client, "apply", "Student ID,Email,City,Phone\nS1,,London,\n,ada@example.org,,+44 20 7946 0958\n")
	if j.Counts != counts(0, 2, 0, 0) {
		t.Fatalf("counts %+v %v", j.Counts, importErrors(t, s.Client, j.Id))
	}
	got, etag := getAlumnus(t, s.Client, a.Id)
	if got.Address == nil || val(got.Address.City) != "London" || val(got.Phone) != "+44 20 7946 0958" || etag != `"3"` {
		t.Errorf("record %+v, ETag %s", got, etag)
	}
	// The batch's counts, written once for both rows, are those a recount finds.
	written := statRows(t, s)
	if err := alumni.NewStore(s.DB).RebuildStats(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(statRows(t, s), written); diff != "" {
		t.Errorf("counts after the import differ from a recount (-recount +import):\n%s", diff)
	}
}

// statRows returns the summary counts (alumni_stats) other than zero, one line per row.
func statRows(t *testing.T, s *apitest.Server) []string {
	t.Helper()
	return lines(t, s, "SELECT CONCAT_WS(' ', dim, value, deleted, consent, listed, n) FROM alumni_stats WHERE n <> 0 ORDER BY 1")
}

// The office's list of import jobs pages newest first, and its cursor is bound to the list.
func TestImportJobsList(t *testing.T) {
	s := newServer(t)
	var ids []string
	for i := range 3 {
		csv := fmt.Sprintf("Student ID,Given name,Surname\nS%d,Ada,King\n", i)
		ids = append(ids, runImport(t, s.Client, "dry_run", csv).Id)
	}
	items, pages, _ := apitest.Walk[api.ImportJob](t, s.Client, importsPath, "", 2)
	if pages != 2 || len(items) != 3 {
		t.Fatalf("%d jobs in %d pages, want 3 in 2", len(items), pages)
	}
	for i, j := range items {
		if want := ids[len(ids)-1-i]; j.Id != want {
			t.Errorf("job %d is %s, want %s (newest first)", i, j.Id, want)
		}
	}
	assertProblem(t, s.Client.Get(importsPath+"?cursor=not-a-cursor", nil), http.StatusBadRequest, "cursor")
	assertProblem(t, s.Client.Get(importsPath+"/"+ids[0]+"/errors?cursor=not-a-cursor", nil), http.StatusBadRequest, "cursor")
	assertProblem(t, s.Client.Get(importsPath+"/01JD3M5X7V8Q9R2S4T6W8Y0Z1A", nil), http.StatusNotFound, "")
	assertProblem(t, s.Client.Get(importsPath+"/01JD3M5X7V8Q9R2S4T6W8Y0Z1A/errors", nil), http.StatusNotFound, "")
}
