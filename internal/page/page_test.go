package page

import (
	"strings"
	"testing"

	"github.com/alumnid/alumnid/internal/derrors"
)

type testFilter struct {
	Country string `json:"co,omitempty"`
	Year    int    `json:"yf,omitempty"`
}

type testPosition struct {
	LastName string `json:"l"`
	ID       string `json:"p"`
}

func TestCursorRoundTrip(t *testing.T) {
	f := testFilter{Country: "DE", Year: 2000}
	want := testPosition{LastName: "O'Brien, \"Jr\" Zoë", ID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"}
	var got testPosition
	if err := Decode(Encode(want, f), f, &got); err != nil || got != want {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "!!!", "e30", "eyJ2IjoyfQ", strings.Repeat("A", 2000),
		Encode(map[string]any{"x": 1}, f)} {
		if err := Decode(bad, f, &got); derrors.KindOf(err) != derrors.Malformed {
			t.Errorf("Decode(%q) = %v", bad, err)
		}
	}
	if err := Decode(Encode(want, f), testFilter{}, &got); derrors.KindOf(err) != derrors.Malformed {
		t.Error("a cursor was accepted for another filter")
	}
}

func TestCheckLimit(t *testing.T) {
	for limit, ok := range map[int]bool{0: false, 1: true, MaxLimit: true, MaxLimit + 1: false, -5: false} {
		if err := CheckLimit(limit); (err == nil) != ok {
			t.Errorf("CheckLimit(%d) = %v", limit, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	filter := testFilter{Country: "FR"}
	f.Add(Encode(testPosition{LastName: "B", ID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"}, filter))
	f.Add("eyJ2IjoyfQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var pos testPosition
		if err := Decode(s, filter, &pos); err != nil && derrors.KindOf(err) != derrors.Malformed {
			t.Fatalf("error of kind %d: %v", derrors.KindOf(err), err)
		}
	})
}

func TestTrim(t *testing.T) {
	type pos struct{ N int }
	filter := struct{ Q string }{"x"}
	rows := []int{1, 2, 3}
	got, next := Trim(rows, 3, filter, func(last int) any { return pos{last} })
	if len(got) != 3 || next != "" {
		t.Errorf("a last page: %v, next %q", got, next)
	}
	got, next = Trim(rows, 2, filter, func(last int) any { return pos{last} })
	var p pos
	if len(got) != 2 || Decode(next, filter, &p) != nil || p.N != 2 {
		t.Errorf("a page with a next one: %v, next %q decodes to %+v", got, next, p)
	}
}
