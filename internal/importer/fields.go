package importer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/strictjson"
)

// The fields a column can set, by their API names (the contract's ImportField).
const (
	fieldStudentID          = "studentId"
	fieldEmail              = "email"
	fieldDegree             = "degree"
	fieldProgram            = "program"
	fieldFaculty            = "faculty"
	fieldGraduationYear     = "graduationYear"
	fieldPreferredClassYear = "preferredClassYear"
	fieldTags               = "tags"
)

// field is one settable field: its API name, the headers that name it besides the name itself
// (compared by headerKey), and how a non-empty cell sets it. set returns a message when the
// cell cannot be read; degree and tag cells are collected by the row instead (see row.go).
type field struct {
	name     string
	synonyms []string
	set      func(f *alumni.Fields, v string) string
}

func text(dst func(f *alumni.Fields) *string) func(f *alumni.Fields, v string) string {
	return func(f *alumni.Fields, v string) string {
		*dst(f) = v
		return ""
	}
}

func flag(dst func(f *alumni.Fields) *bool) func(f *alumni.Fields, v string) string {
	return func(f *alumni.Fields, v string) string {
		switch strings.ToLower(v) {
		case "yes", "y", "true", "t", "1", "x":
			*dst(f) = true
		case "no", "n", "false", "f", "0":
			*dst(f) = false
		default:
			return "must be yes or no (true/false, 1/0)"
		}
		return ""
	}
}

// fields are the settable fields in the contract's order.
var fields = []field{
	{fieldStudentID, []string{"student id", "student number", "student no", "registrar id", "matriculation number"},
		text(func(f *alumni.Fields) *string { return &f.StudentID })},
	{"firstName", []string{"first name", "given name", "forename", "first"},
		text(func(f *alumni.Fields) *string { return &f.FirstName })},
	{"lastName", []string{"last name", "surname", "family name", "last"},
		text(func(f *alumni.Fields) *string { return &f.LastName })},
	{"preferredName", []string{"preferred name", "nickname", "known as"},
		text(func(f *alumni.Fields) *string { return &f.PreferredName })},
	{"enrolledName", []string{"enrolled name", "maiden name", "former name", "name at graduation"},
		text(func(f *alumni.Fields) *string { return &f.EnrolledName })},
	{fieldEmail, []string{"e-mail", "email address", "e-mail address", "personal email", "mail"},
		text(func(f *alumni.Fields) *string { return &f.Email })},
	{"workEmail", []string{"work email", "business email", "work e-mail"},
		text(func(f *alumni.Fields) *string { return &f.WorkEmail })},
	{"phone", []string{"phone number", "telephone", "mobile", "tel"},
		text(func(f *alumni.Fields) *string { return &f.Phone })},
	{"address.line1", []string{"address", "address line 1", "street", "line1"},
		text(func(f *alumni.Fields) *string { return &f.Address.Line1 })},
	{"address.line2", []string{"address line 2", "line2"},
		text(func(f *alumni.Fields) *string { return &f.Address.Line2 })},
	{"address.city", []string{"city", "town"},
		text(func(f *alumni.Fields) *string { return &f.Address.City })},
	{"address.region", []string{"region", "state", "province", "county"},
		text(func(f *alumni.Fields) *string { return &f.Address.Region })},
	{"address.postalCode", []string{"postal code", "postcode", "zip", "zip code"},
		text(func(f *alumni.Fields) *string { return &f.Address.PostalCode })},
	{"address.country", []string{"country", "country code"},
		text(func(f *alumni.Fields) *string { return &f.Address.Country })},
	{"employment.employer", []string{"employer", "company", "organization", "organisation"},
		text(func(f *alumni.Fields) *string { return &f.Employment.Employer })},
	{"employment.jobTitle", []string{"job title", "position"},
		text(func(f *alumni.Fields) *string { return &f.Employment.JobTitle })},
	{"employment.industry", []string{"industry"},
		text(func(f *alumni.Fields) *string { return &f.Employment.Industry })},
	{"linkedinUrl", []string{"linkedin", "linkedin url", "linkedin profile"},
		text(func(f *alumni.Fields) *string { return &f.LinkedInURL })},
	{"websiteUrl", []string{"website", "web site", "homepage", "url"},
		text(func(f *alumni.Fields) *string { return &f.WebsiteURL })},
	{fieldDegree, []string{"degree type", "award"}, nil},
	{fieldProgram, []string{"programme", "major", "course", "field of study", "subject"}, nil},
	{fieldFaculty, []string{"school", "college", "department"}, nil},
	{fieldGraduationYear, []string{"graduation year", "class year", "class", "class of", "grad year", "year of graduation", "year"}, nil},
	{fieldPreferredClassYear, []string{"preferred class year", "preferred class"}, nil},
	{fieldTags, []string{"tag", "labels", "segments"}, nil},
	{"directoryConsent", []string{"directory consent", "directory", "listed in directory"},
		flag(func(f *alumni.Fields) *bool { return &f.DirectoryConsent })},
	{"contactPermissions.doNotEmail", []string{"do not email", "no email"},
		flag(func(f *alumni.Fields) *bool { return &f.ContactPermissions.DoNotEmail })},
	{"contactPermissions.doNotMail", []string{"do not mail", "no mail"},
		flag(func(f *alumni.Fields) *bool { return &f.ContactPermissions.DoNotMail })},
	{"contactPermissions.doNotPhone", []string{"do not phone", "do not call", "no phone"},
		flag(func(f *alumni.Fields) *bool { return &f.ContactPermissions.DoNotPhone })},
	{"contactPermissions.doNotSms", []string{"do not sms", "do not text", "no sms"},
		flag(func(f *alumni.Fields) *bool { return &f.ContactPermissions.DoNotSMS })},
	{"status", nil, func(f *alumni.Fields, v string) string {
		f.Status = alumni.Status(strings.ReplaceAll(strings.ToLower(strings.Join(strings.Fields(v), " ")), " ", "_"))
		return ""
	}},
	{"notes", []string{"note", "comments", "comment", "remarks"},
		text(func(f *alumni.Fields) *string { return &f.Notes })},
}

