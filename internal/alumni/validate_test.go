package alumni

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/emailaddr"
)

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestNormalize(t *testing.T) {
	in := Fields{
		StudentID: " S1 ", FirstName: "Zoe\u0308", LastName: "  Müller ",
		Email: " Zoe@Example.ORG ", WorkEmail: "",
		Address:     Address{City: " Zürich ", Country: "ch"},
		Degrees:     []Degree{{Degree: " BSc", Program: "Physics ", GraduationYear: 2001}, {Degree: "MSc", Program: "Physics", GraduationYear: 2003}},
		Tags:        []string{"  Class   Agent ", "donor", "DONOR"},
		Notes:       "  line one\nline two\t ",
		LinkedInURL: "https://de.linkedin.com/in/zoe",
	}
	if err := Normalize(&in, testNow); err != nil {
		t.Fatal(err)
	}
	want := Fields{
		StudentID: "S1", FirstName: "Zoë", LastName: "Müller",
		Email:       "zoe@example.org",
		Address:     Address{City: "Zürich", Country: "CH"},
		Degrees:     []Degree{{Degree: "BSc", Program: "Physics", GraduationYear: 2001, Primary: true}, {Degree: "MSc", Program: "Physics", GraduationYear: 2003}},
		Tags:        []string{"class agent", "donor"},
		Status:      StatusActive,
		Notes:       "line one\nline two",
		LinkedInURL: "https://de.linkedin.com/in/zoe",
	}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestNormalizeRejects(t *testing.T) {
	base := func() Fields { return Fields{FirstName: "Ada", LastName: "King"} }
	tests := []struct {
		name   string
		change func(*Fields)
		field  string
	}{
		{"first name required", func(f *Fields) { f.FirstName = " " }, "firstName"},
		{"last name too long", func(f *Fields) { f.LastName = strings.Repeat("ß", 101) }, "lastName"},
		{"control character", func(f *Fields) { f.PreferredName = "A\u0007" }, "preferredName"},
		{"email", func(f *Fields) { f.Email = "a@b" }, "email"},
		{"work email", func(f *Fields) { f.WorkEmail = "nope" }, "workEmail"},
		{"phone", func(f *Fields) { f.Phone = "12" }, "phone"},
		{"country", func(f *Fields) { f.Address.Country = "EU" }, "address.country"},
		{"url scheme", func(f *Fields) { f.WebsiteURL = "ftp://example.org" }, "websiteUrl"},
		{"url with credentials", func(f *Fields) { f.WebsiteURL = "https://user:pw@example.org" }, "websiteUrl"},
		{"linkedin look-alike", func(f *Fields) { f.LinkedInURL = "https://linkedin.com.evil.example/in/x" }, "linkedinUrl"},
		{"year", func(f *Fields) { f.Degrees = []Degree{{Degree: "BA", Program: "X", GraduationYear: 1849}} }, "degrees[0].graduationYear"},
		{"future year", func(f *Fields) { f.Degrees = []Degree{{Degree: "BA", Program: "X", GraduationYear: 2033}} }, "degrees[0].graduationYear"},
		{"class year", func(f *Fields) {
			f.Degrees = []Degree{{Degree: "BA", Program: "X", GraduationYear: 2000, PreferredClassYear: 3000}}
		}, "degrees[0].preferredClassYear"},
		{"degree name required", func(f *Fields) { f.Degrees = []Degree{{Program: "X", GraduationYear: 2000}} }, "degrees[0].degree"},
		{"too many degrees", func(f *Fields) { f.Degrees = make([]Degree, 21) }, "degrees"},
		{"two primaries", func(f *Fields) {
			f.Degrees = []Degree{{Degree: "A", Program: "X", GraduationYear: 2000, Primary: true}, {Degree: "B", Program: "X", GraduationYear: 2001, Primary: true}}
		}, "degrees"},
		{"tag separator", func(f *Fields) { f.Tags = []string{"a;b"} }, "tags[0]"},
		{"empty tag", func(f *Fields) { f.Tags = []string{"  "} }, "tags[0]"},
		{"too many tags", func(f *Fields) {
			for i := range 51 {
				f.Tags = append(f.Tags, strings.Repeat("t", i+1))
			}
		}, "tags"},
		{"status", func(f *Fields) { f.Status = "retired" }, "status"},
		{"notes too long", func(f *Fields) { f.Notes = strings.Repeat("n", 10001) }, "notes"},
		{"notes control", func(f *Fields) { f.Notes = "a\x00b" }, "notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			tt.change(&f)
			err := Normalize(&f, testNow)
			d := derrors.As(err)
			if d == nil || d.Kind != derrors.Invalid {
				t.Fatalf("got %v, want an Invalid error", err)
			}
			for _, fe := range d.Fields {
				if fe.Field == tt.field {
					return
				}
			}
			t.Errorf("%v does not name %s", err, tt.field)
		})
	}
}

func TestCountries(t *testing.T) {
	if len(countries) != 249 {
		t.Errorf("%d country codes, want the 249 of ISO 3166-1", len(countries))
	}
	for _, c := range []string{"US", "GB", "DE", "SS", "XK", "UK", "EU", "YU", "us", "USA", ""} {
		want := map[string]bool{"US": true, "GB": true, "DE": true, "SS": true}[c]
		if validCountry(c) != want {
			t.Errorf("validCountry(%q) = %v", c, !want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	err := derrors.New(derrors.Invalid, "Bad.", derrors.FieldError{Field: "a", Message: "x"}, derrors.FieldError{Field: "b", Message: "y"})
	if err.Error() != "Bad.: a: x; b: y" {
		t.Errorf("Error() = %q", err.Error())
	}
	if derrors.KindOf(nil) != 0 {
		t.Error("KindOf(nil) != 0")
	}
}

func TestSmallint(t *testing.T) {
	for in, want := range map[int]int16{0: 0, 2026: 2026, 40000: 32767, -40000: -32768} {
		if got := smallint(in); got != want {
			t.Errorf("smallint(%d) = %d", in, got)
		}
	}
}

func TestValidEmailAndURL(t *testing.T) {
	for s, want := range map[string]bool{"a@example.org": true, "A <a@example.org>": false, "a@localhost": false, "": false, "a b@example.org": false, strings.Repeat("a", 250) + "@example.org": false} {
		if emailaddr.Valid(s) != want {
			t.Errorf("emailaddr.Valid(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"https://example.org/x": true, "http://example.org": true, "ftp://example.org": false, "https://u:p@example.org": false, "/relative": false} {
		if ValidWebURL(s) != want {
			t.Errorf("ValidWebURL(%q) != %v", s, want)
		}
	}
}
