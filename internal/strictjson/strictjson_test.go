package strictjson_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/alumnid/alumnid/internal/strictjson"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, doc   string
		wantPointer string
		wantReason  string // "" when the document is accepted
	}{
		{"object", `{"firstName":"A","lastName":"B","degrees":[{"year":2001}]}`, "", ""},
		{"white space around", " \n{\"a\":[1,2.5e3,-0]}\t ", "", ""},
		{"scalar", `"text"`, "", ""},
		{"escaped pair", `{"a":"\ud83d\ude00"}`, "", ""},
		{"duplicate key", `{"firstName":"A","firstName":"B"}`, "/firstName", "the member name appears more than once in its object"},
		{"duplicate key nested", `{"a":{"b":[1,{"c":1,"c":2}]}}`, "/a/b/1/c", "the member name appears more than once in its object"},
		{"duplicate key escaped", `{"a":1,"\u0061":2}`, "/a", "the member name appears more than once in its object"},
		{"text after", `{"firstName":"A"} garbage`, "", "there is more after the JSON document"},
		{"second document", `{"firstName":"A"}{"x":1}`, "", "there is more after the JSON document"},
		{"second scalar", `1 2`, "", "there is more after the JSON document"},
		{"invalid UTF-8", "{\"firstName\":\"\xc3\x28\"}", "/firstName", "the string is not valid UTF-8 (or holds an unpaired surrogate escape)"},
		{"invalid UTF-8 in a name", "{\"\xff\":1}", "", "the string is not valid UTF-8 (or holds an unpaired surrogate escape)"},
		{"lone surrogate", `{"firstName":"\ud800"}`, "/firstName", "the string is not valid UTF-8 (or holds an unpaired surrogate escape)"},
		{"number too large", `{"email":1e999}`, "/email", "the number is too large"},
		{"number too large in array", `{"a":[1,-1e400]}`, "/a/1", "the number is too large"},
		{"empty", ``, "", "the body is empty"},
		{"blank", "  \n", "", "the body is empty"},
		{"cut short", `{"a":[1,`, "", "the JSON document ends too early"},
		{"not JSON", `firstName=A`, "", "is not valid JSON: invalid character 'i' in literal false (expecting 'a')"},
		{"trailing comma", `{"a":1,}`, "", "is not valid JSON: invalid character ',' at start of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := strictjson.Check([]byte(tt.doc))
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var je *strictjson.Error
			if !errors.As(err, &je) {
				t.Fatalf("Check = %v, want a *strictjson.Error", err)
			}
			if je.Reason != tt.wantReason {
				t.Errorf("Reason = %q, want %q", je.Reason, tt.wantReason)
			}
			if tt.wantPointer != "" && je.Pointer != tt.wantPointer {
				t.Errorf("Pointer = %q, want %q", je.Pointer, tt.wantPointer)
			}
		})
	}
}

func TestUnmarshal(t *testing.T) {
	var v struct{ A int }
	if err := strictjson.Unmarshal([]byte(`{"A":1,"A":2}`), &v); err == nil || v.A != 0 {
		t.Fatalf("Unmarshal of a duplicate = %v (A=%d), want an error and nothing decoded", err, v.A)
	}
	if err := strictjson.Unmarshal([]byte(`{"A":7}`), &v); err != nil || v.A != 7 {
		t.Fatalf("Unmarshal = %v (A=%d), want A=7", err, v.A)
	}
}

func TestPath(t *testing.T) {
	e := &strictjson.Error{Pointer: "/a~1b/0/c~0d"}
	if got := e.Path(); !slices.Equal(got, []string{"a/b", "0", "c~d"}) {
		t.Errorf("Path = %q", got)
	}
	if got := (&strictjson.Error{}).Path(); got != nil {
		t.Errorf("Path of the document = %q, want nil", got)
	}
}

func TestErrorText(t *testing.T) {
	if got := (&strictjson.Error{Reason: "the body is empty"}).Error(); got != "json: the body is empty" {
		t.Errorf("document error: %q", got)
	}
	if got := (&strictjson.Error{Pointer: "/a/0", Reason: "x"}).Error(); got != "json: /a/0: x" {
		t.Errorf("member error: %q", got)
	}
}
