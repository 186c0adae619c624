package searchindex

import (
	"bytes"
	"cmp"
	"container/heap"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/btree"
)

// Query selects records: every condition given must hold. The caller has checked it and
// narrowed it to what the reader may see (listing.prepare).
type Query struct {
	Words []string // query words, each matched as a prefix (search.Query)
	Kinds []string // the kinds of words the reader may match

	Deleted       bool // the trash instead of live records
	ConsentOnly   bool
	DirectoryOnly bool // consented and not deceased

	Country, City, Industry, Employer, Status, Tag string
	DirectoryConsent                               *bool
	UpdatedSince                                   time.Time

	// Degree filters: one and the same degree must meet them all.
	Degree, Program, Faculty string
	YearFrom, YearTo         int
}

func (q Query) hasDegreeFilter() bool {
	return q.Degree != "" || q.Program != "" || q.Faculty != "" || q.YearFrom != 0 || q.YearTo != 0
}

// Order is the order of a page.
type Order int

// The orders of a page.
const (
	ByRelevance Order = iota
	ByName
	ByYear
	ByUpdated
)

// Position is where a page starts: the sort values of the last record of the page before.
type Position struct {
	Score     int
	ClassYear int
	UpdatedAt time.Time
	LastName  string
	FirstName string
	PublicID  string
}

// Hit is one record of a page with its position.
type Hit struct {
	Key uint32
	Position
}

// match is the records matching q, with each word's score tiers for relevance.
type match struct {
	set   *roaring.Bitmap
	tiers [][]tier // per word, best score first
}

type tier struct {
	score int
	bm    *roaring.Bitmap
}

// wordTiers returns the records matching word w as a prefix, in words of the allowed kinds,
// by score: the weight of the best matching field, one more when w is the whole word.
func (x *Index) wordTiers(w string, allowed []bool) []tier {
	byScore := map[int]*roaring.Bitmap{}
	add := func(ps *postings, bonus int) {
		if ps == nil {
			return
		}
		for _, p := range *ps {
			if !allowed[p.kind] {
				continue
			}
			s := p.weight + bonus
			if byScore[s] == nil {
				byScore[s] = p.bm.Clone()
			} else {
				byScore[s].Or(p.bm)
			}
		}
	}
	if id, ok := x.wordIDs[w]; ok {
		add(&x.words[id].ps, 1)
	}
	n := utf8.RuneCountInString(w)
	if n <= maxPrefix {
		add(x.prefixes[w], 0)
	} else {
		for _, word := range x.wordsWithPrefix(w) {
			add(&x.words[x.wordIDs[word]].ps, 0)
		}
	}
	if edits := maxEdits(n); edits > 0 {
		for _, word := range x.fuzzyWords(w, edits) {
			for _, p := range x.words[x.wordIDs[word]].ps {
				if !allowed[p.kind] {
					continue
				}
				if byScore[scoreFuzzy] == nil {
					byScore[scoreFuzzy] = p.bm.Clone()
				} else {
					byScore[scoreFuzzy].Or(p.bm)
				}
			}
		}
	}
	scores := make([]int, 0, len(byScore))
	for s := range byScore {
		scores = append(scores, s)
	}
	slices.Sort(scores)
	slices.Reverse(scores)
	out := make([]tier, 0, len(scores))
	seen := roaring.New()
	for _, s := range scores {
		bm := roaring.AndNot(byScore[s], seen)
		if bm.IsEmpty() {
			continue
		}
		seen.Or(bm)
		out = append(out, tier{s, bm})
	}
	return out
}

// wordsWithPrefix returns the indexed words starting with p.
func (x *Index) wordsWithPrefix(p string) []string {
	var out []string
	x.wordTree.AscendGreaterOrEqual(p, func(w string) bool {
		if !strings.HasPrefix(w, p) {
			return false
		}
		out = append(out, w)
		return true
	})
	return out
}

