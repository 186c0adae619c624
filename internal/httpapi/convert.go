package httpapi

import (
	"strconv"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/ptr"
)

// pageSize is the limit parameter of a list, or the default page size.
func pageSize(limit *int) int {
	if limit == nil {
		return page.DefaultLimit
	}
	return *limit
}

func optEmail(s string) *openapi_types.Email {
	if s == "" {
		return nil
	}
	e := openapi_types.Email(s)
	return &e
}

func toAPIAlumnus(a alumni.Alumnus) api.Alumnus {
	out := api.Alumnus{
		Id:               a.ID,
		StudentId:        ptr.NonZero(a.StudentID),
		FirstName:        a.FirstName,
		LastName:         a.LastName,
		PreferredName:    ptr.NonZero(a.PreferredName),
		EnrolledName:     ptr.NonZero(a.EnrolledName),
		Email:            optEmail(a.Email),
		WorkEmail:        optEmail(a.WorkEmail),
		Phone:            ptr.NonZero(a.Phone),
		Address:          toAPIAddress(a.Address),
		Employment:       toAPIEmployment(a.Employment),
		LinkedinUrl:      ptr.NonZero(a.LinkedInURL),
		WebsiteUrl:       ptr.NonZero(a.WebsiteURL),
		Degrees:          toAPIDegrees(a.Degrees),
		Tags:             &[]string{},
		DirectoryConsent: a.DirectoryConsent,
		ContactPermissions: &api.ContactPermissions{
			DoNotEmail: &a.ContactPermissions.DoNotEmail, DoNotMail: &a.ContactPermissions.DoNotMail,
			DoNotPhone: &a.ContactPermissions.DoNotPhone, DoNotSms: &a.ContactPermissions.DoNotSMS,
		},
		Status:    ptr.To(api.AlumnusStatus(a.Status)),
		Notes:     ptr.NonZero(a.Notes),
		CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt,
		DeletedAt: a.DeletedAt,
	}
	*out.Tags = append(*out.Tags, a.Tags...)
	for _, f := range a.Withheld {
		switch f {
		case alumni.FieldTags:
			out.Tags = nil
		case alumni.FieldContactPermissions:
			out.ContactPermissions = nil
		case alumni.FieldStatus:
			out.Status = nil
		}
	}
	if len(a.Withheld) > 0 {
		w := make([]api.AlumnusWithheld, len(a.Withheld))
		for i, f := range a.Withheld {
			w[i] = api.AlumnusWithheld(f)
		}
		out.Withheld = &w
	}
	return out
}

// toAPIInput is the writable part of a, in the shape a merge patch applies to.
func toAPIInput(a alumni.Alumnus) api.AlumnusInput {
	full := toAPIAlumnus(a)
	return api.AlumnusInput{
		StudentId: full.StudentId, FirstName: full.FirstName, LastName: full.LastName,
		PreferredName: full.PreferredName, EnrolledName: full.EnrolledName,
		Email: full.Email, WorkEmail: full.WorkEmail, Phone: full.Phone,
		Address: full.Address, Employment: full.Employment,
		LinkedinUrl: full.LinkedinUrl, WebsiteUrl: full.WebsiteUrl,
		Degrees: &full.Degrees, Tags: full.Tags,
		DirectoryConsent:   &full.DirectoryConsent,
		ContactPermissions: full.ContactPermissions,
		Status:             full.Status, Notes: full.Notes,
	}
}

func toAPIAddress(a alumni.Address) *api.Address {
	if a == (alumni.Address{}) {
		return nil
	}
	return &api.Address{
		Line1: ptr.NonZero(a.Line1), Line2: ptr.NonZero(a.Line2), City: ptr.NonZero(a.City),
		Region: ptr.NonZero(a.Region), PostalCode: ptr.NonZero(a.PostalCode), Country: ptr.NonZero(a.Country),
	}
}

func toAPIEmployment(e alumni.Employment) *api.Employment {
	if e == (alumni.Employment{}) {
		return nil
	}
	return &api.Employment{Employer: ptr.NonZero(e.Employer), JobTitle: ptr.NonZero(e.JobTitle), Industry: ptr.NonZero(e.Industry)}
}

func toAPIDegrees(ds []alumni.Degree) []api.Degree {
	out := make([]api.Degree, len(ds))
	for i, d := range ds {
		out[i] = api.Degree{
			Degree: d.Degree, Program: d.Program, Faculty: ptr.NonZero(d.Faculty),
			GraduationYear: d.GraduationYear, Primary: &ds[i].Primary,
		}
		if d.PreferredClassYear != 0 {
			out[i].PreferredClassYear = &ds[i].PreferredClassYear
		}
	}
	return out
}

