package search

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"María José Núñez", []string{"maria", "jose", "nunez"}},
		{"O'Brien", []string{"brien", "obrien"}},
		{"Jean-Luc  Picard", []string{"jean", "luc", "jeanluc", "picard"}},
		{"Größer", []string{"grosser"}},
		{"J. R. R. Tolkien", []string{"tolkien"}}, // one-letter words are not indexed
		{"Ødegaard Łukasz", []string{"odegaard", "lukasz"}},
		{"ＡＢＣ 123", []string{"abc", "123"}}, // full-width letters fold to ASCII
		{"王伟", []string{"王伟"}},
		{"a b c", nil},
		{"Smith smith SMITH", []string{"smith"}},
	}
	for _, tt := range tests {
		if got := Words(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		q    string
		want []string
		err  bool
	}{
		{"mar", []string{"mar"}, false},
		{"  MÜLLER  ", []string{"muller"}, false},
		{"o'brien", []string{"obrien"}, false},
		{"jean-luc picard", []string{"jeanluc", "picard"}, false},
		{"m", []string{"m"}, false},
		{"smith smith", []string{"smith"}, false},
		{"%_*", nil, true},
		{"", nil, true},
		{"a b c d e f g h i", nil, true},
	}
	for _, tt := range tests {
		got, err := Query(tt.q)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("Query(%q) = %q, %v", tt.q, got, err)
		}
	}
	long, err := Query(strings.Repeat("é", 40))
	if err != nil || len(long[0]) > MaxTermLen || !utf8.ValidString(long[0]) {
		t.Errorf("long word: %q %v", long, err)
	}
}

// Whatever the query, its words are valid UTF-8, no longer than an index word, made of
// letters and digits only (so they never carry a LIKE wildcard), and at most MaxQueryWords.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"mar", "o'brien", "%", "_a", "José", strings.Repeat("x", 300), "a\x00b", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		words, err := Query(q)
		if err != nil {
			return
		}
		if len(words) == 0 || len(words) > MaxQueryWords {
			t.Fatalf("%d words", len(words))
		}
		for _, w := range words {
			if !utf8.ValidString(w) || len(w) > MaxTermLen || w == "" {
				t.Fatalf("word %q", w)
			}
			if strings.ContainsAny(w, "%_\\") {
				t.Fatalf("wildcard in %q", w)
			}
		}
	})
}
