// Package export writes alumni records as files to download — CSV, JSON or NDJSON — streamed
// as they are read, with the columns the caller may read, and audits every export.
package export

import (
	"slices"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
)

// kind is the type of a column's values.
type kind int

const (
	kindText kind = iota
	kindInt       // 0 is no value
	kindBool
	kindTime // the zero time is no value
	kindTags
)

// Column is one column of an export: a flat field of a record (the contract's ExportColumn).
type Column struct {
	Name string
	// field is the withholdable field (alumni.Field…) that governs the column, "" for fields
	// everyone who may export may read.
	field string
	kind  kind
	text  func(a *alumni.Alumnus) string
	num   func(a *alumni.Alumnus) int
	flag  func(a *alumni.Alumnus) bool
	when  func(a *alumni.Alumnus) time.Time
}

// primary returns the primary degree of a, or the zero Degree.
func primary(a *alumni.Alumnus) alumni.Degree {
	for _, d := range a.Degrees {
		if d.Primary {
			return d
		}
	}
	return alumni.Degree{}
}

func text(name, field string, f func(a *alumni.Alumnus) string) Column {
	return Column{Name: name, field: field, kind: kindText, text: f}
}

func flag(name, field string, f func(a *alumni.Alumnus) bool) Column {
	return Column{Name: name, field: field, kind: kindBool, flag: f}
}

// columns are every column, in the contract's order (ExportColumn); an export without a
// choice of columns has those the caller may read, in this order.
var columns = []Column{
	text("id", "", func(a *alumni.Alumnus) string { return a.ID }),
	text("studentId", alumni.FieldStudentID, func(a *alumni.Alumnus) string { return a.StudentID }),
	text("firstName", "", func(a *alumni.Alumnus) string { return a.FirstName }),
	text("lastName", "", func(a *alumni.Alumnus) string { return a.LastName }),
	text("preferredName", "", func(a *alumni.Alumnus) string { return a.PreferredName }),
	text("enrolledName", "", func(a *alumni.Alumnus) string { return a.EnrolledName }),
	text("email", alumni.FieldEmail, func(a *alumni.Alumnus) string { return a.Email }),
	text("workEmail", alumni.FieldWorkEmail, func(a *alumni.Alumnus) string { return a.WorkEmail }),
	text("phone", alumni.FieldPhone, func(a *alumni.Alumnus) string { return a.Phone }),
	text("addressLine1", alumni.FieldAddress, func(a *alumni.Alumnus) string { return a.Address.Line1 }),
	text("addressLine2", alumni.FieldAddress, func(a *alumni.Alumnus) string { return a.Address.Line2 }),
	text("city", alumni.FieldAddress, func(a *alumni.Alumnus) string { return a.Address.City }),
	text("region", alumni.FieldAddress, func(a *alumni.Alumnus) string { return a.Address.Region }),
	text("postalCode", alumni.FieldAddress, func(a *alumni.Alumnus) string { return a.Address.PostalCode }),
	text("country", alumni.FieldAddress, func(a *alumni.Alumnus) string { return a.Address.Country }),
	text("employer", "", func(a *alumni.Alumnus) string { return a.Employment.Employer }),
	text("jobTitle", "", func(a *alumni.Alumnus) string { return a.Employment.JobTitle }),
	text("industry", "", func(a *alumni.Alumnus) string { return a.Employment.Industry }),
	text("linkedinUrl", "", func(a *alumni.Alumnus) string { return a.LinkedInURL }),
	text("websiteUrl", "", func(a *alumni.Alumnus) string { return a.WebsiteURL }),
	text("degree", "", func(a *alumni.Alumnus) string { return primary(a).Degree }),
	text("program", "", func(a *alumni.Alumnus) string { return primary(a).Program }),
	text("faculty", "", func(a *alumni.Alumnus) string { return primary(a).Faculty }),
	{Name: "graduationYear", kind: kindInt, num: func(a *alumni.Alumnus) int { return primary(a).GraduationYear }},
	{Name: "preferredClassYear", kind: kindInt, num: func(a *alumni.Alumnus) int { return primary(a).PreferredClassYear }},
	flag("directoryConsent", "", func(a *alumni.Alumnus) bool { return a.DirectoryConsent }),
	flag("doNotEmail", alumni.FieldContactPermissions, func(a *alumni.Alumnus) bool { return a.ContactPermissions.DoNotEmail }),
	flag("doNotMail", alumni.FieldContactPermissions, func(a *alumni.Alumnus) bool { return a.ContactPermissions.DoNotMail }),
	flag("doNotPhone", alumni.FieldContactPermissions, func(a *alumni.Alumnus) bool { return a.ContactPermissions.DoNotPhone }),
	flag("doNotSms", alumni.FieldContactPermissions, func(a *alumni.Alumnus) bool { return a.ContactPermissions.DoNotSMS }),
	text("status", alumni.FieldStatus, func(a *alumni.Alumnus) string { return string(a.Status) }),
	{Name: "tags", field: alumni.FieldTags, kind: kindTags},
	text("notes", alumni.FieldNotes, func(a *alumni.Alumnus) string { return a.Notes }),
	{Name: "createdAt", kind: kindTime, when: func(a *alumni.Alumnus) time.Time { return a.CreatedAt }},
	{Name: "updatedAt", kind: kindTime, when: func(a *alumni.Alumnus) time.Time { return a.UpdatedAt }},
	{Name: "deletedAt", kind: kindTime, when: func(a *alumni.Alumnus) time.Time {
		if a.DeletedAt == nil {
			return time.Time{}
		}
		return *a.DeletedAt
	}},
}

// Columns returns the columns named, in that order, or, when names is empty, every column p
// may read. It returns Malformed for an unknown or repeated name and Forbidden naming each
// column p may read on no record (a viewer asking for notes).
func Columns(p auth.Principal, names []string) ([]Column, error) {
	never := alumni.NeverReadable(p)
	if len(names) == 0 {
		var out []Column
		for _, c := range columns {
			if c.field == "" || !slices.Contains(never, c.field) {
				out = append(out, c)
			}
		}
		return out, nil
	}
	var out []Column
	var bad, denied []derrors.FieldError
	for i, name := range names {
		j := slices.IndexFunc(columns, func(c Column) bool { return c.Name == name })
		switch {
		case j < 0:
			bad = append(bad, derrors.FieldError{Field: "columns", Message: quote(name) + " is not a column of an export"})
		case slices.Contains(names[:i], name):
			bad = append(bad, derrors.FieldError{Field: "columns", Message: quote(name) + " is named twice"})
		case columns[j].field != "" && slices.Contains(never, columns[j].field):
			denied = append(denied, derrors.FieldError{Field: "columns", Message: quote(name) + " is a column your role may not read"})
		default:
			out = append(out, columns[j])
		}
	}
	if len(bad) > 0 {
		return nil, derrors.New(derrors.Malformed, "Some of these columns do not exist.", bad...)
	}
	if len(denied) > 0 {
		return nil, derrors.New(derrors.Forbidden, "Your role may not export some of these columns.", denied...)
	}
	return out, nil
}

func quote(s string) string { return `"` + s + `"` }

// withheld reports whether the cell of column c is hidden from the reader of a (Redact has
// named its field in a.Withheld).
func (c *Column) withheld(a *alumni.Alumnus) bool {
	return c.field != "" && len(a.Withheld) > 0 && slices.Contains(a.Withheld, c.field)
}
