package importer

import (
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/derrors"
)

// change is what one row asks of a record: its non-empty cells set their fields (an empty
// cell leaves its field as it is), the degree columns describe one degree and the tags are
// added.
type change struct {
	columns []Column
	cells   []string
	// delim is the file's delimiter: tags are separated by ';' or '|', only '|' when the
	// delimiter is ';'.
	delim rune
}

// cell returns the trimmed cell of the column that sets field, or "".
func (c change) cell(field string) string {
	for i, col := range c.columns {
		if col.Field == field {
			return strings.TrimSpace(c.cells[i])
		}
	}
	return ""
}

// keys returns the student id and email the row is matched on.
func (c change) keys() (studentID, email string) {
	return c.cell(fieldStudentID), c.cell(fieldEmail)
}

// degreeCells are the degree columns of a row.
type degreeCells struct {
	given                   bool
	degree, program, school string
	year, preferredYear     int
}

var yearPattern = regexp.MustCompile(`^[0-9]{4}$`)

// edit applies the row to cur (for a new record, the fields the store starts it from). It returns an Invalid error,
// naming import fields, for cells that cannot be read, with the fields set from the others;
// the record's own rules are checked afterwards by alumni.Normalize.
func (c change) edit(cur alumni.Fields, found bool) (alumni.Fields, error) {
	f := cur
	var errs derrors.Fields
	var deg degreeCells
	year := func(field, v string) int {
		if !yearPattern.MatchString(v) {
			errs.Add(field, "must be a year like 2008")
			return 0
		}
		y, _ := strconv.Atoi(v)
		return y
	}
	for i, col := range c.columns {
		v := strings.TrimSpace(c.cells[i])
		if v == "" {
			continue
		}
		switch col.Field {
		case fieldDegree:
			deg.given, deg.degree = true, v
		case fieldProgram:
			deg.given, deg.program = true, v
		case fieldFaculty:
			deg.given, deg.school = true, v
		case fieldGraduationYear:
			deg.given, deg.year = true, year(col.Field, v)
		case fieldPreferredClassYear:
			deg.given, deg.preferredYear = true, year(col.Field, v)
		case fieldTags:
			f.Tags = append(f.Tags, splitTags(v, c.delim)...)
		default:
			if msg := fieldByName[col.Field].set(&f, v); msg != "" {
				errs.Add(col.Field, msg)
			}
		}
	}
	if deg.given && len(errs) == 0 {
		mergeDegree(&f, deg, &errs)
	}
	return f, errs.Err()
}

// mergeDegree updates the degree of f with the row's program and graduation year (an empty
// one matches any), or adds the row's degree when none matches.
func mergeDegree(f *alumni.Fields, d degreeCells, errs *derrors.Fields) {
	var matches []int
	for i, have := range f.Degrees {
		if (d.program == "" || sameText(have.Program, d.program)) && (d.year == 0 || have.GraduationYear == d.year) {
			matches = append(matches, i)
		}
	}
	switch len(matches) {
	case 0:
		f.Degrees = append(f.Degrees, alumni.Degree{
			Degree: d.degree, Program: d.program, Faculty: d.school, GraduationYear: d.year, PreferredClassYear: d.preferredYear,
		})
	case 1:
		have := &f.Degrees[matches[0]]
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&have.Degree, d.degree)
		set(&have.Program, d.program)
		set(&have.Faculty, d.school)
		if d.preferredYear != 0 {
			have.PreferredClassYear = d.preferredYear
		}
	default:
		errs.Add(fieldProgram, "matches several degrees of the record; give both program and graduation year")
	}
}

// sameText compares two names the way the database's collation mostly does: canonical
// Unicode, trimmed, case-insensitive.
func sameText(a, b string) bool {
	return strings.EqualFold(norm.NFC.String(strings.TrimSpace(a)), norm.NFC.String(strings.TrimSpace(b)))
}

// splitTags splits a tags cell on ';' and '|' (only '|' in a semicolon-separated file).
func splitTags(v string, delim rune) []string {
	seps := ";|"
	if delim == ';' {
		seps = "|"
	}
	var out []string
	for _, t := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// importField returns the import field a record field error (an API path from alumni) is
// about: degrees[1].program is the program column, tags[0] the tags column.
func importField(path string) string {
	switch {
	case strings.HasPrefix(path, "degrees["):
		if _, after, ok := strings.Cut(path, "]."); ok {
			return after
		}
		return fieldDegree
	case path == "degrees":
		return fieldDegree
	case strings.HasPrefix(path, "tags"):
		return fieldTags
	}
	return path
}
