package alumni

import (
	"slices"
	"testing"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
)

func TestWithheldMatrix(t *testing.T) {
	consenting := Alumnus{ID: "A", Fields: Fields{DirectoryConsent: true, Status: StatusActive}}
	private := Alumnus{ID: "B", Fields: Fields{Status: StatusActive}}
	deceased := Alumnus{ID: "C", Fields: Fields{DirectoryConsent: true, Status: StatusDeceased}}
	admin := auth.Principal{Role: auth.RoleAdmin}
	staff := auth.Principal{Role: auth.RoleStaff}
	viewer := auth.Principal{Role: auth.RoleViewer}
	alumnusB := auth.Principal{Role: auth.RoleAlumnus, AlumnusID: "B"}
	nobody := auth.Principal{}
	contact := []string{FieldEmail, FieldWorkEmail, FieldPhone, FieldAddress}
	office := []string{FieldStudentID, FieldTags, FieldContactPermissions, FieldStatus, FieldNotes}
	tests := []struct {
		name     string
		p        auth.Principal
		a        Alumnus
		canRead  bool
		withheld []string
	}{
		{"admin sees all", admin, private, true, nil},
		{"staff sees all", staff, private, true, nil},
		{"viewer, consenting", viewer, consenting, true, []string{FieldNotes}},
		{"viewer, not consenting", viewer, private, true, append(slices.Clone(contact), FieldNotes)},
		{"alumnus, own record", alumnusB, private, true, []string{FieldTags, FieldNotes}},
		{"alumnus, directory record", alumnusB, consenting, true, office},
		{"alumnus, deceased", alumnusB, deceased, false, office},
		{"alumnus, record not in the directory", auth.Principal{Role: auth.RoleAlumnus, AlumnusID: "A"}, private, false, append(slices.Clone(office), contact...)},
		{"no role", nobody, consenting, false, office},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanRead(tt.p, tt.a); got != tt.canRead {
				t.Errorf("CanRead = %v, want %v", got, tt.canRead)
			}
			got := Withheld(tt.p, tt.a)
			if !sameSet(got, tt.withheld) {
				t.Errorf("Withheld = %v, want %v", got, tt.withheld)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestRedactClearsWithheldFields(t *testing.T) {
	a := Alumnus{ID: "B", Fields: Fields{
		StudentID: "S1", Email: "b@example.org", WorkEmail: "b@work.example", Phone: "+1 555 0100",
		Address: Address{City: "Lyon", Country: "FR"}, Tags: []string{"donor"}, Notes: "VIP",
		ContactPermissions: ContactPermissions{DoNotEmail: true}, Status: StatusActive,
	}}
	got := Redact(auth.Principal{Role: auth.RoleViewer}, a)
	if got.Email != "" || got.WorkEmail != "" || got.Phone != "" || got.Address != (Address{}) || got.Notes != "" {
		t.Errorf("viewer sees hidden fields: %+v", got)
	}
	if got.StudentID != "S1" || len(got.Tags) != 1 || got.Status != StatusActive {
		t.Errorf("viewer lost visible fields: %+v", got)
	}
}

func TestViewKeysDiffer(t *testing.T) {
	seen := map[string]string{}
	sets := [][]string{nil, {FieldNotes}, {FieldTags, FieldNotes}, {FieldEmail, FieldWorkEmail, FieldPhone, FieldAddress, FieldNotes},
		{FieldStudentID, FieldTags, FieldContactPermissions, FieldStatus, FieldNotes}}
	for _, s := range sets {
		k := ViewKey(s)
		if prev, ok := seen[k]; ok {
			t.Errorf("ViewKey(%v) = ViewKey(%s) = %q", s, prev, k)
		}
		seen[k] = ""
	}
	if ViewKey(nil) != "" {
		t.Error("the full view must have the empty key")
	}
}

func TestScopeAndSelfPatch(t *testing.T) {
	sc, err := Scope(auth.Principal{Role: auth.RoleViewer}, ListFilters{Place: true})
	if err != nil || !sc.ConsentOnly || sc.DirectoryOnly {
		t.Errorf("viewer country filter: %v %+v", err, sc)
	}
	if sc, err := Scope(auth.Principal{Role: auth.RoleViewer}, ListFilters{Status: true, Tag: true}); err != nil || sc != (ListScope{}) {
		t.Errorf("viewer status and tag filters: %v %+v", err, sc)
	}
	if sc, err := Scope(auth.Principal{Role: auth.RoleStaff}, ListFilters{Deleted: true, Place: true, Status: true, Tag: true}); err != nil || sc != (ListScope{}) {
		t.Errorf("office filters: %v %+v", err, sc)
	}
	if sc, err := Scope(auth.Principal{Role: auth.RoleAlumnus, AlumnusID: "B"}, ListFilters{Place: true}); err != nil || !sc.DirectoryOnly {
		t.Errorf("alumnus: %v %+v", err, sc)
	}
	_, err = Scope(auth.Principal{Role: auth.RoleAlumnus, AlumnusID: "B"}, ListFilters{Status: true, Tag: true, Deleted: true})
	if d := derrors.As(err); d == nil || d.Kind != derrors.Forbidden || len(d.Fields) != 3 {
		t.Errorf("alumnus filters: %v", err)
	}
	if err := CheckSelfPatch([]string{"phone", "employment"}); err != nil {
		t.Errorf("allowed fields refused: %v", err)
	}
	if d := derrors.As(CheckSelfPatch([]string{"phone", "status", "notes"})); d == nil || len(d.Fields) != 2 {
		t.Errorf("mass assignment not refused: %v", d)
	}
}
