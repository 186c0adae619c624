package listing

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/alumnid/alumnid/internal/database"

	"github.com/alumnid/alumnid/internal/alumni"

	"github.com/alumnid/alumnid/internal/auth"
)

// Reports count the records matching a filter. A report on every record (no search, no filter
// besides the trash) reads the summary table alumni_stats, a few hundred rows at most for most
// dimensions; a filtered one counts the matching records. Both count as the caller may see: a
// viewer's contact counts (country, city, contactability, missing email) include only alumni who
// consented to the directory; an alumnus counts only the directory.

// dimQuery says how to count a dimension on the records themselves.
type dimQuery struct {
	expr    string // the value, on alumni a (or degrees d when degrees is true)
	degrees bool   // a degree dimension: join the degrees matching the degree filters, count people once
}

var liveDims = map[string]dimQuery{
	alumni.DimStatus:    {expr: "a.status"},
	alumni.DimCountry:   {expr: "a.country"},
	alumni.DimCity:      {expr: "CONCAT(a.country, '\\t', a.city)"},
	alumni.DimIndustry:  {expr: "a.industry"},
	alumni.DimEmployer:  {expr: "a.employer"},
	alumni.DimCreated:   {expr: "DATE_FORMAT(a.created_at, '%Y-%m')"},
	alumni.DimUpdated:   {expr: "DATE_FORMAT(a.updated_at, '%Y-%m')"},
	alumni.DimClassYear: {expr: "CAST(d.graduation_year AS CHAR)", degrees: true},
	alumni.DimProgram:   {expr: "d.program", degrees: true},
	alumni.DimFaculty:   {expr: "d.faculty", degrees: true},
}

// Bucket orders.
const (
	byCountDesc = "2 DESC, 1"
	byValueDesc = "1 DESC"
	byValue     = "1"
)

// plain reports whether the prepared filter f selects every live (or every deleted) record the
// caller may see, so that alumni_stats answers for it.
func plain(f Filter) bool {
	return f.Q == "" && !f.hasDegreeFilter() && f.Country == "" && f.City == "" && f.Industry == "" &&
		f.Employer == "" && f.Status == "" && f.Tag == "" && f.DirectoryConsent == nil &&
		f.UpdatedSince.IsZero() && !f.consentOnly
}

// countBy counts the records matching the prepared filter f by the values of dim, as p may see
// them, in order, at most limit values (0 for all).
func (s *Reader) countBy(ctx context.Context, p auth.Principal, f Filter, dim, order string, limit int) ([]Bucket, error) {
	var q sqlText
	consent := p.Role == auth.RoleViewer && alumni.CountsByConsent[dim]
	if !plain(f) && s.index != nil {
		return s.indexCountBy(ctx, f, dim, order, limit, consent)
	}
	if plain(f) {
		q.add("SELECT value, SUM(n) FROM alumni_stats WHERE dim = ? AND deleted = ?", dim, f.Deleted)
		if consent {
			q.add(" AND " + consentCondition(dim))
		}
		if f.directoryOnly {
			q.add(" AND listed = TRUE")
		}
		q.add(" GROUP BY value HAVING SUM(n) > 0")
	} else {
		live, ok := liveDims[dim]
		if !ok {
			return nil, fmt.Errorf("no live count for %s", dim)
		}
		fromClause, fromArgs := from(f)
		if live.degrees {
			q.add("SELECT "+live.expr+", COUNT(DISTINCT a.id)"+fromClause+" JOIN degrees d ON d.alumnus_id = a.id", fromArgs...)
			if dc := degreeConditions(f, "d"); len(dc.terms) > 0 {
				q.add(" AND "+strings.Join(dc.terms, " AND "), dc.args...)
			}
		} else {
			q.add("SELECT "+live.expr+", COUNT(*)"+fromClause, fromArgs...)
		}
		c := where(f)
		if consent {
			c.add("a.directory_consent = TRUE")
		}
		c.add(live.expr + " IS NOT NULL")
		c.writeTo(&q)
		q.add(" GROUP BY 1")
	}
	q.add(" ORDER BY " + order)
	if limit > 0 {
		q.add(" LIMIT ?", limit)
	}
	if plain(f) {
		return s.buckets(ctx, q) // counters: cheap and exact
	}
	return cachedCount(ctx, s.counts, q, slices.Clone, func(ctx context.Context) ([]Bucket, error) { return s.buckets(ctx, q) })
}

