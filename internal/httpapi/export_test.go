package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/seed"
)

// exportRows downloads an export and returns its rows as column name -> cell text (JSON values
// written as CSV would have them: numbers and booleans as text, tags joined by "; ", missing
// keys as ""), with the header (CSV) or nil.
func exportRows(t *testing.T, c *apitest.Client, query string) ([]map[string]string, []string, *apitest.Response) {
	t.Helper()
	resp := c.Get("/api/v1/alumni/export?"+query, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("export %s: %d %s", query, resp.Status, resp.Body)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	switch q.Get("format") {
	case "json":
		var objs []map[string]any
		resp.JSON(t, &objs)
		return cellsOf(t, objs), nil, resp
	case "ndjson":
		var objs []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(resp.Body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var o map[string]any
			if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
				t.Fatalf("ndjson line %q: %v", sc.Text(), err)
			}
			objs = append(objs, o)
		}
		if len(resp.Body) > 0 && !bytes.HasSuffix(resp.Body, []byte("\n")) {
			t.Error("the last NDJSON line does not end in a newline")
		}
		return cellsOf(t, objs), nil, resp
	}
	body, ok := bytes.CutPrefix(resp.Body, []byte("\uFEFF"))
	if !ok {
		t.Fatalf("CSV without a byte order mark: %q", resp.Body[:min(len(resp.Body), 20)])
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	header := records[0]
	var rows []map[string]string
	for _, r := range records[1:] {
		row := map[string]string{}
		for i, name := range header {
			row[name] = r[i]
		}
		rows = append(rows, row)
	}
	return rows, header, resp
}

func cellsOf(t *testing.T, objs []map[string]any) []map[string]string {
	t.Helper()
	rows := make([]map[string]string, len(objs))
	for i, o := range objs {
		rows[i] = map[string]string{}
		for k, v := range o {
			switch v := v.(type) {
			case []any:
				parts := make([]string, len(v))
				for j, p := range v {
					parts[j] = p.(string)
				}
				rows[i][k] = strings.Join(parts, "; ")
			default:
				rows[i][k] = fmt.Sprint(v)
			}
		}
	}
	return rows
}

// exportCells is the row an export should have for a, as listed, in the columns compared.
func exportCells(a api.Alumnus) map[string]string {
	m := map[string]string{
		"id": a.Id, "firstName": a.FirstName, "lastName": a.LastName,
		"email": string(deref(a.Email)), "phone": deref(a.Phone), "tags": strings.Join(deref(a.Tags), "; "),
		"updatedAt": a.UpdatedAt.UTC().Format(time.RFC3339Nano), "notes": deref(a.Notes),
	}
	if a.Address != nil {
		m["city"] = deref(a.Address.City)
	}
	if a.Status != nil {
		m["status"] = string(*a.Status)
	}
	for _, d := range a.Degrees {
		if d.Primary != nil && *d.Primary {
			m["program"], m["graduationYear"] = d.Program, fmt.Sprint(d.GraduationYear)
		}
	}
	return m
}

// compareWithList checks that rows are exactly the records the list gives for query, with the
// same values in the compared columns present in rows.
func compareWithList(t *testing.T, c *apitest.Client, query string, rows []map[string]string) {
	t.Helper()
	listed := listAll(t, c, query, 200)
	if len(rows) != len(listed) {
		t.Fatalf("%q: exported %d rows, listed %d", query, len(rows), len(listed))
	}
	byID := map[string]api.Alumnus{}
	for _, a := range listed {
		byID[a.Id] = a
	}
	for _, r := range rows {
		a, ok := byID[r["id"]]
		if !ok {
			t.Fatalf("%q: exported %s, which the list does not have", query, r["id"])
		}
		delete(byID, r["id"])
		want := exportCells(a)
		for col, got := range r {
			w, compared := want[col]
			if compared && strings.TrimPrefix(got, "'") != w {
				t.Errorf("%q: %s %s = %q, listed %q", query, a.Id, col, got, w)
			}
		}
	}
}

// publicIDs runs a query for public ids straight on the database.
func publicIDs(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every format holds exactly the records the list returns for the same filter and search, with
// the same values, in the order the records were created.
func TestExportMatchesList(t *testing.T) {
	s := newServer(t)
	if _, err := seed.Run(context.Background(), s.DB, seed.Options{Count: 500, RandSeed: 11}); err != nil {
		t.Fatal(err)
	}
	// Some in the trash: never in an export of live records.
	for _, id := range publicIDs(t, s.DB, "SELECT public_id FROM alumni ORDER BY id LIMIT 5") {
		if resp := s.Client.Delete("/api/v1/alumni/"+id, ""); resp.Status != http.StatusNoContent {
			t.Fatalf("delete: %d", resp.Status)
		}
	}
	order := publicIDs(t, s.DB, "SELECT public_id FROM alumni ORDER BY id") // every record, in key order

	queries := []string{
		"",
		"q=ma",
		"q=garcja", // a typo: the export matches as the list does
		"country=US&graduationYearFrom=2005",
		"q=an&directoryConsent=true&status=active",
		"program=" + url.QueryEscape("Computer Science"),
		"tag=volunteer",
		"deleted=true",
	}
	for _, format := range []string{"csv", "json", "ndjson"} {
		for _, query := range queries {
			t.Run(format+"/"+query, func(t *testing.T) {
				rows, _, _ := exportRows(t, s.Client, "format="+format+"&"+query)
				compareWithList(t, s.Client, query, rows)
				if query == "q=garcja" && len(rows) == 0 {
					t.Error("the search with a typo found no one (the seed has Garcías)")
				}
				got := make([]string, len(rows))
				for i, r := range rows {
					got[i] = r["id"]
				}
				want := slices.DeleteFunc(slices.Clone(order), func(id string) bool { return !slices.Contains(got, id) })
				if !slices.Equal(got, want) {
					t.Errorf("not in creation order")
				}
			})
		}
	}
	// Without format: CSV.
	if resp := s.Client.Get("/api/v1/alumni/export?tag=volunteer", nil); resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("default format: %s", resp.Header.Get("Content-Type"))
	}
}

// Chunks of a few records give the same export as one chunk.
func TestExportInSmallChunks(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.Domain.ExportChunk = 7
	s := apitest.NewServer(t, cfg)
	if _, err := seed.Run(context.Background(), s.DB, seed.Options{Count: 100, RandSeed: 3}); err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{"", "q=a", "directoryConsent=true"} {
		rows, _, _ := exportRows(t, s.Client, "format=ndjson&"+query)
		compareWithList(t, s.Client, query, rows)
	}
}

func TestExportCSVSpecialCharactersAndFormulas(t *testing.T) {
	s := newServer(t)
	c := s.Client
	a, _ := create(t, c, map[string]any{
		"firstName": "María José", "lastName": `O'Brien, "Bo"`, "preferredName": "Zoë",
		"notes":      "Line one\nline two, with a comma\n\"quoted\"",
		"employment": map[string]any{"employer": "=HYPERLINK(\"http://evil.example\",\"x\")", "jobTitle": "@SUM(A1)", "industry": "-2+3"},
		"phone":      "+44 20 7946 0958",
		"tags":       []string{"+cmd", "mentor"},
		"address":    map[string]any{"line1": "+1 Main Street", "city": "Zürich", "country": "CH"},
		"degrees":    []map[string]any{{"degree": "BSc", "program": "Ciências", "graduationYear": 2010}},
	})
	resp := c.Get("/api/v1/alumni/export?columns=id,firstName,lastName,preferredName,notes,employer,jobTitle,industry,phone,tags,addressLine1,city,program,graduationYear", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	if !bytes.HasPrefix(resp.Body, []byte("\xEF\xBB\xBF")) {
		t.Fatal("no UTF-8 byte order mark")
	}
	body := resp.Body[3:]
	header := "id,firstName,lastName,preferredName,notes,employer,jobTitle,industry,phone,tags,addressLine1,city,program,graduationYear\r\n"
	if !bytes.HasPrefix(body, []byte(header)) {
		t.Fatalf("header line: %q", body)
	}
	if !bytes.HasSuffix(body, []byte("\r\n")) || bytes.Count(body, []byte("\n")) != bytes.Count(body, []byte("\r\n")) {
		t.Errorf("want CRLF line endings only: %q", body)
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{a.Id, "María José", `O'Brien, "Bo"`, "Zoë", "Line one\nline two, with a comma\n\"quoted\"",
		"'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(A1)", "'-2+3", "+44 20 7946 0958", "'+cmd; mentor",
		"'+1 Main Street", "Zürich", "Ciências", "2010"} // a phone number is left alone only in the phone column
	if len(records) != 2 || !slices.Equal(records[1], want) {
		t.Fatalf("row\n got %q\nwant %q", records[1:], want)
	}
	// JSON is for programs: the values as they are.
	var objs []map[string]any
	c.Get("/api/v1/alumni/export?format=json&columns=employer,tags,notes", nil).JSON(t, &objs)
	if len(objs) != 1 || objs[0]["employer"] != "=HYPERLINK(\"http://evil.example\",\"x\")" || objs[0]["notes"] != want[4] ||
		fmt.Sprint(objs[0]["tags"]) != "[+cmd mentor]" {
		t.Errorf("json: %v", objs)
	}
}

func TestExportHeadersAndEmptyResult(t *testing.T) {
	s := newServer(t)
	create(t, s.Client, person("Ada", "Lovelace", nil))
	today := time.Now().UTC().Format(time.DateOnly)
	for _, tt := range []struct{ format, contentType, empty string }{
		{"csv", "text/csv; charset=utf-8", "\uFEFFid,firstName\r\n"},
		{"json", "application/json", "[]\n"},
		{"ndjson", "application/x-ndjson", ""},
	} {
		t.Run(tt.format, func(t *testing.T) {
			resp := s.Client.Get("/api/v1/alumni/export?format="+tt.format, nil)
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			name := "alumni-" + today + "." + tt.format
			if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename="`+name+`"; filename*=UTF-8''`+name; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			resp = s.Client.Get("/api/v1/alumni/export?columns=id,firstName&q=nobodyhere&format="+tt.format, nil)
			if resp.Status != http.StatusOK || string(resp.Body) != tt.empty {
				t.Errorf("empty export: %d %q, want %q", resp.Status, resp.Body, tt.empty)
			}
		})
	}
}

func TestExportRefusesBadRequests(t *testing.T) {
	s := newServer(t)
	viewer := s.As(t, auth.RoleViewer)
	tests := []struct {
		name   string
		c      *apitest.Client
		query  string
		status int
		field  string
	}{
		{"unknown format", s.Client, "format=xlsx", 400, "format"},
		{"unknown column", s.Client, "columns=firstName,password", 400, "columns[1]"},
		{"column twice", s.Client, "columns=firstName,firstName", 400, "columns"},
		{"no column", s.Client, "columns=", 400, "columns"},
		{"page parameters", s.Client, "limit=10", 400, "limit"},
		{"sort", s.Client, "sort=lastName", 400, "sort"},
		{"bad filter", s.Client, "graduationYearFrom=2010&graduationYearTo=2000", 400, "graduationYearTo"},
		{"bad search", s.Client, "q=%25", 400, "q"},
		{"viewer asks for notes", viewer, "columns=firstName,notes", 403, "columns"},
		{"viewer lists the trash", viewer, "deleted=true", 403, "deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := assertProblem(t, tt.c.Get("/api/v1/alumni/export?"+tt.query, nil), tt.status, tt.field)
			if tt.name == "viewer asks for notes" && !strings.Contains(fmt.Sprint(*p.Errors), `"notes"`) {
				t.Errorf("the problem does not name the column: %v", *p.Errors)
			}
		})
	}
	// Alumni may not export: the directory is not for taking away whole.
	listed, _ := create(t, s.Client, person("Lia", "Listed", map[string]any{"directoryConsent": true}))
	assertProblem(t, s.AsAlumnus(t, listed.Id).Get("/api/v1/alumni/export", nil), 403, "")
	assertProblem(t, s.Anon.Get("/api/v1/alumni/export", nil), 401, "")
	// Refused requests are not exports: nothing audited.
	if n := sqlCount(t, s.DB, "SELECT COUNT(*) FROM audit_events WHERE action = 'alumni.export'"); n != 0 {
		t.Errorf("%d export events for refused requests", n)
	}
}

// Viewers get no notes column, and empty contact cells for those who did not consent to the
// directory; the office gets everything.
func TestExportPrivacy(t *testing.T) {
	s := newServer(t)
	contact := func(first string, consent bool) api.Alumnus {
		a, _ := create(t, s.Client, person(first, "Person", map[string]any{
			"email": strings.ToLower(first) + "@example.org", "phone": "+1 555 0100", "studentId": "S-" + first,
			"address": map[string]any{"line1": "1 Main St", "city": "Springfield", "country": "US"}, "directoryConsent": consent,
			"notes": "office only", "tags": []string{"donor"},
		}))
		return a
	}
	listed, unlisted := contact("Listed", true), contact("Unlisted", false)
	viewer := s.As(t, auth.RoleViewer)
	for _, format := range []string{"csv", "json", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			rows, header, _ := exportRows(t, viewer, "format="+format)
			if format == "csv" {
				if slices.Contains(header, "notes") {
					t.Errorf("viewer's columns include notes: %v", header)
				}
				if !slices.Contains(header, "email") || !slices.Contains(header, "tags") {
					t.Errorf("viewer's columns: %v", header)
				}
			}
			byID := map[string]map[string]string{}
			for _, r := range rows {
				byID[r["id"]] = r
				if _, ok := r["notes"]; ok {
					t.Errorf("viewer got notes: %v", r)
				}
			}
			if l := byID[listed.Id]; l["email"] != "listed@example.org" || l["phone"] != "+1 555 0100" || l["city"] != "Springfield" ||
				l["studentId"] != "S-Listed" || l["tags"] != "donor" {
				t.Errorf("consenting record: %v", l)
			}
			u := byID[unlisted.Id]
			for _, col := range []string{"email", "workEmail", "phone", "addressLine1", "city", "country"} {
				if u[col] != "" {
					t.Errorf("viewer sees %s of someone who did not consent: %q", col, u[col])
				}
			}
			if u["firstName"] != "Unlisted" || u["studentId"] != "S-Unlisted" {
				t.Errorf("non-contact fields: %v", u)
			}
			// A country filter matches only the consenting, as in the list.
			rows, _, _ = exportRows(t, viewer, "format="+format+"&country=US")
			if len(rows) != 1 || rows[0]["id"] != listed.Id {
				t.Errorf("viewer's country filter: %v", rows)
			}
		})
	}
	// The office sees every column of every record.
	rows, header, _ := exportRows(t, s.Client, "format=csv")
	if !slices.Contains(header, "notes") || len(rows) != 2 {
		t.Fatalf("office export: %v %d rows", header, len(rows))
	}
	for _, r := range rows {
		if r["notes"] != "office only" || r["email"] == "" {
			t.Errorf("office row: %v", r)
		}
	}
}

// Every export is in the audit trail with its caller, format, columns, filter and row count.
func TestExportIsAudited(t *testing.T) {
	s := newServer(t)
	for i := range 3 {
		create(t, s.Client, person(fmt.Sprint("P", i), "Audit", map[string]any{"tags": []string{"donor"}}))
	}
	staff := s.As(t, auth.RoleStaff)
	resp := staff.Get("/api/v1/alumni/export?format=ndjson&columns=id,lastName&tag=donor&q=audit", nil)
	if resp.Status != http.StatusOK {
		t.Fatal(resp.Status)
	}
	events := auditAll(t, s.Client, "action=alumni.export")
	if len(events) != 1 {
		t.Fatalf("%d export events", len(events))
	}
	e := events[0]
	if e.Actor == nil || e.Actor.Role != "staff" || e.EntityType != "alumnus" || deref(e.RequestId) != resp.Header.Get("X-Request-Id") {
		t.Errorf("event: %+v", e)
	}
	got := map[string]any{}
	for _, c := range deref(e.Changes) {
		got[c.Field] = c.After
	}
	want := map[string]any{
		"format": "ndjson", "columns": []any{"id", "lastName"}, "filter": map[string]any{"tag": "donor", "q": "audit", "deleted": false},
		"rows": float64(3), "complete": true,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes %v, want %v", got, want)
	}
}

// A client that goes away stops the export: no more chunks are read, and the audit trail says
// how many rows were sent and that the download was cut short.
func TestExportStopsWhenTheClientGoesAway(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.Domain.ExportChunk = 50
	s := apitest.NewServer(t, cfg)
	const total = 3000
	if _, err := seed.Run(context.Background(), s.DB, seed.Options{Count: total, RandSeed: 5}); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/api/v1/alumni/export?format=csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Client.Token())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // before the end: the connection is closed
	tr.CloseIdleConnections()

	// The event is written when the export has stopped.
	var rows, complete, reason string
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.DB.QueryRow(`SELECT JSON_UNQUOTE(JSON_EXTRACT(changes, '$[3].after')), JSON_UNQUOTE(JSON_EXTRACT(changes, '$[4].after')),
			COALESCE(JSON_UNQUOTE(JSON_EXTRACT(changes, '$[5].after')), '') FROM audit_events WHERE action = 'alumni.export'`).Scan(&rows, &complete, &reason)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no export event: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var n int
	if _, err := fmt.Sscan(rows, &n); err != nil || n >= total || complete != "false" || !strings.Contains(reason, "client") {
		t.Errorf("event: rows %s complete %s reason %q, want fewer than %d rows, not complete, the client went away", rows, complete, reason, total)
	}
	// No query of the export is left running.
	var running int
	if err := s.DB.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE '%FROM alumni a WHERE%' AND info NOT LIKE '%processlist%'").Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d export queries still running", running)
	}
	// The log line follows the audit event (the handler logs once the export has returned).
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(s.Logs(), "export cut short by the client"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the export cut short by the client was not logged")
		}
	}
}
