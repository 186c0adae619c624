package alumni

import (
	"context"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
)

// auditFields are the fields of f as the audit trail records them, by API name.
func auditFields(f Fields) map[string]any {
	degrees := make([]map[string]any, len(f.Degrees))
	for i, d := range f.Degrees {
		degrees[i] = map[string]any{"degree": d.Degree, "program": d.Program, "faculty": d.Faculty,
			"graduationYear": d.GraduationYear, "preferredClassYear": d.PreferredClassYear, "primary": d.Primary}
	}
	m := map[string]any{
		"studentId": f.StudentID, "firstName": f.FirstName, "lastName": f.LastName,
		"preferredName": f.PreferredName, "enrolledName": f.EnrolledName,
		"email": f.Email, "workEmail": f.WorkEmail, "phone": f.Phone,
		"address.line1": f.Address.Line1, "address.line2": f.Address.Line2, "address.city": f.Address.City,
		"address.region": f.Address.Region, "address.postalCode": f.Address.PostalCode, "address.country": f.Address.Country,
		"employment.employer": f.Employment.Employer, "employment.jobTitle": f.Employment.JobTitle,
		"employment.industry": f.Employment.Industry,
		"linkedinUrl":         f.LinkedInURL, "websiteUrl": f.WebsiteURL,
		"degrees": degrees, "tags": f.Tags,
		"directoryConsent":              f.DirectoryConsent,
		"contactPermissions.doNotEmail": f.ContactPermissions.DoNotEmail,
		"contactPermissions.doNotMail":  f.ContactPermissions.DoNotMail,
		"contactPermissions.doNotPhone": f.ContactPermissions.DoNotPhone,
		"contactPermissions.doNotSms":   f.ContactPermissions.DoNotSMS,
		"status":                        string(f.Status), "notes": f.Notes,
	}
	if len(f.Degrees) == 0 {
		m["degrees"] = nil
	}
	return m
}

// record writes the audit event of a change to record id through q.
func record(ctx context.Context, q *db.Queries, action, id string, changes []audit.Change, now time.Time) error {
	return audit.Record(ctx, q, alumnusEvent(action, id, changes), now)
}

// alumnusEvent is the audit event of a change to record id.
func alumnusEvent(action, id string, changes []audit.Change) audit.Event {
	return audit.Event{Action: action, EntityType: "alumnus", EntityID: id, Changes: changes}
}
