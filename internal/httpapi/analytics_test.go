package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/seed"
)

var reports = []string{"overview", "graduation-years", "programs", "geography", "employment", "activity", "data-quality"}

// everything is a filter that matches every record but makes a report count the records
// themselves instead of reading the summary counts.
const everything = "updatedSince=1900-01-01T00:00:00Z"

func report(t *testing.T, c *apitest.Client, name, query string) string {
	t.Helper()
	resp := c.Get("/api/v1/analytics/"+name+"?"+query, nil)
	if resp.Status != 200 {
		t.Fatalf("%s?%s: %d %s", name, query, resp.Status, resp.Body)
	}
	return string(resp.Body)
}

// The summary counts, kept up to date by every write, always equal counting the records, for
// every report and every role that may read them.
func TestAnalyticsSummaryMatchesRecords(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(t, apitest.DefaultConfig())
	ctx := context.Background()
	if _, err := seed.Run(ctx, srv.DB, seed.Options{Count: 800, RandSeed: 11}); err != nil {
		t.Fatal(err)
	}
	c := srv.Client
	// Changes of every kind through the API: create, update (consent, status, name, degrees,
	// address, employment), delete, restore; and duplicates by name and class year.
	var page api.AlumnusPage
	c.Get("/api/v1/alumni?limit=30&sort=-updatedAt", nil).JSON(t, &page)
	for i, a := range page.Items {
		_, tag := getAlumnus(t, c, a.Id)
		patch := map[string]any{}
		switch i % 6 {
		case 0:
			patch["directoryConsent"] = !a.DirectoryConsent
		case 1:
			patch["status"] = "lost_contact"
			patch["address"] = nil
		case 2:
			patch["lastName"] = "Duplicate"
			patch["firstName"] = "Dee"
			patch["degrees"] = degree("History", 2001)
		case 3:
			patch["employment"] = map[string]any{"employer": "Globex", "industry": "Energy"}
		case 4:
			patch["email"] = nil
			patch["degrees"] = []any{}
		case 5:
			patch["address"] = map[string]any{"city": "Ghent", "country": "BE"}
		}
		if resp := c.Patch("/api/v1/alumni/"+a.Id, tag, patch); resp.Status != 200 {
			t.Fatalf("patch %v: %d %s", patch, resp.Status, resp.Body)
		}
		if i%5 == 0 {
			if resp := c.Delete("/api/v1/alumni/"+a.Id, ""); resp.Status != 204 {
				t.Fatalf("delete: %d", resp.Status)
			}
		}
		if i%10 == 0 {
			if resp := c.Post("/api/v1/alumni/"+a.Id+"/restore", nil); resp.Status != 200 {
				t.Fatalf("restore: %d %s", resp.Status, resp.Body)
			}
		}
	}
	for i := range 3 {
		create(t, c, person("Dee", "duplicate", map[string]any{"degrees": degree("Physics", 2001), "email": fmt.Sprintf("dee%d@example.org", i)}))
	}
	viewer := srv.As(t, auth.RoleViewer)
	for _, who := range []struct {
		name string
		c    *apitest.Client
	}{{"admin", c}, {"viewer", viewer}} {
		for _, r := range reports {
			for _, trash := range []string{"", "&deleted=true"} {
				if trash != "" && who.name == "viewer" {
					continue // the trash is the office's (403)
				}
				t.Run(who.name+" "+r+trash, func(t *testing.T) {
					summary := report(t, who.c, r, trash)
					counted := report(t, who.c, r, everything+trash)
					if summary != counted {
						t.Errorf("summary %s\ncounted %s", summary, counted)
					}
				})
			}
		}
	}
	var dq api.AnalyticsDataQuality
	c.Get("/api/v1/analytics/data-quality", nil).JSON(t, &dq)
	var groups, records int
	if err := srv.DB.QueryRow(`SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) n FROM alumni WHERE deleted_at IS NULL
		GROUP BY last_name, first_name, class_year HAVING COUNT(*) > 1) g`).Scan(&groups, &records); err != nil {
		t.Fatal(err)
	}
	if dq.DuplicateGroups != groups || dq.DuplicateRecords != records || groups == 0 {
		t.Errorf("duplicates %d/%d, want %d/%d", dq.DuplicateGroups, dq.DuplicateRecords, groups, records)
	}
}

