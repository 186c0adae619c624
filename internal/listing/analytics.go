package listing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/alumnid/alumnid/internal/database"

	"github.com/alumnid/alumnid/internal/alumni"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// Reports count the records matching a filter. A report on every record (no search, no filter
// besides the trash) reads the summary table alumni_stats, a few hundred rows at most for most
// dimensions; a filtered one counts the matching records. Both count as the caller may see: a
// viewer's contact counts (country, city, contactability, missing email) include only alumni who
// consented to the directory; an alumnus counts only the directory.

// indexDims are the index's dimensions of the report dimensions.
var indexDims = map[string]searchindex.Dimension{
	alumni.DimStatus: searchindex.DimStatus, alumni.DimCountry: searchindex.DimCountry,
	alumni.DimCity: searchindex.DimCity, alumni.DimIndustry: searchindex.DimIndustry,
	alumni.DimEmployer: searchindex.DimEmployer, alumni.DimCreated: searchindex.DimCreated,
	alumni.DimUpdated: searchindex.DimUpdated, alumni.DimClassYear: searchindex.DimClassYear,
	alumni.DimProgram: searchindex.DimProgram, alumni.DimFaculty: searchindex.DimFaculty,
	alumni.DimContact: searchindex.DimContact, alumni.DimQuality: searchindex.DimQuality,
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
// them, in order, at most limit values (0 for all): from alumni_stats for a plain filter, from
// the search index for any other.
func (s *Reader) countBy(ctx context.Context, p auth.Principal, f Filter, dim, order string, limit int) ([]Bucket, error) {
	consent := p.Role == auth.RoleViewer && alumni.CountsByConsent[dim]
	if !plain(f) {
		return s.indexCountBy(ctx, f, dim, order, limit, consent)
	}
	var q sqlText
	q.add("SELECT value, SUM(n) FROM alumni_stats WHERE dim = ? AND deleted = ?", dim, f.Deleted)
	if consent {
		q.add(" AND " + consentCondition(dim))
	}
	if f.directoryOnly {
		q.add(" AND listed = TRUE")
	}
	q.add(" GROUP BY value HAVING SUM(n) > 0 ORDER BY " + order)
	if limit > 0 {
		q.add(" LIMIT ?", limit)
	}
	return s.buckets(ctx, q)
}

// buckets runs a (value, count) query.
func (s *Reader) buckets(ctx context.Context, q sqlText) ([]Bucket, error) {
	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	defer rows.Close()
	out := []Bucket{}
	for rows.Next() {
		var b Bucket
		if err := rows.Scan(&b.Value, &b.Count); err != nil {
			return nil, fmt.Errorf("count: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	return out, nil
}

// countCases counts the records matching f that have each of the values cases of dim (a
// dimension whose values are conditions: contact, quality), as p may see them.
func (s *Reader) countCases(ctx context.Context, p auth.Principal, f Filter, dim string, cases []string) (map[string]int, error) {
	if !plain(f) {
		return s.indexCountCases(ctx, p, f, dim, cases)
	}
	buckets, err := s.countBy(ctx, p, f, dim, byValue, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(cases))
	for _, b := range buckets {
		if slices.Contains(cases, b.Value) {
			out[b.Value] = b.Count
		}
	}
	return out, nil
}

// indexCountBy is countBy answered by the index for the prepared filter f: the records by the
// values of dim, only those who consented when consent, in order (a bucket order of
// analytics.go), at most limit values (0 for all).
func (s *Reader) indexCountBy(ctx context.Context, f Filter, dim, order string, limit int, consent bool) ([]Bucket, error) {
	d, ok := indexDims[dim]
	if !ok {
		return nil, fmt.Errorf("no index count for %s", dim)
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	_, counts := s.index.Counts(f.query(), searchindex.Count{Dim: d, ConsentedOnly: consent})
	out := fromIndex(counts[0])
	slices.SortFunc(out, func(a, b Bucket) int {
		switch order {
		case byValueDesc:
			return searchindex.CompareValues(b.Value, a.Value)
		case byValue:
			return searchindex.CompareValues(a.Value, b.Value)
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), searchindex.CompareValues(a.Value, b.Value))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// indexCountCases is countCases answered by the index: cases are the values of dim that are
// conditions (contact, quality), each counted as the caller may see it.
func (s *Reader) indexCountCases(ctx context.Context, p auth.Principal, f Filter, dim string, cases []string) (map[string]int, error) {
	d, ok := indexDims[dim]
	if !ok {
		return nil, fmt.Errorf("no index count for %s", dim)
	}
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	// One match for both counts: all the records, and (for a viewer) those who consented.
	byConsent := p.Role == auth.RoleViewer && alumni.CountsByConsent[dim]
	_, counts := s.index.Counts(f.query(), searchindex.Count{Dim: d}, searchindex.Count{Dim: d, ConsentedOnly: true})
	out := make(map[string]int, len(cases))
	for _, name := range cases {
		from := counts[0]
		if byConsent && (dim != alumni.DimQuality || slices.Contains(alumni.ContactGaps, name)) {
			from = counts[1]
		}
		out[name] = 0
		for _, b := range from {
			if b.Value == name {
				out[name] = b.Count
			}
		}
	}
	return out, nil
}

// Overview is the headline report.
type Overview struct {
	Total          int
	Status         []Bucket
	Contactability []Bucket // email, mail, phone, sms: reachable on that channel; none: on no channel
}

// contactCases are the values of the contact dimension (alumni.StatValues): reachable by
// email, mail, phone, SMS, or by none of them.
var contactCases = []string{"email", "mail", "phone", "sms", "none"}

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
	for _, name := range contactCases {
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

// qualityCases are the values of the quality dimension (alumni.StatValues) that are gaps.
var qualityCases = []string{"missing_email", "no_employment", "no_degree", "no_address"}

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
	if err := s.sync(ctx); err != nil {
		return DataQuality{}, err
	}
	out.DuplicateGroups, out.DuplicateRecords = s.index.Duplicates(f.query())
	return out, nil
}