func toFields(in api.AlumnusInput) alumni.Fields {
	f := alumni.Fields{
		StudentID: ptr.Deref(in.StudentId), FirstName: in.FirstName, LastName: in.LastName,
		PreferredName: ptr.Deref(in.PreferredName), EnrolledName: ptr.Deref(in.EnrolledName),
		Email: string(ptr.Deref(in.Email)), WorkEmail: string(ptr.Deref(in.WorkEmail)), Phone: ptr.Deref(in.Phone),
		LinkedInURL: ptr.Deref(in.LinkedinUrl), WebsiteURL: ptr.Deref(in.WebsiteUrl),
		Tags: ptr.Deref(in.Tags), DirectoryConsent: ptr.Deref(in.DirectoryConsent),
		Status: alumni.Status(ptr.Deref(in.Status)), Notes: ptr.Deref(in.Notes),
	}
	if a := in.Address; a != nil {
		f.Address = alumni.Address{
			Line1: ptr.Deref(a.Line1), Line2: ptr.Deref(a.Line2), City: ptr.Deref(a.City),
			Region: ptr.Deref(a.Region), PostalCode: ptr.Deref(a.PostalCode), Country: ptr.Deref(a.Country),
		}
	}
	if e := in.Employment; e != nil {
		f.Employment = alumni.Employment{Employer: ptr.Deref(e.Employer), JobTitle: ptr.Deref(e.JobTitle), Industry: ptr.Deref(e.Industry)}
	}
	if c := in.ContactPermissions; c != nil {
		f.ContactPermissions = alumni.ContactPermissions{
			DoNotEmail: ptr.Deref(c.DoNotEmail), DoNotMail: ptr.Deref(c.DoNotMail), DoNotPhone: ptr.Deref(c.DoNotPhone), DoNotSMS: ptr.Deref(c.DoNotSms),
		}
	}
	for _, d := range ptr.Deref(in.Degrees) {
		f.Degrees = append(f.Degrees, alumni.Degree{
			Degree: d.Degree, Program: d.Program, Faculty: ptr.Deref(d.Faculty), GraduationYear: d.GraduationYear,
			PreferredClassYear: ptr.Deref(d.PreferredClassYear), Primary: ptr.Deref(d.Primary),
		})
	}
	return f
}

func toFilter(p api.ListAlumniParams) listing.Filter {
	f := listing.Filter{
		Q:                  ptr.Deref(p.Q),
		GraduationYearFrom: ptr.Deref(p.GraduationYearFrom), GraduationYearTo: ptr.Deref(p.GraduationYearTo),
		Degree: ptr.Deref(p.Degree), Program: ptr.Deref(p.Program), Faculty: ptr.Deref(p.Faculty),
		Country: ptr.Deref(p.Country), City: ptr.Deref(p.City), Industry: ptr.Deref(p.Industry), Employer: ptr.Deref(p.Employer),
		Status: alumni.Status(ptr.Deref(p.Status)), Tag: ptr.Deref(p.Tag), DirectoryConsent: p.DirectoryConsent,
		Deleted: ptr.Deref(p.Deleted),
	}
	if p.UpdatedSince != nil {
		f.UpdatedSince = *p.UpdatedSince
	}
	return f
}

// facetFilter is the filter of a facets request (the list's filter parameters).
func facetFilter(p api.GetAlumniFacetsParams) listing.Filter {
	return toFilter(api.ListAlumniParams{
		Q: p.Q, GraduationYearFrom: p.GraduationYearFrom, GraduationYearTo: p.GraduationYearTo,
		Degree: p.Degree, Program: p.Program, Faculty: p.Faculty, Country: p.Country, City: p.City,
		Industry: p.Industry, Employer: p.Employer, Status: p.Status, Tag: p.Tag,
		DirectoryConsent: p.DirectoryConsent, UpdatedSince: p.UpdatedSince, Deleted: p.Deleted,
	})
}

func toAPITotal(t listing.Total) api.Total { return api.Total{Count: t.Count, Exact: t.Exact} }

func toAPIBuckets(bs []listing.Bucket) []api.FacetBucket {
	out := make([]api.FacetBucket, len(bs))
	for i, b := range bs {
		out[i] = api.FacetBucket{Value: b.Value, Count: b.Count}
	}
	return out
}

func toAPIConsentChanges(changes []alumni.ConsentChange) []api.ConsentChange {
	out := make([]api.ConsentChange, len(changes))
	for i, c := range changes {
		out[i] = api.ConsentChange{
			Id: strconv.FormatInt(c.ID, 10), Field: api.ConsentField(c.Field), Value: c.Value,
			ChangedAt: c.ChangedAt, Source: api.ConsentChangeSource(c.Source),
		}
		if c.ActorID != "" {
			out[i].Actor = &api.AuditActor{Id: c.ActorID, Role: api.Role(c.ActorRole)}
		}
	}
	return out
}
