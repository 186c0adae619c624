package alumni

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/emailaddr"
	"github.com/alumnid/alumnid/internal/safetext"
)

// Limits of the stored fields, in characters. They match the columns in schema/ and the
// contract, and are checked here again because not every caller goes through the contract.
const (
	maxName      = 100
	maxLongName  = 200
	maxEmail     = 254
	maxPhone     = 32
	maxStudentID = 32
	maxURL       = 500
	maxNotes     = 10000
	maxDegrees   = 20
	maxTags      = 50
	maxTag       = 50

	earliestYear = 1850
	// futureYears is how far ahead a graduation year may lie: the expected year of
	// students enrolled today.
	futureYears = 6
)

var phonePattern = regexp.MustCompile(`^\+?[0-9 ()./-]{3,32}$`)

// Normalize cleans f in place — Unicode NFC, trimmed strings, lower-case emails, upper-case
// country, tags lower-cased, de-duplicated and sorted, exactly one primary degree — and
// validates every field. It returns an Invalid error listing each unacceptable field.
func Normalize(f *Fields, now time.Time) error {
	var errs derrors.Fields

	text := func(field string, s *string, limit int, required bool) {
		*s = strings.TrimSpace(norm.NFC.String(*s))
		switch {
		case *s == "" && required:
			errs.Add(field, "is required")
		case utf8.RuneCountInString(*s) > limit:
			errs.Add(field, fmt.Sprintf("must be at most %d characters", limit))
		case safetext.Problem(*s, false) != "":
			errs.Add(field, safetext.Problem(*s, false))
		}
	}
	text("studentId", &f.StudentID, maxStudentID, false)
	text("firstName", &f.FirstName, maxName, true)
	text("lastName", &f.LastName, maxName, true)
	text("preferredName", &f.PreferredName, maxName, false)
	text("enrolledName", &f.EnrolledName, maxLongName, false)
	text("address.line1", &f.Address.Line1, maxLongName, false)
	text("address.line2", &f.Address.Line2, maxLongName, false)
	text("address.city", &f.Address.City, maxName, false)
	text("address.region", &f.Address.Region, maxName, false)
	text("address.postalCode", &f.Address.PostalCode, 20, false)
	text("employment.employer", &f.Employment.Employer, maxLongName, false)
	text("employment.jobTitle", &f.Employment.JobTitle, maxLongName, false)
	text("employment.industry", &f.Employment.Industry, maxName, false)

	email := func(field string, s *string) {
		text(field, s, maxEmail, false)
		*s = strings.ToLower(*s)
		if *s != "" && !emailaddr.Valid(*s) {
			errs.Add(field, "must be an email address like name@example.org")
		}
	}
	email("email", &f.Email)
	email("workEmail", &f.WorkEmail)

	text("phone", &f.Phone, maxPhone, false)
	if f.Phone != "" && !phonePattern.MatchString(f.Phone) {
		errs.Add("phone", "must be a phone number: digits, spaces, ( ) . / - and an optional leading +")
	}

	f.Address.Country = strings.ToUpper(strings.TrimSpace(f.Address.Country))
	if c := f.Address.Country; c != "" && !validCountry(c) {
		errs.Add("address.country", "must be an ISO 3166-1 alpha-2 country code")
	}

	web := func(field string, s *string, linkedIn bool) {
		text(field, s, maxURL, false)
		if *s == "" {
			return
		}
		switch u, ok := webURL(*s); {
		case !ok:
			errs.Add(field, "must be an http or https URL")
		case linkedIn && u.Hostname() != "linkedin.com" && !strings.HasSuffix(u.Hostname(), ".linkedin.com"):
			errs.Add(field, "must be a linkedin.com URL")
		}
	}
	web("linkedinUrl", &f.LinkedInURL, true)
	web("websiteUrl", &f.WebsiteURL, false)

	latestYear := now.Year() + futureYears
	year := func(field string, y int) {
		if y < earliestYear || y > latestYear {
			errs.Add(field, fmt.Sprintf("must be between %d and %d", earliestYear, latestYear))
		}
	}
	if len(f.Degrees) > maxDegrees {
		errs.Add("degrees", fmt.Sprintf("must hold at most %d degrees", maxDegrees))
	}
	primaries := 0
	for i := range f.Degrees {
		d := &f.Degrees[i]
		p := fmt.Sprintf("degrees[%d].", i)
		text(p+"degree", &d.Degree, maxName, true)
		text(p+"program", &d.Program, 150, true)
		text(p+"faculty", &d.Faculty, 150, false)
		year(p+"graduationYear", d.GraduationYear)
		if d.PreferredClassYear != 0 {
			year(p+"preferredClassYear", d.PreferredClassYear)
		}
		if d.Primary {
			primaries++
		}
	}
	switch {
	case primaries > 1:
		errs.Add("degrees", "only one degree can be primary")
	case primaries == 0 && len(f.Degrees) > 0:
		f.Degrees[0].Primary = true
	}
	if f.Degrees == nil {
		f.Degrees = []Degree{}
	}

	tags := make([]string, 0, len(f.Tags))
	for i, t := range f.Tags {
		field := fmt.Sprintf("tags[%d]", i)
		t = strings.ToLower(strings.Join(strings.Fields(norm.NFC.String(t)), " "))
		text(field, &t, maxTag, true)
		if strings.ContainsAny(t, ",;") {
			errs.Add(field, "must not contain , or ;")
		}
		tags = append(tags, t)
	}
	slices.Sort(tags)
	f.Tags = slices.Compact(tags)
	if len(f.Tags) > maxTags {
		errs.Add("tags", fmt.Sprintf("must hold at most %d tags", maxTags))
	}

	if f.Status == "" {
		f.Status = StatusActive
	}
	if !f.Status.Valid() {
		errs.Add("status", "must be one of active, lost_contact, deceased")
	}

	f.Notes = strings.TrimSpace(norm.NFC.String(f.Notes))
	if utf8.RuneCountInString(f.Notes) > maxNotes {
		errs.Add("notes", fmt.Sprintf("must be at most %d characters", maxNotes))
	}
	if msg := safetext.Problem(f.Notes, true); msg != "" {
		errs.Add("notes", msg)
	}
	return errs.Err()
}

// ValidWebURL reports whether s is an absolute http or https URL without credentials.
func ValidWebURL(s string) bool {
	_, ok := webURL(s)
	return ok
}

func webURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}