// FieldNames are the names of the fields a column can set, in the contract's order.
var FieldNames = func() []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}()

var (
	fieldByName = map[string]*field{}
	// fieldByHeader recognizes headers: each field's name and synonyms, by headerKey.
	fieldByHeader = map[string]*field{}
)

func init() {
	for i := range fields {
		f := &fields[i]
		fieldByName[f.name] = f
		for _, h := range append([]string{f.name}, f.synonyms...) {
			k := headerKey(h)
			if other, ok := fieldByHeader[k]; ok && other != f {
				panic(fmt.Sprintf("header %q names both %s and %s", h, other.name, f.name))
			}
			fieldByHeader[k] = f
		}
	}
}

// headerKey is how headers are compared: case, spaces, '_', '-' and '.' do not matter.
func headerKey(h string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '.' {
			return -1
		}
		return unicode.ToLower(r)
	}, h)
}

// Column is one CSV column that sets a field.
type Column struct {
	Header string `json:"column"`
	Field  string `json:"field"`
	index  int    // position in the CSV record
}

// Mapping names the field a header sets ("" to ignore the column), overriding recognition.
type Mapping map[string]string

// maxMappingBytes bounds the mapping form field (the contract says the same).
const maxMappingBytes = 64 << 10

// ParseMapping reads the mapping form field: a JSON object from header to field name. It
// returns a Malformed error naming mapping when it is not one, or names an unknown field.
func ParseMapping(raw []byte) (Mapping, error) {
	var m Mapping
	if err := strictjson.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, derrors.New(derrors.Malformed, "The mapping is not a JSON object from column header to field name.",
			derrors.FieldError{Field: "mapping", Message: `must be a JSON object such as {"Matrikelnummer": "studentId"}`})
	}
	var errs []derrors.FieldError
	for _, header := range sortedKeys(m) {
		if name := m[header]; name != "" && fieldByName[name] == nil {
			errs = append(errs, derrors.FieldError{Field: "mapping", Message: fmt.Sprintf(
				"%s: %q is not a field; use one of %s, or \"\" to ignore the column", strconv.Quote(header), name, strings.Join(FieldNames, ", "))})
		}
	}
	if len(errs) > 0 {
		return nil, derrors.New(derrors.Malformed, "The mapping names unknown fields.", errs...)
	}
	return m, nil
}

func sortedKeys(m Mapping) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resolveColumns decides which field each header sets: the mapping first (headers compared
// after trimming, case-insensitively), then recognition. It returns the columns that set a
// field, the headers of the others, and a Malformed error naming file or mapping when a
// mapping entry names no column, two columns set the same field, or there is no key column.
func resolveColumns(headers []string, m Mapping) ([]Column, []string, error) {
	var columns []Column
	var ignored []string
	var errs []derrors.FieldError
	used := map[string]int{} // mapping entries used
	byField := map[string]string{}
	for i, h := range headers {
		f := fieldByHeader[headerKey(h)]
		if name, ok := lookupMapping(m, h, used); ok {
			f = fieldByName[name] // nil for "": ignore
		}
		if f == nil {
			if h == "" {
				h = fmt.Sprintf("(column %d)", i+1)
			}
			ignored = append(ignored, h)
			continue
		}
		if other, ok := byField[f.name]; ok {
			errs = append(errs, derrors.FieldError{Field: "file", Message: fmt.Sprintf(
				"columns %q and %q both set %s; remove one or ignore it in the mapping", other, h, f.name)})
			continue
		}
		byField[f.name] = h
		columns = append(columns, Column{Header: h, Field: f.name, index: i})
	}
	for _, header := range sortedKeys(m) {
		if used[header] == 0 {
			errs = append(errs, derrors.FieldError{Field: "mapping", Message: fmt.Sprintf("%q is not a column of the file", header)})
		}
	}
	if len(errs) > 0 {
		return nil, nil, derrors.New(derrors.Malformed, "The columns of the file cannot be used as they are.", errs...)
	}
	if byField[fieldStudentID] == "" && byField[fieldEmail] == "" {
		found := strings.Join(quoteAll(headers), ", ")
		if len(headers) == 1 {
			return nil, nil, derrors.New(derrors.Malformed, "The header line has only one column: the file must be comma- or semicolon-separated.",
				derrors.FieldError{Field: "file", Message: "has only one column, " + found + "; save it as CSV with commas or semicolons between the columns"})
		}
		return nil, nil, derrors.New(derrors.Malformed, "The file has no student id or email column, which rows are matched on.",
			derrors.FieldError{Field: "file", Message: `needs a studentId column (such as "Student ID") or an email column (such as "E-mail"), or a mapping naming one; its columns are ` + found})
	}
	return columns, ignored, nil
}

// lookupMapping returns the mapping's field for header h, counting the entry as used.
func lookupMapping(m Mapping, h string, used map[string]int) (string, bool) {
	for k, name := range m {
		if strings.EqualFold(strings.TrimSpace(k), h) {
			used[k]++
			return name, true
		}
	}
	return "", false
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		if r := []rune(x); len(r) > 60 {
			x = string(r[:60]) + "…"
		}
		out[i] = strconv.Quote(x)
	}
	return out
}