// match evaluates q under the read lock.
func (x *Index) match(q Query) match {
	var set *roaring.Bitmap
	and := func(bm *roaring.Bitmap) {
		if set == nil {
			set = bm.Clone()
		} else {
			set.And(bm)
		}
	}
	var m match
	if len(q.Words) > 0 {
		allowed := make([]bool, len(kinds))
		for _, k := range q.Kinds {
			if i := kindIndex(k); i >= 0 {
				allowed[i] = true
			}
		}
		for _, w := range q.Words {
			ts := x.wordTiers(w, allowed)
			m.tiers = append(m.tiers, ts)
			words := roaring.New()
			for _, t := range ts {
				words.Or(t.bm)
			}
			and(words)
		}
	}
	empty := roaring.New()
	value := func(v *values, s string) {
		if s == "" {
			return
		}
		if bm := v.records(s); bm != nil {
			and(bm)
		} else {
			and(empty)
		}
	}
	value(x.country, q.Country)
	if q.City != "" {
		// The city filter holds in any country (the country filter narrows it).
		cities := roaring.New()
		want := fold(q.City)
		for k, bm := range x.city.m {
			if _, city, _ := strings.Cut(k, "\t"); fold(city) == want {
				cities.Or(bm)
			}
		}
		and(cities)
	}
	value(x.industry, q.Industry)
	value(x.employer, q.Employer)
	value(x.status, q.Status)
	value(x.tag, q.Tag)
	if q.ConsentOnly {
		and(x.consent)
	}
	if q.DirectoryOnly {
		and(x.listed)
	}
	if q.DirectoryConsent != nil {
		if *q.DirectoryConsent {
			and(x.consent)
		} else {
			and(roaring.AndNot(x.all, x.consent))
		}
	}
	if set == nil {
		set = x.all.Clone()
	}
	if q.Deleted {
		set.And(x.deleted)
	} else {
		set.AndNot(x.deleted)
	}
	if q.hasDegreeFilter() {
		x.filterDegrees(set, q)
	}
	if !q.UpdatedSince.IsZero() {
		since := unixNano(q.UpdatedSince)
		x.filterDocs(set, func(s *docSlot) bool { return s.updatedAt >= since })
	}
	m.set = set
	return m
}

// filterDegrees keeps the records of set with one degree that meets every degree filter of q:
// the value bitmaps narrow the candidates (exact for a single filter), then, with several,
// each candidate's degrees are checked.
func (x *Index) filterDegrees(set *roaring.Bitmap, q Query) {
	filters := 0
	for _, f := range []struct {
		v *values
		s string
	}{{x.degree, q.Degree}, {x.program, q.Program}, {x.faculty, q.Faculty}} {
		if f.s == "" {
			continue
		}
		filters++
		if bm := f.v.records(f.s); bm != nil {
			set.And(bm)
		} else {
			set.Clear()
			return
		}
	}
	if q.YearFrom != 0 || q.YearTo != 0 {
		filters++
		years := roaring.New()
		for y, bm := range x.year.m {
			n := yearOf(y)
			if (q.YearFrom == 0 || n >= q.YearFrom) && (q.YearTo == 0 || n <= q.YearTo) {
				years.Or(bm)
			}
		}
		set.And(years)
	}
	if filters < 2 {
		return
	}
	df := x.degreeFilter(q)
	x.filterDocs(set, func(s *docSlot) bool { return slices.ContainsFunc(x.degreeRows.get(s.degrees), df.matches) })
}

// degreeFilter is q's degree filters prepared for checking many degrees: each text filter as
// the numbers of the values the index holds that the database compares equal to it, so a
// degree is checked by comparing numbers, without folding.
type degreeFilter struct {
	degree, program, faculty []uint32 // nil: no such filter
	none                     bool     // a text filter no value meets
	yearFrom, yearTo         int32
}

