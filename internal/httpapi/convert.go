package httpapi

import (
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/page"
)

// opt returns nil for "" so that empty fields are left out of answers.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// pageSize is the limit parameter of a list, or the default page size.
func pageSize(limit *int) int {
	if limit == nil {
		return page.DefaultLimit
	}
	return *limit
}

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
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
		StudentId:        opt(a.StudentID),
		FirstName:        a.FirstName,
		LastName:         a.LastName,
		PreferredName:    opt(a.PreferredName),
		EnrolledName:     opt(a.EnrolledName),
		Email:            optEmail(a.Email),
		WorkEmail:        optEmail(a.WorkEmail),
		Phone:            opt(a.Phone),
		Address:          toAPIAddress(a.Address),
		Employment:       toAPIEmployment(a.Employment),
		LinkedinUrl:      opt(a.LinkedInURL),
		WebsiteUrl:       opt(a.WebsiteURL),
		Degrees:          toAPIDegrees(a.Degrees),
		Tags:             &[]string{},
		DirectoryConsent: a.DirectoryConsent,
		ContactPermissions: &api.ContactPermissions{
			DoNotEmail: &a.ContactPermissions.DoNotEmail, DoNotMail: &a.ContactPermissions.DoNotMail,
			DoNotPhone: &a.ContactPermissions.DoNotPhone, DoNotSms: &a.ContactPermissions.DoNotSMS,
		},
		Status:    ptr(api.AlumnusStatus(a.Status)),
		Notes:     opt(a.Notes),
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

func ptr[T any](v T) *T { return &v }

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
		Line1: opt(a.Line1), Line2: opt(a.Line2), City: opt(a.City),
		Region: opt(a.Region), PostalCode: opt(a.PostalCode), Country: opt(a.Country),
	}
}

func toAPIEmployment(e alumni.Employment) *api.Employment {
	if e == (alumni.Employment{}) {
		return nil
	}
	return &api.Employment{Employer: opt(e.Employer), JobTitle: opt(e.JobTitle), Industry: opt(e.Industry)}
}

func toAPIDegrees(ds []alumni.Degree) []api.Degree {
	out := make([]api.Degree, len(ds))
	for i, d := range ds {
		out[i] = api.Degree{
			Degree: d.Degree, Program: d.Program, Faculty: opt(d.Faculty),
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
		StudentID: val(in.StudentId), FirstName: in.FirstName, LastName: in.LastName,
		PreferredName: val(in.PreferredName), EnrolledName: val(in.EnrolledName),
		Email: string(val(in.Email)), WorkEmail: string(val(in.WorkEmail)), Phone: val(in.Phone),
		LinkedInURL: val(in.LinkedinUrl), WebsiteURL: val(in.WebsiteUrl),
		Tags: val(in.Tags), DirectoryConsent: val(in.DirectoryConsent),
		Status: alumni.Status(val(in.Status)), Notes: val(in.Notes),
	}
	if a := in.Address; a != nil {
		f.Address = alumni.Address{
			Line1: val(a.Line1), Line2: val(a.Line2), City: val(a.City),
			Region: val(a.Region), PostalCode: val(a.PostalCode), Country: val(a.Country),
		}
	}
	if e := in.Employment; e != nil {
		f.Employment = alumni.Employment{Employer: val(e.Employer), JobTitle: val(e.JobTitle), Industry: val(e.Industry)}
	}
	if c := in.ContactPermissions; c != nil {
		f.ContactPermissions = alumni.ContactPermissions{
			DoNotEmail: val(c.DoNotEmail), DoNotMail: val(c.DoNotMail), DoNotPhone: val(c.DoNotPhone), DoNotSMS: val(c.DoNotSms),
		}
	}
	for _, d := range val(in.Degrees) {
		f.Degrees = append(f.Degrees, alumni.Degree{
			Degree: d.Degree, Program: d.Program, Faculty: val(d.Faculty), GraduationYear: d.GraduationYear,
			PreferredClassYear: val(d.PreferredClassYear), Primary: val(d.Primary),
		})
	}
	return f
}

func toFilter(p api.ListAlumniParams) listing.Filter {
	f := listing.Filter{
		Q:                  val(p.Q),
		GraduationYearFrom: val(p.GraduationYearFrom), GraduationYearTo: val(p.GraduationYearTo),
		Degree: val(p.Degree), Program: val(p.Program), Faculty: val(p.Faculty),
		Country: val(p.Country), City: val(p.City), Industry: val(p.Industry), Employer: val(p.Employer),
		Status: alumni.Status(val(p.Status)), Tag: val(p.Tag), DirectoryConsent: p.DirectoryConsent,
		Deleted: val(p.Deleted),
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
