package export

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{"", "plain", `"quoted" \ back`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "María Zoë 北京 🎓",
		"\u2028\u2029", "<b>&</b>", "bad \xff utf8 \xc3", strings.Repeat("x", 300)}
	for i := range 256 {
		cases = append(cases, "a"+string(rune(i))+"b")
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, got, err)
		}
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
		if utf8.ValidString(s) && back != s {
			t.Errorf("%q does not round-trip: %q", s, back)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("María \"x\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q round-trips to %q", s, back)
		}
	})
}

func TestGuard(t *testing.T) {
	phoneCol, text := &Column{Name: "phone"}, &Column{Name: "employer"}
	tests := []struct {
		c        *Column
		in, want string
	}{
		{text, "", ""},
		{text, "Acme", "Acme"},
		{text, "=1+2", "'=1+2"},
		{text, "+1", "'+1"},
		{text, "-1", "'-1"},
		{text, "@SUM(A1)", "'@SUM(A1)"},
		{text, "\tcmd", "'\tcmd"},
		{text, "\rcmd", "'\rcmd"},
		{text, "a=1", "a=1"},
		{text, "'quoted", "'quoted"},
		{phoneCol, "+44 20 7946 0958", "+44 20 7946 0958"},
		{phoneCol, "+1 (555) 010-0100", "+1 (555) 010-0100"},
		{phoneCol, "+1+HYPERLINK(\"x\")", "'+1+HYPERLINK(\"x\")"},
		{phoneCol, "=1", "'=1"},
		{phoneCol, "+12", "'+12"},
		{phoneCol, "+" + strings.Repeat("1", 33), "'+" + strings.Repeat("1", 33)},
		{phoneCol, "-555 0100", "-555 0100"},
		{text, "+44 20 7946 0958", "'+44 20 7946 0958"},
	}
	for _, tt := range tests {
		if got := guard(tt.c, tt.in); got != tt.want {
			t.Errorf("guard(%s, %q) = %q, want %q", tt.c.Name, tt.in, got, tt.want)
		}
	}
}
