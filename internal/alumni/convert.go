package alumni

import (
	"math"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
)

func toCreateParams(a Alumnus) db.CreateAlumnusParams {
	f := a.Fields
	return db.CreateAlumnusParams{
		PublicID: a.ID, StudentID: ptr.NonZero(f.StudentID),
		FirstName: f.FirstName, LastName: f.LastName,
		PreferredName: ptr.NonZero(f.PreferredName), EnrolledName: ptr.NonZero(f.EnrolledName),
		Email: ptr.NonZero(f.Email), WorkEmail: ptr.NonZero(f.WorkEmail), Phone: ptr.NonZero(f.Phone),
		AddressLine1: ptr.NonZero(f.Address.Line1), AddressLine2: ptr.NonZero(f.Address.Line2),
		City: ptr.NonZero(f.Address.City), Region: ptr.NonZero(f.Address.Region),
		PostalCode: ptr.NonZero(f.Address.PostalCode), Country: ptr.NonZero(f.Address.Country),
		Employer: ptr.NonZero(f.Employment.Employer), JobTitle: ptr.NonZero(f.Employment.JobTitle), Industry: ptr.NonZero(f.Employment.Industry),
		LinkedinUrl: ptr.NonZero(f.LinkedInURL), WebsiteUrl: ptr.NonZero(f.WebsiteURL),
		DirectoryConsent: f.DirectoryConsent,
		DoNotEmail:       f.ContactPermissions.DoNotEmail, DoNotMail: f.ContactPermissions.DoNotMail,
		DoNotPhone: f.ContactPermissions.DoNotPhone, DoNotSms: f.ContactPermissions.DoNotSMS,
		Status: string(f.Status), ClassYear: smallint(f.ClassYear()), Notes: ptr.NonZero(f.Notes),
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
			StudentID: ptr.Deref(r.StudentID), FirstName: r.FirstName, LastName: r.LastName,
			PreferredName: ptr.Deref(r.PreferredName), EnrolledName: ptr.Deref(r.EnrolledName),
			Email: ptr.Deref(r.Email), WorkEmail: ptr.Deref(r.WorkEmail), Phone: ptr.Deref(r.Phone),
			Address: Address{
				Line1: ptr.Deref(r.AddressLine1), Line2: ptr.Deref(r.AddressLine2), City: ptr.Deref(r.City),
				Region: ptr.Deref(r.Region), PostalCode: ptr.Deref(r.PostalCode), Country: ptr.Deref(r.Country),
			},
			Employment:  Employment{Employer: ptr.Deref(r.Employer), JobTitle: ptr.Deref(r.JobTitle), Industry: ptr.Deref(r.Industry)},
			LinkedInURL: ptr.Deref(r.LinkedinUrl), WebsiteURL: ptr.Deref(r.WebsiteUrl),
			Degrees: []Degree{}, Tags: []string{},
			DirectoryConsent: r.DirectoryConsent,
			ContactPermissions: ContactPermissions{
				DoNotEmail: r.DoNotEmail, DoNotMail: r.DoNotMail, DoNotPhone: r.DoNotPhone, DoNotSMS: r.DoNotSms,
			},
			Status: Status(r.Status), Notes: ptr.Deref(r.Notes),
		},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt,
	}
}

func fromDegreeRow(d db.Degree) Degree {
	out := Degree{
		Degree: d.Degree, Program: d.Program, Faculty: ptr.Deref(d.Faculty),
		GraduationYear: int(d.GraduationYear), Primary: d.IsPrimary,
	}
	if d.PreferredClassYear != nil {
		out.PreferredClassYear = int(*d.PreferredClassYear)
	}
	return out
}