// countCases counts, in one pass over the records matching f, those meeting each condition
// (SQL on alumni a), or reads the same counts of dim from alumni_stats for a plain filter.
func (s *Reader) countCases(ctx context.Context, p auth.Principal, f Filter, dim string, cases map[string]string) (map[string]int, error) {
	out := make(map[string]int, len(cases))
	if plain(f) {
		buckets, err := s.countBy(ctx, p, f, dim, byValue, 0)
		if err != nil {
			return nil, err
		}
		for _, b := range buckets {
			if _, ok := cases[b.Value]; ok {
				out[b.Value] = b.Count
			}
		}
		return out, nil
	}
	if s.index != nil {
		return s.indexCountCases(ctx, p, f, dim, cases)
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names) // the same statement every time (see countCache)
	var q sqlText
	q.add("SELECT ")
	for i, name := range names {
		if i > 0 {
			q.add(", ")
		}
		cond := cases[name]
		if p.Role == auth.RoleViewer && alumni.CountsByConsent[dim] && (dim != alumni.DimQuality || slices.Contains(alumni.ContactGaps, name)) {
			cond = "a.directory_consent = TRUE AND (" + cond + ")"
		}
		q.add("COALESCE(SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END), 0)")
	}
	fromClause, fromArgs := from(f)
	q.add(fromClause, fromArgs...)
	c := where(f)
	c.writeTo(&q)
	return cachedCount(ctx, s.counts, q, maps.Clone, func(ctx context.Context) (map[string]int, error) {
		counts := make([]any, len(names))
		values := make([]int, len(names))
		for i := range values {
			counts[i] = &values[i]
		}
		if err := s.db.QueryRowContext(ctx, q.String(), q.args...).Scan(counts...); err != nil {
			return nil, fmt.Errorf("count %s: %w", dim, err)
		}
		for i, name := range names {
			out[name] = values[i]
		}
		return out, nil
	})
}

// Overview is the headline report.
type Overview struct {
	Total          int
	Status         []Bucket
	Contactability []Bucket // email, mail, phone, sms: reachable on that channel; none: on no channel
}

var contactCases = map[string]string{
	"email": "(a.email IS NOT NULL OR a.work_email IS NOT NULL) AND a.do_not_email = FALSE AND a.status <> 'deceased'",
	"mail":  "a.address_line1 IS NOT NULL AND a.do_not_mail = FALSE AND a.status <> 'deceased'",
	"phone": "a.phone IS NOT NULL AND a.do_not_phone = FALSE AND a.status <> 'deceased'",
	"sms":   "a.phone IS NOT NULL AND a.do_not_sms = FALSE AND a.status <> 'deceased'",
	"none": "NOT (a.status <> 'deceased' AND (((a.email IS NOT NULL OR a.work_email IS NOT NULL) AND a.do_not_email = FALSE) OR " +
		"(a.address_line1 IS NOT NULL AND a.do_not_mail = FALSE) OR (a.phone IS NOT NULL AND (a.do_not_phone = FALSE OR a.do_not_sms = FALSE))))",
}

// Overview counts the records matching f by status and by how they can be reached.
func (s *Reader) Overview(ctx context.Context, p auth.Principal, f Filter) (_ Overview, err error) {
	defer database.ClassifyErr(&err)
	if err := prepare(p, &f); err != nil {
		return Overview{}, err
	}
	var out Overview
	if out.Status, err = s.countBy(ctx, p, f, alumni.DimStatus, byCountDesc, 0); err != nil {
		return Overview{}, err
	}
	out.Total = sum(out.Status)
	contact, err := s.countCases(ctx, p, f, alumni.DimContact, contactCases)
	if err != nil {
		return Overview{}, err
	}
	for _, name := range []string{"email", "mail", "phone", "sms", "none"} {
		out.Contactability = append(out.Contactability, Bucket{Value: name, Count: contact[name]})
	}
	return out, nil
}

