package alumni

import (
	"context"
	"strings"

	"github.com/alumnid/alumnid/gen/db"
)

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
	"status", "notes", "created_at", "updated_at",
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
		p.Status, p.Notes, p.CreatedAt, p.UpdatedAt,
	}
}

// DegreeColumns are the degrees columns DegreeRow fills, in order.
var DegreeColumns = []string{
	"alumnus_id", "position", "degree", "program", "faculty", "graduation_year", "preferred_class_year", "is_primary",
}

// DegreeRow returns the values of DegreeColumns for the degree at position of alumnus id.
func DegreeRow(alumnusID int64, position int, d Degree) []any {
	p := toDegreeParams(alumnusID, position, d)
	return []any{p.AlumnusID, p.Position, p.Degree, p.Program, p.Faculty, p.GraduationYear, p.PreferredClassYear, p.IsPrimary}
}

// insertRows inserts rows (values of columns) into table through tx, with statements of up to
// 1,000 rows and about 4 MiB (max_allowed_packet is 16 MiB by default on MariaDB).
func insertRows(ctx context.Context, tx db.DBTX, table string, columns []string, rows [][]any) error {
	const maxRows, maxBytes = 1000, 4 << 20
	args := make([]any, 0, min(len(rows), maxRows)*len(columns))
	n, size := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, multiInsert(table, columns, n), args...)
		args, n, size = args[:0], 0, 0
		return err
	}
	for _, r := range rows {
		args = append(args, r...)
		n++
		for _, v := range r {
			if s, ok := v.(*string); ok && s != nil {
				size += len(*s)
			} else if s, ok := v.(string); ok {
				size += len(s)
			}
		}
		if n >= maxRows || size >= maxBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// multiInsert writes an INSERT of rows rows into table; only fixed names and placeholders go
// into it.
func multiInsert(table string, columns []string, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	var b strings.Builder
	b.Grow(len(one)*rows + 100)
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}