// Reports on seeded data equal counts written directly in SQL.
func TestAnalyticsMatchDirectSQL(t *testing.T) {
	t.Parallel()
	srv := apitest.NewServer(t, apitest.DefaultConfig())
	if _, err := seed.Run(context.Background(), srv.DB, seed.Options{Count: 600, RandSeed: 5}); err != nil {
		t.Fatal(err)
	}
	db := srv.DB
	for _, query := range []string{"", everything} {
		var o api.AnalyticsOverview
		srv.Client.Get("/api/v1/analytics/overview?"+query, nil).JSON(t, &o)
		if want := sqlCount(t, db, "SELECT COUNT(*) FROM alumni WHERE deleted_at IS NULL"); o.Total != want {
			t.Errorf("%q total %d, want %d", query, o.Total, want)
		}
		wantEmail := sqlCount(t, db, `SELECT COUNT(*) FROM alumni WHERE deleted_at IS NULL AND status <> 'deceased'
			AND (email IS NOT NULL OR work_email IS NOT NULL) AND do_not_email = FALSE`)
		if o.Contactability[0].Value != "email" || o.Contactability[0].Count != wantEmail {
			t.Errorf("%q reachable by email %v, want %d", query, o.Contactability[0], wantEmail)
		}
		var e api.AnalyticsEmployment
		srv.Client.Get("/api/v1/analytics/employment?"+query, nil).JSON(t, &e)
		want := sqlBuckets(t, db, "SELECT industry, COUNT(*) FROM alumni WHERE deleted_at IS NULL AND industry IS NOT NULL GROUP BY industry ORDER BY 2 DESC, 1 LIMIT 100")
		if a, b := jsonOf(e.Industries), jsonOf(want); a != b {
			t.Errorf("%q industries %s, want %s", query, a, b)
		}
		var y api.AnalyticsGraduationYears
		srv.Client.Get("/api/v1/analytics/graduation-years?"+query, nil).JSON(t, &y)
		people := sqlCount(t, db, "SELECT COUNT(DISTINCT alumnus_id) FROM degrees")
		if len(y.Years) == 0 || y.Years[len(y.Years)-1].Cumulative < people {
			t.Errorf("%q cumulative cohort ends below %d people: %v", query, people, y.Years)
		}
	}
	// A filter narrows every report.
	var g api.AnalyticsGeography
	srv.Client.Get("/api/v1/analytics/geography?country=CA", nil).JSON(t, &g)
	if len(g.Countries) != 1 || g.Countries[0].Value != "CA" || g.Countries[0].Count != sqlCount(t, db, "SELECT COUNT(*) FROM alumni WHERE country = 'CA'") {
		t.Errorf("geography for CA: %v", g.Countries)
	}
	for _, c := range g.Cities {
		if c.Country != "CA" {
			t.Errorf("city outside the filter: %v", c)
		}
	}
	// Alumni read no reports.
	var listed string
	if err := db.QueryRow("SELECT public_id FROM alumni WHERE directory_consent = TRUE AND status <> 'deceased' LIMIT 1").Scan(&listed); err != nil {
		t.Fatal(err)
	}
	alum := srv.AsAlumnus(t, listed)
	for _, r := range reports {
		if resp := alum.Get("/api/v1/analytics/"+r, nil); resp.Status != 403 {
			t.Errorf("alumnus %s: %d", r, resp.Status)
		}
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Degrees and employment are no contact details: a viewer counts the records missing them
// among everyone, as the office does; only the contact gaps (email, address) are counted
// among those who consented to the directory.
func TestAnalyticsViewerCountsRecordGapsOfEveryone(t *testing.T) {
	srv := newServer(t)
	create(t, srv.Client, map[string]any{"firstName": "Una", "lastName": "Listed", "directoryConsent": false})
	create(t, srv.Client, person("Con", "Sented", map[string]any{
		"directoryConsent": true, "email": "con@example.org", "degrees": degree("History", 2001),
		"address":    map[string]any{"city": "Ghent", "country": "BE"},
		"employment": map[string]any{"employer": "Globex"},
	}))
	viewer := srv.As(t, auth.RoleViewer)
	tests := []struct {
		name string
		c    *apitest.Client
		want api.AnalyticsDataQuality
	}{
		{"office", srv.Client, api.AnalyticsDataQuality{Total: 2, NoDegree: 1, NoEmployment: 1, MissingEmail: 1, NoAddress: 1}},
		{"viewer", viewer, api.AnalyticsDataQuality{Total: 2, NoDegree: 1, NoEmployment: 1, MissingEmail: 0, NoAddress: 0}},
	}
	for _, tt := range tests {
		for _, query := range []string{"", everything} {
			t.Run(tt.name+" "+query, func(t *testing.T) {
				var got api.AnalyticsDataQuality
				tt.c.Get("/api/v1/analytics/data-quality?"+query, nil).JSON(t, &got)
				got.LostContact, got.DuplicateGroups, got.DuplicateRecords = 0, 0, 0
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		}
	}
}
