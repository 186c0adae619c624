package safetext_test

import (
	"testing"

	"github.com/alumnid/alumnid/internal/safetext"
)

func TestProblem(t *testing.T) {
	tests := []struct {
		name      string
		s         string
		multiline bool
		bad       bool
	}{
		{"plain", "Zoë Ñúñez-O'Brien", false, false},
		{"right-to-left script", "محمد", false, false},
		{"line break", "Ada\nKing", false, true},
		{"line break in notes", "Ada\nKing\tx", true, false},
		{"NUL in notes", "Ada\x00", true, true},
		{"right-to-left override", "Ada\u202Eevil", false, true},
		{"override in notes", "note \u202E", true, true},
		{"left-to-right isolate", "\u2066Ada\u2069", false, true},
		{"right-to-left mark", "Ada\u200F", false, true},
		{"arabic letter mark", "\u061Cx", false, true},
		{"empty", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safetext.Problem(tt.s, tt.multiline); (got != "") != tt.bad {
				t.Errorf("Problem(%q, %v) = %q, want a problem: %v", tt.s, tt.multiline, got, tt.bad)
			}
		})
	}
}