func (x *Index) degreeFilter(q Query) degreeFilter {
	f := degreeFilter{yearFrom: int32(q.YearFrom), yearTo: int32(q.YearTo)} //nolint:gosec // years
	variants := func(v *values, s string) []uint32 {
		if s == "" {
			return nil
		}
		vs := v.variants[fold(s)]
		if len(vs) == 0 {
			f.none = true
		}
		ids := make([]uint32, len(vs))
		for i, s := range vs {
			ids[i] = v.ids[s]
		}
		return ids
	}
	f.degree, f.program, f.faculty = variants(x.degree, q.Degree), variants(x.program, q.Program), variants(x.faculty, q.Faculty)
	return f
}

func (f degreeFilter) matches(g degreeRow) bool {
	return !f.none && (f.degree == nil || slices.Contains(f.degree, g.degree)) &&
		(f.program == nil || slices.Contains(f.program, g.program)) &&
		(f.faculty == nil || slices.Contains(f.faculty, g.faculty)) &&
		(f.yearFrom == 0 || g.year >= f.yearFrom) && (f.yearTo == 0 || g.year <= f.yearTo)
}

// filterDocs removes from set the records for which keep is false.
func (x *Index) filterDocs(set *roaring.Bitmap, keep func(*docSlot) bool) {
	drop := roaring.New()
	it := set.Iterator()
	for it.HasNext() {
		k := it.Next()
		if s := x.docs.slot(k); s == nil || !keep(s) {
			drop.Add(k)
		}
	}
	set.AndNot(drop)
}

// Keys returns the keys of the records matching q, in ascending order.
func (x *Index) Keys(q Query) []uint32 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.match(q).set.ToArray()
}

// Count returns how many records match q.
func (x *Index) Count(q Query) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.match(q).set.GetCardinality()) //nolint:gosec // at most the number of records
}

// Page returns up to limit records matching q in order o (descending when desc; relevance is
// always best first), after position after (nil for the first page).
func (x *Index) Page(q Query, o Order, desc bool, after *Position, limit int) []Hit {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m := x.match(q)
	if o == ByRelevance {
		return x.relevancePage(m, after, limit)
	}
	tree := x.byName
	switch o {
	case ByYear:
		tree = x.byYear
	case ByUpdated:
		tree = x.byUpdated
	}
	return x.orderedPage(m.set, tree, o, desc, after, limit, 0)
}

// entry is a record in an ordered tree (key), or the position a page starts from (at).
type entry struct {
	key uint32
	at  *view
}

// view is what the orders compare of a record or a position.
type view struct {
	abbrev      uint64 // nameAbbrev(last)
	last, first []byte // collation keys
	id          []byte
	year        int32
	updated     int64
}

// view returns e's values. Those of a record point into the index: they hold until it changes.
func (x *Index) view(e entry) view {
	if e.at != nil {
		return *e.at
	}
	return x.slotView(x.docs.slot(e.key))
}

func (x *Index) slotView(s *docSlot) view {
	return view{abbrev: s.name, last: x.names.keys[s.last], first: x.names.keys[s.first], id: s.publicID[:],
		year: s.classYear, updated: s.updatedAt}
}

// positionView is the view of a page's start.
func positionView(p *Position) *view {
	last := collationKey(p.LastName)
	id := make([]byte, publicIDLen) // as docSlot keeps it
	copy(id, p.PublicID)
	return &view{abbrev: nameAbbrev(last), last: last, first: collationKey(p.FirstName), id: id,
		year: int32(p.ClassYear), updated: unixNano(p.UpdatedAt)} //nolint:gosec // a year
}

// compare orders a and b by o (ByName for ByRelevance, within a score). Each order ends with
// the public id, so that it is total.
func (x *Index) compare(o Order, a, b view) int {
	switch o {
	case ByYear:
		if a.year != b.year {
			return cmp.Compare(a.year, b.year)
		}
	case ByUpdated:
		return cmp.Or(cmp.Compare(a.updated, b.updated), bytes.Compare(a.id, b.id))
	}
	if a.abbrev != b.abbrev {
		return cmp.Compare(a.abbrev, b.abbrev)
	}
	return cmp.Or(bytes.Compare(a.last, b.last), bytes.Compare(a.first, b.first), bytes.Compare(a.id, b.id))
}

