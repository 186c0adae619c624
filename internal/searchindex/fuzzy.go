package searchindex

import (
	"unicode/utf8"
)

// Typo tolerance: a query word of minFuzzy or more letters also matches the indexed words
// within one edit of it (an insertion, a deletion or a substitution of one letter), and one of
// minFuzzy2 or more within two, ranked after every exact and prefix match ("jonathon" finds
// Jonathan, "mueller" Müller, "katherine" Catherine).
const (
	minFuzzy  = 5
	minFuzzy2 = 9
	// scoreFuzzy is a word's score when it matches only with typos: below every field weight.
	scoreFuzzy = 1
)

// maxEdits returns how many edits a query word of n letters may have.
func maxEdits(n int) int {
	switch {
	case n >= minFuzzy2:
		return 2
	case n >= minFuzzy:
		return 1
	}
	return 0
}

// fuzzyWords returns the indexed words within edits edits (Levenshtein distance) of w. It walks
// the words in order as the paths of a trie: the distance row of each prefix is computed once
// for all the words sharing it, and a prefix already more than edits away skips every word
// that starts with it.
func (x *Index) fuzzyWords(w string, edits int) []string {
	target := []rune(w)
	first := make([]int, len(target)+1)
	for i := range first {
		first[i] = i
	}
	rows := [][]int{first} // rows[k]: the distances after the first k runes of the current word
	var prev []rune
	var out []string
	pivot := ""
	for {
		word, ok := "", false
		x.wordTree.AscendGreaterOrEqual(pivot, func(s string) bool { word, ok = s, true; return false })
		if !ok {
			return out
		}
		r := []rune(word)
		c := commonPrefix(prev, r)
		rows = rows[:min(c, len(rows)-1)+1]
		pruned := -1
		for k := len(rows) - 1; k < len(r); k++ {
			row := nextRow(rows[k], r[k], target)
			rows = append(rows, row)
			if minOf(row) > edits {
				pruned = k + 1
				break
			}
		}
		if pruned < 0 {
			if rows[len(r)][len(target)] <= edits {
				out = append(out, word)
			}
			pivot = word + "\x00" // the next word
		} else {
			pivot = prefixEnd(r[:pruned]) // past every word with this prefix
		}
		prev = r
	}
}

// nextRow is the Levenshtein row after one more rune ch of the word, given the row before.
func nextRow(before []int, ch rune, target []rune) []int {
	row := make([]int, len(before))
	row[0] = before[0] + 1
	for i, t := range target {
		cost := 1
		if t == ch {
			cost = 0
		}
		row[i+1] = min(before[i+1]+1, row[i]+1, before[i]+cost)
	}
	return row
}

func minOf(row []int) int {
	m := row[0]
	for _, v := range row[1:] {
		m = min(m, v)
	}
	return m
}

func commonPrefix(a, b []rune) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// prefixEnd returns the least string greater than every string starting with p.
func prefixEnd(p []rune) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] < utf8.MaxRune {
			q := append([]rune(nil), p[:i+1]...)
			q[i]++
			for !utf8.ValidRune(q[i]) && q[i] < utf8.MaxRune { // past the surrogate range
				q[i]++
			}
			return string(q)
		}
	}
	return string(utf8.MaxRune) + string(utf8.MaxRune)
}
