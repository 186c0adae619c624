// Package alumni keeps alumni records: validation and normalization of what the office enters,
// and the queries that store, find and page through records.
package alumni

import "time"

// Status is where a person stands for the office.
type Status string

// The statuses an alumnus can have.
const (
	StatusActive      Status = "active"
	StatusLostContact Status = "lost_contact"
	StatusDeceased    Status = "deceased"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusLostContact, StatusDeceased:
		return true
	}
	return false
}

// Address is the preferred postal address. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Line1, Line2, City, Region, PostalCode, Country string
}

// Employment is the current position.
type Employment struct {
	Employer, JobTitle, Industry string
}

// ContactPermissions are the per-channel do-not-contact flags.
type ContactPermissions struct {
	DoNotEmail, DoNotMail, DoNotPhone, DoNotSMS bool
}

// Degree is one degree earned. PreferredClassYear is 0 when it is the graduation year.
type Degree struct {
	Degree             string
	Program            string
	Faculty            string
	GraduationYear     int
	PreferredClassYear int
	Primary            bool
}

// Fields are what the office writes about a person. Empty strings mean "not known".
type Fields struct {
	StudentID          string
	FirstName          string
	LastName           string
	PreferredName      string
	EnrolledName       string
	Email              string
	WorkEmail          string
	Phone              string
	Address            Address
	Employment         Employment
	LinkedInURL        string
	WebsiteURL         string
	Degrees            []Degree
	Tags               []string
	DirectoryConsent   bool
	ContactPermissions ContactPermissions
	Status             Status
	Notes              string
}

// Alumnus is a stored record. ID is the public id; Version counts changes and makes the ETag.
type Alumnus struct {
	ID      string
	Version int
	Fields
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
	// Withheld names the fields left out because the reader may not see them (see Redact).
	Withheld []string
}

// ClassYear is the graduation year of the primary degree, 0 without degrees. Lists sort by it.
func (f Fields) ClassYear() int {
	for _, d := range f.Degrees {
		if d.Primary {
			return d.GraduationYear
		}
	}
	return 0
}