// orderedPage returns the first limit records of set after position after in order o, whose
// tree is tree: by walking the tree and checking each record when the set is large, by
// sorting the set when it is small.
func (x *Index) orderedPage(set *roaring.Bitmap, tree *btree.BTreeG[entry], o Order, desc bool, after *Position, limit, score int) []Hit {
	n := set.GetCardinality()
	if n == 0 || limit <= 0 {
		return nil
	}
	var pivot *view
	if after != nil {
		pivot = positionView(after)
	}
	// before reports whether a comes before b on the page.
	before := func(a, b view) bool {
		if desc {
			return x.compare(o, b, a) < 0
		}
		return x.compare(o, a, b) < 0
	}
	total := x.docs.len()
	var out []Hit
	// Walking visits about limit·total/n records when the matches are spread over the order;
	// sorting reads n. Walk when that is fewer — but matches may cluster far along the order
	// (a last name, in name order): a walk that has visited several times what it should have
	// stops, and the matches are sorted after all.
	if expected := uint64(max(limit, 0)+1) * total / n; expected < n {
		budget, visited, gaveUp := 4*expected+1000, uint64(0), false
		visit := func(e entry) bool {
			if visited++; visited > budget {
				gaveUp = true
				return false
			}
			if !set.Contains(e.key) {
				return true
			}
			s := x.docs.slot(e.key)
			if pivot != nil && !before(*pivot, x.slotView(s)) {
				return true // the record the page before ended with
			}
			out = append(out, x.hit(e.key, s, score))
			return len(out) < limit
		}
		switch {
		case pivot == nil && !desc:
			tree.Ascend(visit)
		case pivot == nil:
			tree.Descend(visit)
		case !desc:
			tree.AscendGreaterOrEqual(entry{at: pivot}, visit)
		default:
			tree.DescendLessOrEqual(entry{at: pivot}, visit)
		}
		if !gaveUp {
			return out
		}
		out = out[:0]
	}
	// The best limit records seen, the worst of them at the root. In name order, the
	// abbreviated keys decide most comparisons without reading the names' keys.
	h := &keyHeap{before: func(a, b uint32) bool { return before(x.slotView(x.docs.slot(a)), x.slotView(x.docs.slot(b))) }}
	named := o == ByName || o == ByRelevance
	var rootName uint64
	keys := make([]uint32, 512)
	it := set.ManyIterator()
	for n := it.NextMany(keys); n > 0; n = it.NextMany(keys) {
		for _, k := range keys[:n] {
			if named {
				name := x.docs.abbrev(k)
				if pivot != nil && (desc && name > pivot.abbrev || !desc && name < pivot.abbrev) {
					continue // before the pivot
				}
				if h.Len() == limit && (desc && name < rootName || !desc && name > rootName) {
					continue // after the worst kept
				}
			}
			s := x.docs.slot(k)
			if s == nil {
				continue
			}
			if pivot != nil && !before(*pivot, x.slotView(s)) {
				continue
			}
			switch {
			case h.Len() < limit:
				heap.Push(h, k)
			case h.before(k, h.keys[0]):
				h.keys[0] = k
				heap.Fix(h, 0)
			default:
				continue
			}
			if h.Len() == limit {
				rootName = x.docs.abbrev(h.keys[0])
			}
		}
	}
	slices.SortFunc(h.keys, func(a, b uint32) int {
		if h.before(a, b) {
			return -1
		}
		if h.before(b, a) {
			return 1
		}
		return 0
	})
	for _, k := range h.keys {
		out = append(out, x.hit(k, x.docs.slot(k), score))
	}
	return out
}

func (x *Index) hit(k uint32, s *docSlot, score int) Hit {
	return Hit{Key: k, Position: Position{Score: score, ClassYear: int(s.classYear), UpdatedAt: time.Unix(0, s.updatedAt).UTC(),
		LastName: x.names.names[s.last], FirstName: x.names.names[s.first], PublicID: s.id()}}
}

