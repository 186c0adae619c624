package importer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/derrors"
)

// parseAll reads every row of a file.
func parseAll(t testing.TB, data string, m Mapping, limits Limits) (*Parser, []Row, error) {
	t.Helper()
	p, err := NewParser(strings.NewReader(data), m, limits)
	if err != nil {
		return nil, nil, err
	}
	var rows []Row
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return p, rows, nil
		}
		if err != nil {
			return p, rows, err
		}
		rows = append(rows, r)
	}
}

func TestParse(t *testing.T) {
	p, rows, err := parseAll(t, "\uFEFFStudent-ID;Surname;Favourite colour\r\nS1;\"King; Ada\";blue\r\n;;\r\n\r\nS2;Hopper\r\nS3;\"Bad\"quote\";x\r\n", nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Delimiter() != ';' || p.Size() == 0 {
		t.Errorf("delimiter %q, size %d", p.Delimiter(), p.Size())
	}
	wantColumns := []Column{{Header: "Student-ID", Field: "studentId", index: 0}, {Header: "Surname", Field: "lastName", index: 1}}
	if diff := cmp.Diff(wantColumns, p.Columns(), cmp.AllowUnexported(Column{})); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Favourite colour"}, p.Ignored()); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
	want := []Row{
		{No: 1, Line: 2, Cells: []string{"S1", "King; Ada"}},
		{No: 2, Line: 5, Problem: &Problem{Message: "has 2 cells but the header has 3 columns"}},
		{No: 3, Line: 6, Problem: &Problem{Message: `line 6, column 8: a quoted cell is not closed properly; a quote (") inside quotes must be doubled ("")`}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestParseLimits(t *testing.T) {
	_, rows, err := parseAll(t, "Email,Notes\na@example.org,"+strings.Repeat("é", 16)+"\n", nil, Limits{MaxCellChars: 15})
	if err != nil || len(rows) != 1 || rows[0].Problem == nil || rows[0].Problem.Column != "Notes" {
		t.Errorf("a cell too long: %v %+v %+v", err, rows, rows[0].Problem)
	}
	_, _, err = parseAll(t, "Email\na@x.org\nb@x.org\nc@x.org\n", nil, Limits{MaxRows: 2})
	if derrors.KindOf(err) != derrors.TooLarge {
		t.Errorf("too many rows: %v", err)
	}
	_, _, err = parseAll(t, "Email,"+strings.Repeat("x,", 600)+"\n", nil, Limits{})
	if derrors.KindOf(err) != derrors.Malformed || !strings.Contains(err.Error(), "too many columns") {
		t.Errorf("too many columns: %v", err)
	}
	_, _, err = parseAll(t, "Email,"+strings.Repeat("x", 300)+"\n", nil, Limits{})
	if derrors.KindOf(err) != derrors.Malformed || !strings.Contains(err.Error(), "header longer than 200 characters") {
		t.Errorf("a long header: %v", err)
	}
	_, _, err = parseAll(t, strings.Repeat("x", 70<<10), nil, Limits{})
	if derrors.KindOf(err) != derrors.Malformed || !strings.Contains(err.Error(), "header line longer than 64 KiB") {
		t.Errorf("a long header line: %v", err)
	}
}

func TestRecognizedHeaders(t *testing.T) {
	for header, field := range map[string]string{
		"Student ID": "studentId", "student_id": "studentId", "STUDENTID": "studentId", "E-mail": "email", "e_mail": "email",
		"Given name": "firstName", "Surname": "lastName", "Class year": "graduationYear", "Graduation year": "graduationYear",
		"Major": "program", "address.city": "address.city", "Postcode": "address.postalCode", "Do not email": "contactPermissions.doNotEmail",
	} {
		if f := fieldByHeader[headerKey(header)]; f == nil || f.name != field {
			t.Errorf("%q is not recognized as %s", header, field)
		}
	}
	if f := fieldByHeader[headerKey("Title")]; f != nil {
		t.Errorf("Title (often Mr/Ms/Dr) is taken for %s", f.name)
	}
}

func TestChange(t *testing.T) {
	columns := []Column{{Field: "studentId"}, {Field: "lastName"}, {Field: "degree"}, {Field: "program"}, {Field: "graduationYear"}, {Field: "faculty"}, {Field: "tags"}, {Field: "directoryConsent"}}
	cur := alumni.Fields{
		StudentID: "S1", FirstName: "Ada", LastName: "King", DirectoryConsent: true,
		Degrees: []alumni.Degree{
			{Degree: "BSc", Program: "Mathematics", GraduationYear: 2008, Primary: true},
			{Degree: "MSc", Program: "Computing", GraduationYear: 2012},
		},
		Tags: []string{"mentor"},
	}
	tests := []struct {
		name  string
		cells []string
		want  func(f *alumni.Fields)
		err   string
	}{
		{"empty cells change nothing", []string{"S1", " ", "", "", "", "", "", ""}, func(*alumni.Fields) {}, ""},
		{"a matching degree is updated", []string{"S1", "", "BA", "mathematics", "2008", "Science", "", ""}, func(f *alumni.Fields) {
			f.Degrees[0].Degree, f.Degrees[0].Program, f.Degrees[0].Faculty = "BA", "mathematics", "Science"
		}, ""},
		{"the year alone finds the degree", []string{"S1", "", "", "", "2012", "Engineering", "", ""}, func(f *alumni.Fields) {
			f.Degrees[1].Faculty = "Engineering"
		}, ""},
		{"another degree is added", []string{"S1", "", "PhD", "Mathematics", "2016", "", "", ""}, func(f *alumni.Fields) {
			f.Degrees = append(f.Degrees, alumni.Degree{Degree: "PhD", Program: "Mathematics", GraduationYear: 2016})
		}, ""},
		{"tags are added", []string{"S1", "Lovelace", "", "", "", "", "board; donor|", "no"}, func(f *alumni.Fields) {
			f.LastName, f.Tags, f.DirectoryConsent = "Lovelace", []string{"mentor", "board", "donor"}, false
		}, ""},
		{"a faculty alone matches both degrees", []string{"S1", "", "", "", "", "Science", "", ""}, nil, "program: matches several degrees"},
		{"unreadable cells", []string{"S1", "", "", "", "08", "", "", "perhaps"}, nil, "graduationYear: must be a year like 2008; directoryConsent: must be yes or no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cur
			in.Degrees, in.Tags = append([]alumni.Degree(nil), cur.Degrees...), append([]string(nil), cur.Tags...)
			got, err := change{columns: columns, cells: tt.cells, delim: ','}.edit(in, true)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := cur
			want.Degrees, want.Tags = append([]alumni.Degree(nil), cur.Degrees...), append([]string(nil), cur.Tags...)
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// A new record keeps the directory consent the store starts it with (the office's default)
	// unless the row says otherwise.
	f, err := change{columns: columns[:2], cells: []string{"S2", "Hopper"}}.edit(alumni.Fields{DirectoryConsent: true}, false)
	if err != nil || !f.DirectoryConsent || f.LastName != "Hopper" {
		t.Errorf("new record: %+v %v", f, err)
	}
	// In a semicolon-separated file, tags are separated by | only.
	if got := splitTags("a;b|c", ';'); !cmp.Equal(got, []string{"a;b", "c"}) {
		t.Errorf("splitTags = %q", got)
	}
}

// FuzzParse reads arbitrary files with arbitrary mappings: nothing may panic, rows come in
// order with their cells as valid UTF-8, every failure is a domain error, and applying a row
// to a record and normalizing it never panics either.
func FuzzParse(f *testing.F) {
	f.Add([]byte("Student ID,First name,Last name,E-mail,Class year,Tags\nS1,Ada,King,ada@example.org,2008,a;b\n"), "")
	f.Add([]byte("\xef\xbb\xbfstudent_id;Surname;Major;Degree\r\nS1;\"King; Ada\";Maths;BSc\r\n"), `{"Major": "program"}`)
	f.Add([]byte("Email\n\"unclosed\nx@y.z\n"), "")
	f.Add([]byte("Matrikel,Name\nM1,Gauss\n"), `{"Matrikel": "studentId", "Name": "lastName"}`)
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		var m Mapping
		if mapping != "" {
			var err error
			if m, err = ParseMapping([]byte(mapping)); err != nil {
				if derrors.KindOf(err) != derrors.Malformed {
					t.Fatalf("mapping error %v is not Malformed", err)
				}
				return
			}
		}
		p, err := NewParser(bytes.NewReader(data), m, Limits{MaxRows: 1000})
		if err != nil {
			if derrors.As(err) == nil {
				t.Fatalf("header error %v is not a domain error", err)
			}
			return
		}
		if len(p.Columns()) == 0 {
			t.Fatal("a parser without columns")
		}
		last := 0
		for {
			row, err := p.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if derrors.As(err) == nil {
					t.Fatalf("row error %v is not a domain error", err)
				}
				return
			}
			if row.No <= last || row.Line < 2 {
				t.Fatalf("row %d (line %d) after row %d", row.No, row.Line, last)
			}
			last = row.No
			if row.Problem != nil {
				continue
			}
			if len(row.Cells) != len(p.Columns()) {
				t.Fatalf("%d cells for %d columns", len(row.Cells), len(p.Columns()))
			}
			for _, c := range row.Cells {
				if !utf8.ValidString(c) {
					t.Fatalf("cell %q is not UTF-8", c)
				}
			}
			ch := change{columns: p.Columns(), cells: row.Cells, delim: p.Delimiter()}
			sid, email := ch.keys()
			alumni.MatchKeys(sid, email)
			fields, _ := ch.edit(alumni.Fields{}, false)
			_ = alumni.Normalize(&fields, time.Now())
		}
	})
}

// The mapping form field is JSON read as strictly as request bodies: a header mapped twice
// (the last one would win), text after the object or invalid UTF-8 is refused.
func TestParseMappingStrict(t *testing.T) {
	for _, raw := range []string{
		`{"Mail":"email","Mail":"workEmail"}`,
		`{"Mail":"email"} {"x":1}`,
		"{\"M\xc3\x28\":\"email\"}",
		`["email"]`,
		`null`,
	} {
		_, err := ParseMapping([]byte(raw))
		var de *derrors.Error
		if !errors.As(err, &de) || de.Kind != derrors.Malformed {
			t.Errorf("ParseMapping(%q) = %v, want a Malformed error", raw, err)
		}
	}
	if m, err := ParseMapping([]byte(`{"Mail":"email","Matrikel":"studentId"}`)); err != nil || m["Mail"] != "email" {
		t.Errorf("ParseMapping of a good mapping = %v, %v", m, err)
	}
}
