package alumni

import "github.com/alumnid/alumnid/internal/ptr"

// Bulk loaders (the seed command, later imports) write many rows per statement, which sqlc's
// one-row queries cannot. These give them the columns and values, from the same mapping the
// store uses, so there is one place that knows how a record becomes a row.

// RowColumns are the alumni columns Row fills, in order.
var RowColumns = []string{
	"public_id", "student_id", "first_name", "last_name", "preferred_name", "enrolled_name",
	"email", "work_email", "phone",
	"address_line1", "address_line2", "city", "region", "postal_code", "country",
	"employer", "job_title", "industry", "linkedin_url", "website_url",
	"directory_consent", "do_not_email", "do_not_mail", "do_not_phone", "do_not_sms",
	"status", "class_year", "notes", "created_at", "updated_at",
}

// Row returns the values of RowColumns for a, which must have been normalized.
func Row(a Alumnus) []any {
	p := toCreateParams(a)
	return []any{
		p.PublicID, p.StudentID, p.FirstName, p.LastName, p.PreferredName, p.EnrolledName,
		p.Email, p.WorkEmail, p.Phone,
		p.AddressLine1, p.AddressLine2, p.City, p.Region, p.PostalCode, p.Country,
		p.Employer, p.JobTitle, p.Industry, p.LinkedinUrl, p.WebsiteUrl,
		p.DirectoryConsent, p.DoNotEmail, p.DoNotMail, p.DoNotPhone, p.DoNotSms,
		p.Status, p.ClassYear, p.Notes, p.CreatedAt, p.UpdatedAt,
	}
}

// DegreeColumns are the degrees columns DegreeRow fills, in order.
var DegreeColumns = []string{
	"alumnus_id", "position", "degree", "program", "faculty", "graduation_year", "preferred_class_year", "is_primary",
}

// DegreeRow returns the values of DegreeColumns for the degree at position of alumnus id.
func DegreeRow(alumnusID int64, position int, d Degree) []any {
	var preferred *int16
	if d.PreferredClassYear != 0 {
		y := smallint(d.PreferredClassYear)
		preferred = &y
	}
	return []any{alumnusID, smallint(position), d.Degree, d.Program, ptr.NonZero(d.Faculty),
		smallint(d.GraduationYear), preferred, d.Primary}
}

// TagColumns are the alumni_tags columns, in order.
var TagColumns = []string{"alumnus_id", "tag"}