// keyHeap keeps the best records seen: its root is the worst of them.
type keyHeap struct {
	keys   []uint32
	before func(a, b uint32) bool
}

func (h *keyHeap) Len() int           { return len(h.keys) }
func (h *keyHeap) Less(i, j int) bool { return h.before(h.keys[j], h.keys[i]) }
func (h *keyHeap) Swap(i, j int)      { h.keys[i], h.keys[j] = h.keys[j], h.keys[i] }
func (h *keyHeap) Push(v any)         { h.keys = append(h.keys, v.(uint32)) } //nolint:errcheck // the heap holds keys only
func (h *keyHeap) Pop() any {
	k := h.keys[len(h.keys)-1]
	h.keys = h.keys[:len(h.keys)-1]
	return k
}

// relevancePage returns the page of m in relevance order: score (the sum of the words'
// scores) descending, then name.
// scoresByCombination returns the records of m by total score, the sum of one tier per word (a
// word's tiers are disjoint): the records of a score are the union, over the combinations of
// tiers adding up to it, of their intersections.
func scoresByCombination(m match) map[int]*roaring.Bitmap {
	byScore := map[int]*roaring.Bitmap{}
	var walk func(i int, set *roaring.Bitmap, sum int)
	walk = func(i int, set *roaring.Bitmap, sum int) {
		if i == len(m.tiers) {
			if byScore[sum] == nil {
				byScore[sum] = set
			} else {
				byScore[sum].Or(set)
			}
			return
		}
		for _, t := range m.tiers[i] {
			if next := roaring.And(set, t.bm); !next.IsEmpty() {
				walk(i+1, next, sum+t.score)
			}
		}
	}
	walk(0, m.set, 0)
	return byScore
}

// scoresByRecord returns what scoresByCombination does by adding up each record's scores, for
// queries of so many words and tiers that the combinations would cost more.
func scoresByRecord(m match) map[int]*roaring.Bitmap {
	scores := map[uint32]int{}
	for _, ts := range m.tiers {
		for _, t := range ts {
			it := roaring.And(t.bm, m.set).Iterator()
			for it.HasNext() {
				scores[it.Next()] += t.score
			}
		}
	}
	byScore := map[int]*roaring.Bitmap{}
	for k, s := range scores {
		if byScore[s] == nil {
			byScore[s] = roaring.New()
		}
		byScore[s].Add(k)
	}
	return byScore
}

func (x *Index) relevancePage(m match, after *Position, limit int) []Hit {
	var byScore map[int]*roaring.Bitmap
	if combinations(m.tiers) <= maxCombinations {
		byScore = scoresByCombination(m)
	} else {
		byScore = scoresByRecord(m)
	}
	order := make([]int, 0, len(byScore))
	for s := range byScore {
		order = append(order, s)
	}
	slices.Sort(order)
	slices.Reverse(order)
	var out []Hit
	for _, s := range order {
		if after != nil && s > after.Score {
			continue
		}
		var start *Position
		if after != nil && s == after.Score {
			start = after
		}
		out = append(out, x.orderedPage(byScore[s], x.byName, ByName, false, start, limit-len(out), s)...)
		if len(out) == limit {
			break
		}
	}
	return out
}

// maxCombinations bounds the combinations of the words' tiers that relevancePage intersects;
// beyond it (many words with many tiers each) it adds up scores record by record.
const maxCombinations = 1024

// combinations returns the number of ways to pick one tier per word.
func combinations(tiers [][]tier) int {
	n := 1
	for _, ts := range tiers {
		if n *= len(ts); n > maxCombinations {
			return n
		}
	}
	return n
}

// unixNano is t in Unix nanoseconds, clamped to what an int64 holds (years 1678 to 2262).
func unixNano(t time.Time) int64 {
	switch {
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	}
	return t.UnixNano()
}
