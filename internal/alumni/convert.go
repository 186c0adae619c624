package alumni

import (
	"math"
	"time"

	"github.com/alumnid/alumnid/gen/db"
)

// ptr returns nil for "" so that unknown values are stored as NULL.
func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func toCreateParams(a Alumnus) db.CreateAlumnusParams {
	f := a.Fields
	return db.CreateAlumnusParams{
		PublicID: a.ID, StudentID: ptr(f.StudentID),
		FirstName: f.FirstName, LastName: f.LastName,
		PreferredName: ptr(f.PreferredName), EnrolledName: ptr(f.EnrolledName),
		Email: ptr(f.Email), WorkEmail: ptr(f.WorkEmail), Phone: ptr(f.Phone),
		AddressLine1: ptr(f.Address.Line1), AddressLine2: ptr(f.Address.Line2),
		City: ptr(f.Address.City), Region: ptr(f.Address.Region),
		PostalCode: ptr(f.Address.PostalCode), Country: ptr(f.Address.Country),
		Employer: ptr(f.Employment.Employer), JobTitle: ptr(f.Employment.JobTitle), Industry: ptr(f.Employment.Industry),
		LinkedinUrl: ptr(f.LinkedInURL), WebsiteUrl: ptr(f.WebsiteURL),
		DirectoryConsent: f.DirectoryConsent,
		DoNotEmail:       f.ContactPermissions.DoNotEmail, DoNotMail: f.ContactPermissions.DoNotMail,
		DoNotPhone: f.ContactPermissions.DoNotPhone, DoNotSms: f.ContactPermissions.DoNotSMS,
		Status: string(f.Status), ClassYear: smallint(f.ClassYear()), Notes: ptr(f.Notes),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

func toUpdateParams(f Fields, now time.Time, id int64) db.UpdateAlumnusParams {
	c := toCreateParams(Alumnus{Fields: f})
	return db.UpdateAlumnusParams{
		StudentID: c.StudentID, FirstName: c.FirstName, LastName: c.LastName,
		PreferredName: c.PreferredName, EnrolledName: c.EnrolledName,
		Email: c.Email, WorkEmail: c.WorkEmail, Phone: c.Phone,
		AddressLine1: c.AddressLine1, AddressLine2: c.AddressLine2, City: c.City, Region: c.Region,
		PostalCode: c.PostalCode, Country: c.Country,
		Employer: c.Employer, JobTitle: c.JobTitle, Industry: c.Industry,
		LinkedinUrl: c.LinkedinUrl, WebsiteUrl: c.WebsiteUrl,
		DirectoryConsent: c.DirectoryConsent, DoNotEmail: c.DoNotEmail, DoNotMail: c.DoNotMail,
		DoNotPhone: c.DoNotPhone, DoNotSms: c.DoNotSms,
		Status: c.Status, ClassYear: c.ClassYear, Notes: c.Notes, UpdatedAt: now, ID: id,
	}
}

// smallint narrows n to a SMALLINT column. Normalize and the contract bound every value that
// gets here (positions, years), so clamping never changes one.
func smallint(n int) int16 {
	if n > math.MaxInt16 {
		return math.MaxInt16
	}
	if n < math.MinInt16 {
		return math.MinInt16
	}
	return int16(n)
}

func fromRow(r db.Alumni) Alumnus {
	return Alumnus{
		ID: r.PublicID, Version: int(r.Version),
		Fields: Fields{
			StudentID: str(r.StudentID), FirstName: r.FirstName, LastName: r.LastName,
			PreferredName: str(r.PreferredName), EnrolledName: str(r.EnrolledName),
			Email: str(r.Email), WorkEmail: str(r.WorkEmail), Phone: str(r.Phone),
			Address: Address{
				Line1: str(r.AddressLine1), Line2: str(r.AddressLine2), City: str(r.City),
				Region: str(r.Region), PostalCode: str(r.PostalCode), Country: str(r.Country),
			},
			Employment:  Employment{Employer: str(r.Employer), JobTitle: str(r.JobTitle), Industry: str(r.Industry)},
			LinkedInURL: str(r.LinkedinUrl), WebsiteURL: str(r.WebsiteUrl),
			Degrees: []Degree{}, Tags: []string{},
			DirectoryConsent: r.DirectoryConsent,
			ContactPermissions: ContactPermissions{
				DoNotEmail: r.DoNotEmail, DoNotMail: r.DoNotMail, DoNotPhone: r.DoNotPhone, DoNotSMS: r.DoNotSms,
			},
			Status: Status(r.Status), Notes: str(r.Notes),
		},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt,
	}
}

func fromDegreeRow(d db.Degree) Degree {
	out := Degree{
		Degree: d.Degree, Program: d.Program, Faculty: str(d.Faculty),
		GraduationYear: int(d.GraduationYear), Primary: d.IsPrimary,
	}
	if d.PreferredClassYear != nil {
		out.PreferredClassYear = int(*d.PreferredClassYear)
	}
	return out
}
