package ptr_test

import (
	"testing"

	"github.com/alumnid/alumnid/internal/ptr"
)

func TestPointers(t *testing.T) {
	if p := ptr.To(""); p == nil || *p != "" {
		t.Errorf("To(\"\") = %v", p)
	}
	if ptr.NonZero("") != nil || ptr.NonZero(0) != nil || *ptr.NonZero("a") != "a" || *ptr.NonZero(7) != 7 {
		t.Error("NonZero")
	}
	if ptr.Deref[string](nil) != "" || ptr.Deref(ptr.To(3)) != 3 {
		t.Error("Deref")
	}
}
