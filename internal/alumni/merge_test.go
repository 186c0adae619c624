package alumni_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/alumni"
)

// TestUnite: the survivor rules of a merge, field by field.
func TestUnite(t *testing.T) {
	bsc := alumni.Degree{Degree: "BSc", Program: "Mathematics", GraduationYear: 2008, Primary: true}
	msc := alumni.Degree{Degree: "MSc", Program: "Computing", GraduationYear: 2012, Primary: true}
	tests := []struct {
		name               string
		survivor, absorbed alumni.Fields
		want               alumni.Fields
	}{
		{
			name:     "the survivor's values stay, the gaps are filled",
			survivor: alumni.Fields{FirstName: "Augusta Ada", LastName: "King", Email: "ada@example.org"},
			absorbed: alumni.Fields{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.net", WorkEmail: "ada@work.example", Phone: "+44 1"},
			want:     alumni.Fields{FirstName: "Augusta Ada", LastName: "King", Email: "ada@example.org", WorkEmail: "ada@work.example", Phone: "+44 1"},
		},
		{
			name:     "an address and an employment are taken whole, never mixed",
			survivor: alumni.Fields{Address: alumni.Address{City: "London"}, Employment: alumni.Employment{}},
			absorbed: alumni.Fields{Address: alumni.Address{Line1: "1 Main St", City: "Paris"}, Employment: alumni.Employment{Employer: "ACME", JobTitle: "CTO"}},
			want:     alumni.Fields{Address: alumni.Address{City: "London"}, Employment: alumni.Employment{Employer: "ACME", JobTitle: "CTO"}},
		},
		{
			name:     "degrees united once, the survivor's primary stays primary",
			survivor: alumni.Fields{Degrees: []alumni.Degree{bsc}},
			absorbed: alumni.Fields{Degrees: []alumni.Degree{{Degree: "bsc", Program: "MATHEMATICS", GraduationYear: 2008}, msc}},
			want:     alumni.Fields{Degrees: []alumni.Degree{bsc, {Degree: "MSc", Program: "Computing", GraduationYear: 2012}}},
		},
		{
			name:     "without degrees of its own, the survivor takes the absorbed primary",
			absorbed: alumni.Fields{Degrees: []alumni.Degree{msc}},
			want:     alumni.Fields{Degrees: []alumni.Degree{msc}},
		},
		{
			name:     "tags united without repeats",
			survivor: alumni.Fields{Tags: []string{"mentor"}},
			absorbed: alumni.Fields{Tags: []string{"Mentor", "donor"}},
			want:     alumni.Fields{Tags: []string{"mentor", "donor"}},
		},
		{
			name:     "consent only when both consented",
			survivor: alumni.Fields{DirectoryConsent: true},
			absorbed: alumni.Fields{DirectoryConsent: false},
			want:     alumni.Fields{DirectoryConsent: false},
		},
		{
			name:     "consent when both consented",
			survivor: alumni.Fields{DirectoryConsent: true},
			absorbed: alumni.Fields{DirectoryConsent: true},
			want:     alumni.Fields{DirectoryConsent: true},
		},
		{
			name:     "each do-not-contact flag when either has it",
			survivor: alumni.Fields{ContactPermissions: alumni.ContactPermissions{DoNotPhone: true}},
			absorbed: alumni.Fields{ContactPermissions: alumni.ContactPermissions{DoNotEmail: true, DoNotSMS: true}},
			want:     alumni.Fields{ContactPermissions: alumni.ContactPermissions{DoNotEmail: true, DoNotPhone: true, DoNotSMS: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alumni.Unite(tt.survivor, tt.absorbed)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b []alumni.Degree) bool { return cmp.Equal(nonNil(a), nonNil(b)) }),
				cmp.Comparer(func(a, b []string) bool { return cmp.Equal(nonNil(a), nonNil(b)) })); diff != "" {
				t.Errorf("Unite (-want +got):\n%s", diff)
			}
		})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
