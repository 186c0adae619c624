package alumni

import (
	"slices"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Field-level privacy: who may read what of a record. This is the one place that decides; every
// read path (get, list, filters, export) goes through it.
//
//   - admin, staff: every field of every record.
//   - viewer: every record, not the office's notes; contact details only of alumni who
//     consented to the directory.
//   - alumnus: their own record without the office's tags and notes; other records only when
//     they consented to the directory (and are not deceased), without the office fields.

// Withholdable fields, by their API names.
const (
	FieldStudentID          = "studentId"
	FieldEmail              = "email"
	FieldWorkEmail          = "workEmail"
	FieldPhone              = "phone"
	FieldAddress            = "address"
	FieldTags               = "tags"
	FieldContactPermissions = "contactPermissions"
	FieldStatus             = "status"
	FieldNotes              = "notes"
)

var (
	contactFields = []string{FieldEmail, FieldWorkEmail, FieldPhone, FieldAddress}
	officeFields  = []string{FieldStudentID, FieldTags, FieldContactPermissions, FieldStatus, FieldNotes}
	// selfHidden are the office's own fields, hidden even from the person themselves.
	selfHidden = []string{FieldTags, FieldNotes}
)

// SelfEditable are the fields alumni may change on their own record.
var SelfEditable = []string{
	"preferredName", FieldEmail, FieldWorkEmail, FieldPhone, FieldAddress, "employment",
	"linkedinUrl", "websiteUrl", "directoryConsent", FieldContactPermissions,
}

// inDirectory reports whether a is listed in the alumni directory.
func (a Alumnus) inDirectory() bool {
	return a.DirectoryConsent && a.Status != StatusDeceased && a.DeletedAt == nil
}

// CanRead reports whether p may know that record a exists.
func CanRead(p auth.Principal, a Alumnus) bool {
	switch p.Role {
	case auth.RoleAdmin, auth.RoleStaff, auth.RoleViewer:
		return true
	case auth.RoleAlumnus:
		return a.ID == p.AlumnusID || a.inDirectory()
	}
	return false
}

// CanReadConsentHistory reports whether p may read the consent history of record id: the
// office, and the alumnus whose record it is. It decides nothing about the record's existence.
func CanReadConsentHistory(p auth.Principal, id string) bool {
	return p.Role.Office() || (p.Role == auth.RoleAlumnus && p.AlumnusID == id)
}

// CanReadSubjectData reports whether p may read the access document of record id
// (SubjectData): admins, and the alumnus whose record it is. The document is the one read that
// Redact does not narrow: a person is owed a copy of everything held about them (GDPR art. 15),
// the office's tags and notes included.
func CanReadSubjectData(p auth.Principal, id string) bool {
	return p.Role == auth.RoleAdmin || (p.Role == auth.RoleAlumnus && p.AlumnusID == id)
}

// CanExport reports whether p may export records in bulk: the office and viewers. Alumni read
// the directory a page at a time; they may not take it away whole.
func CanExport(p auth.Principal) bool {
	return p.Role.Office() || p.Role == auth.RoleViewer
}

// NeverReadable returns the fields p may read on no record but perhaps their own (viewers:
// notes), in a fixed order: the fields Withheld names both for someone who consented to the
// directory and for someone who did not.
func NeverReadable(p auth.Principal) []string {
	other := Alumnus{ID: "\x00"} // never the caller's own record
	unlisted := Withheld(p, other)
	other.DirectoryConsent = true
	var out []string
	for _, f := range Withheld(p, other) {
		if slices.Contains(unlisted, f) {
			out = append(out, f)
		}
	}
	return out
}

// Withheld returns the fields of a that p may not read, in a fixed order.
func Withheld(p auth.Principal, a Alumnus) []string {
	var out []string
	switch {
	case p.Role.Office():
		return nil
	case p.Role == auth.RoleViewer:
		out = append(out, FieldNotes)
		if !a.DirectoryConsent {
			out = append(out, contactFields...)
		}
	case p.Role == auth.RoleAlumnus && a.ID == p.AlumnusID:
		out = append(out, selfHidden...)
	default:
		out = append(out, officeFields...)
		if !a.DirectoryConsent {
			out = append(out, contactFields...)
		}
	}
	slices.SortFunc(out, func(x, y string) int { return withheldOrder[x] - withheldOrder[y] })
	return out
}

// withheldOrder is the order in which withheld fields are listed (the contract's enum order).
var withheldOrder = indexOf([]string{FieldStudentID, FieldEmail, FieldWorkEmail, FieldPhone, FieldAddress,
	FieldTags, FieldContactPermissions, FieldStatus, FieldNotes})

// viewBit is each withholdable field's bit in ViewKey.
var viewBit = indexOf(append(slices.Clone(officeFields), contactFields...))

func indexOf(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

// Redact returns a without the fields p may not read, naming them in Withheld.
func Redact(p auth.Principal, a Alumnus) Alumnus {
	a.Withheld = Withheld(p, a)
	a.Fields = copyFields(a.Fields, Fields{}, a.Withheld)
	return a
}

// copyFields returns dst with the fields named (API names of withholdable fields) taken from
// src: Redact copies them from the zero Fields, an update by someone who could not see them
// copies them back from the stored record.
func copyFields(dst, src Fields, names []string) Fields {
	for _, name := range names {
		switch name {
		case FieldStudentID:
			dst.StudentID = src.StudentID
		case FieldEmail:
			dst.Email = src.Email
		case FieldWorkEmail:
			dst.WorkEmail = src.WorkEmail
		case FieldPhone:
			dst.Phone = src.Phone
		case FieldAddress:
			dst.Address = src.Address
		case FieldTags:
			dst.Tags = src.Tags
		case FieldContactPermissions:
			dst.ContactPermissions = src.ContactPermissions
		case FieldStatus:
			dst.Status = src.Status
		case FieldNotes:
			dst.Notes = src.Notes
		}
	}
	return dst
}

// ViewKey is a short code for the set of withheld fields, so that an ETag differs between
// two callers who see different parts of the same version. It is "" for the full record.
func ViewKey(withheld []string) string {
	if len(withheld) == 0 {
		return ""
	}
	mask := 0
	for _, f := range withheld {
		mask |= 1 << viewBit[f]
	}
	const digits = "0123456789abcdefghijklmnopqrstuv"
	var b []byte
	for mask > 0 {
		b = append(b, digits[mask%32])
		mask /= 32
	}
	return string(b)
}

// ListFilters says which of the filters that not every role may use a list, facets, report
// or export uses.
type ListFilters struct {
	Deleted bool // the trash
	Place   bool // country or city
	Status  bool
	Tag     bool
}

// ListScope is how the records p lists, counts or exports are narrowed.
type ListScope struct {
	DirectoryOnly bool // only records listed in the directory
	ConsentOnly   bool // only records of those who consented to the directory
}

// Holds reports whether record a is within s.
func (s ListScope) Holds(a Alumnus) bool {
	return (!s.DirectoryOnly || a.inDirectory()) && (!s.ConsentOnly || a.DirectoryConsent)
}

// Scope returns how what p lists with the filters used is narrowed. It returns Forbidden,
// naming each filter, when p may not use some of them.
func Scope(p auth.Principal, used ListFilters) (ListScope, error) {
	if p.Role.Office() {
		return ListScope{}, nil
	}
	var s ListScope
	var denied []derrors.FieldError
	deny := func(param string) {
		denied = append(denied, derrors.FieldError{Field: param, Message: "your role may not filter on this field"})
	}
	if used.Deleted {
		denied = append(denied, derrors.FieldError{Field: "deleted", Message: "only the office may list deleted records"})
	}
	switch p.Role {
	case auth.RoleViewer:
		s.ConsentOnly = used.Place // the address of alumni who did not consent is hidden
	default:
		s.DirectoryOnly = true
		if used.Status {
			deny("status")
		}
		if used.Tag {
			deny("tag")
		}
	}
	if len(denied) > 0 {
		return ListScope{}, derrors.New(derrors.Forbidden, "Your role may not use some of these filters.", denied...)
	}
	return s, nil
}

// CountsByConsent are the dimensions of the summary counts (stats.go) that show contact
// details: a viewer counts only the records of those who consented. Of DimQuality, only the
// ContactGaps values do: degrees and employment are no contact details.
var CountsByConsent = map[string]bool{DimContact: true, DimCountry: true, DimCity: true, DimQuality: true}

// ContactGaps are the DimQuality values that tell about contact details.
var ContactGaps = []string{"missing_email", "no_address"}

// CheckSelfPatch refuses a change by an alumnus to any field outside SelfEditable (mass
// assignment): the whole change is refused, naming each such field.
func CheckSelfPatch(fields []string) error {
	var bad []derrors.FieldError
	for _, f := range fields {
		if !slices.Contains(SelfEditable, f) {
			bad = append(bad, derrors.FieldError{Field: f, Message: "alumni may not change this field; ask the alumni office"})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b derrors.FieldError) int {
			if a.Field < b.Field {
				return -1
			}
			if a.Field > b.Field {
				return 1
			}
			return 0
		})
		return derrors.New(derrors.Malformed, "Some of these fields can only be changed by the alumni office.", bad...)
	}
	return nil
}

// SearchKinds are the kinds of search index words (terms.go) p may match: the office all,
// viewers not the city of those who did not consent, alumni only what the directory shows.
func SearchKinds(p auth.Principal) []string {
	switch {
	case p.Role.Office():
		return []string{kindPublic, kindContact, kindTag}
	case p.Role == auth.RoleViewer:
		return []string{kindPublic, kindTag}
	}
	return []string{kindPublic}
}