func sum(bs []Bucket) int {
	n := 0
	for _, b := range bs {
		n += b.Count
	}
	return n
}

// consentCondition is the SQL condition on alumni_stats rows of dim that a viewer counts
// (alumni.CountsByConsent).
func consentCondition(dim string) string {
	if dim == alumni.DimQuality {
		return "(consent = TRUE OR value NOT IN ('" + strings.Join(alumni.ContactGaps, "', '") + "'))"
	}
	return "consent = TRUE"
}

// dimCount is one count of a report: a dimension, the order of its buckets and how many are
// kept (0: all).
type dimCount struct {
	dim, order string
	limit      int
}

// countDims counts the records matching f by each of dims, as p may see them.
func (s *Reader) countDims(ctx context.Context, p auth.Principal, f Filter, dims ...dimCount) ([][]Bucket, error) {
	if err := prepare(p, &f); err != nil {
		return nil, err
	}
	out := make([][]Bucket, len(dims))
	for i, d := range dims {
		b, err := s.countBy(ctx, p, f, d.dim, d.order, d.limit)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// YearBucket is one graduation year with the number of alumni of that year and of every year
// up to it (cohort sizes over time).
type YearBucket struct {
	Year              string
	Count, Cumulative int
}

// GraduationYears counts the records matching f by graduation year, in ascending order.
func (s *Reader) GraduationYears(ctx context.Context, p auth.Principal, f Filter) (_ []YearBucket, err error) {
	defer database.ClassifyErr(&err)
	b, err := s.countDims(ctx, p, f, dimCount{alumni.DimClassYear, byValue, 0})
	if err != nil {
		return nil, err
	}
	out := make([]YearBucket, len(b[0]))
	total := 0
	for i, y := range b[0] {
		total += y.Count
		out[i] = YearBucket{Year: y.Value, Count: y.Count, Cumulative: total}
	}
	return out, nil
}

// Programs are the most frequent programs and faculties.
type Programs struct{ Programs, Faculties []Bucket }

// Programs counts the records matching f by program and by faculty (the 200 most frequent).
func (s *Reader) Programs(ctx context.Context, p auth.Principal, f Filter) (_ Programs, err error) {
	defer database.ClassifyErr(&err)
	b, err := s.countDims(ctx, p, f, dimCount{alumni.DimProgram, byCountDesc, 200}, dimCount{alumni.DimFaculty, byCountDesc, 200})
	if err != nil {
		return Programs{}, err
	}
	return Programs{Programs: b[0], Faculties: b[1]}, nil
}

// CityBucket is one city, in its country, with its count.
type CityBucket struct {
	Country, City string
	Count         int
}

// Geography are the most frequent countries and cities.
type Geography struct {
	Countries []Bucket
	Cities    []CityBucket
}

// Geography counts the records matching f by country (250) and city (the 100 most frequent).
func (s *Reader) Geography(ctx context.Context, p auth.Principal, f Filter) (_ Geography, err error) {
	defer database.ClassifyErr(&err)
	b, err := s.countDims(ctx, p, f, dimCount{alumni.DimCountry, byCountDesc, 250}, dimCount{alumni.DimCity, byCountDesc, 100})
	if err != nil {
		return Geography{}, err
	}
	out := Geography{Countries: b[0], Cities: make([]CityBucket, len(b[1]))}
	for i, c := range b[1] {
		country, city, _ := strings.Cut(c.Value, "\t") // alumni.DimCity values are "country<TAB>city"
		out.Cities[i] = CityBucket{Country: country, City: city, Count: c.Count}
	}
	return out, nil
}

// Employers are the most frequent industries and employers.
type Employers struct{ Industries, Employers []Bucket }

// Employers counts the records matching f by industry and employer (the 100 most frequent).
func (s *Reader) Employers(ctx context.Context, p auth.Principal, f Filter) (_ Employers, err error) {
	defer database.ClassifyErr(&err)
	b, err := s.countDims(ctx, p, f, dimCount{alumni.DimIndustry, byCountDesc, 100}, dimCount{alumni.DimEmployer, byCountDesc, 100})
	if err != nil {
		return Employers{}, err
	}
	return Employers{Industries: b[0], Employers: b[1]}, nil
}

// Activity are the records created and last changed per month, newest first.
type Activity struct{ Created, Updated []Bucket }

// Activity counts the records matching f by month of creation and of last change (10 years).
func (s *Reader) Activity(ctx context.Context, p auth.Principal, f Filter) (_ Activity, err error) {
	defer database.ClassifyErr(&err)
	b, err := s.countDims(ctx, p, f, dimCount{alumni.DimCreated, byValueDesc, 120}, dimCount{alumni.DimUpdated, byValueDesc, 120})
	if err != nil {
		return Activity{}, err
	}
	return Activity{Created: b[0], Updated: b[1]}, nil
}

// DataQuality are the counts of records with gaps, and of likely duplicates.
type DataQuality struct {
	Total            int
	MissingEmail     int
	NoEmployment     int
	NoDegree         int
	NoAddress        int
	LostContact      int
	DuplicateGroups  int // names (last, first) with the same class year held by more than one record
	DuplicateRecords int // the records in those groups
}

var qualityCases = map[string]string{
	"missing_email": "a.email IS NULL",
	"no_employment": "a.employer IS NULL AND a.job_title IS NULL",
	"no_degree":     "NOT EXISTS (SELECT 1 FROM degrees q WHERE q.alumnus_id = a.id)",
	"no_address":    "a.address_line1 IS NULL AND a.city IS NULL",
}

// DataQuality counts the gaps and likely duplicates among the records matching f.
func (s *Reader) DataQuality(ctx context.Context, p auth.Principal, f Filter) (_ DataQuality, err error) {
	defer database.ClassifyErr(&err)
	if err := prepare(p, &f); err != nil {
		return DataQuality{}, err
	}
	var out DataQuality
	status, err := s.countBy(ctx, p, f, alumni.DimStatus, byValue, 0)
	if err != nil {
		return DataQuality{}, err
	}
	out.Total = sum(status)
	for _, b := range status {
		if b.Value == string(alumni.StatusLostContact) {
			out.LostContact = b.Count
		}
	}
	gaps, err := s.countCases(ctx, p, f, alumni.DimQuality, qualityCases)
	if err != nil {
		return DataQuality{}, err
	}
	out.MissingEmail, out.NoEmployment = gaps["missing_email"], gaps["no_employment"]
	out.NoDegree, out.NoAddress = gaps["no_degree"], gaps["no_address"]
	if plain(f) && !f.Deleted {
		dups, err := s.countBy(ctx, p, Filter{}, alumni.DimDuplicates, byValue, 0)
		if err != nil {
			return DataQuality{}, err
		}
		for _, b := range dups {
			switch b.Value {
			case "groups":
				out.DuplicateGroups = b.Count
			case "records":
				out.DuplicateRecords = b.Count
			}
		}
		return out, nil
	}
	var q sqlText
	fromClause, fromArgs := from(f)
	q.add("SELECT COUNT(*), COALESCE(SUM(n), 0) FROM (SELECT COUNT(*) AS n"+fromClause, fromArgs...)
	c := where(f)
	c.writeTo(&q)
	q.add(" GROUP BY a.last_name, a.first_name, a.class_year HAVING COUNT(*) > 1) g")
	if err := s.db.QueryRowContext(ctx, q.String(), q.args...).Scan(&out.DuplicateGroups, &out.DuplicateRecords); err != nil {
		return DataQuality{}, fmt.Errorf("count duplicates: %w", err)
	}
	return out, nil
}
