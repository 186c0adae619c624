package searchindex

import (
	"bytes"
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/alumnid/alumnid/internal/alumni"
)

// Bucket is one value of a field and how many matching records have it.
type Bucket struct {
	Value string
	Count int
}

// Dimension names the fields Counts counts by.
type Dimension int

// The dimensions.
const (
	DimCountry Dimension = iota
	DimCity
	DimIndustry
	DimEmployer
	DimStatus
	DimClassYear // the graduation years of the records' degrees (of the degrees meeting the degree filters)
	DimProgram
	DimFaculty
	DimCreated // month of creation, YYYY-MM
	DimUpdated // month of the last change, YYYY-MM
	DimContact // how the record can be reached (alumni.DimContact)
	DimQuality // what the record lacks (alumni.DimQuality)
)

// Count is one count Counts makes: the records by the values of Dim, only those who consented
// to the directory when ConsentedOnly (a viewer's contact counts).
type Count struct {
	Dim           Dimension
	ConsentedOnly bool
}

// Counts returns how many records match q, and for each count how many of them have each value
// of its dimension (a record counted once per value). The query is matched once for all.
func (x *Index) Counts(q Query, counts ...Count) (int, [][]Bucket) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.match(q).set
	var consented *roaring.Bitmap
	for _, c := range counts {
		if c.ConsentedOnly && consented == nil {
			consented = roaring.And(set, x.consent)
		}
	}
	out := make([][]Bucket, len(counts))
	count := func(i int) {
		of := set
		if counts[i].ConsentedOnly {
			of = consented
		}
		out[i] = x.count(of, counts[i].Dim, q)
	}
	// Many records: the counts run side by side (they only read), so that one request's
	// facets take the time of the longest count rather than of all of them.
	n := set.GetCardinality()
	if n < parallelCounts || len(counts) == 1 {
		for i := range counts {
			count(i)
		}
	} else {
		var wg sync.WaitGroup
		for i := range counts {
			wg.Go(func() { count(i) })
		}
		wg.Wait()
	}
	return int(n), out //nolint:gosec // at most the number of records
}

// parallelCounts is how many records make Counts run its counts side by side.
const parallelCounts = 20_000

func (x *Index) count(set *roaring.Bitmap, dim Dimension, q Query) []Bucket {
	col := -1
	var v *values
	switch dim {
	case DimCountry:
		col, v = colCountry, x.country
	case DimCity:
		col, v = colCity, x.city
	case DimIndustry:
		col, v = colIndustry, x.industry
	case DimEmployer:
		col, v = colEmployer, x.employer
	case DimStatus:
		col, v = colStatus, x.status
	case DimCreated:
		col, v = colCreated, x.created
	case DimUpdated:
		col, v = colUpdated, x.updated
	case DimContact, DimQuality:
		return x.countFacts(set, map[Dimension]string{DimContact: alumni.DimContact, DimQuality: alumni.DimQuality}[dim])
	case DimClassYear, DimProgram, DimFaculty:
		v = map[Dimension]*values{DimClassYear: x.year, DimProgram: x.program, DimFaculty: x.faculty}[dim]
		if q.hasDegreeFilter() {
			if out, ok := x.countDegreePairs(set, dim, q); ok {
				return out
			}
			// Only the degrees meeting the filters count. A record of set with one degree has
			// one that meets them, so its value's records count it; the records with several
			// are looked at one by one.
			multi := roaring.And(set, x.multiDegree)
			return merge(append(x.countValues(roaring.AndNot(set, multi), dim, v), x.countDegrees(multi, dim, x.degreeFilter(q))...))
		}
	}
	// A single-valued dimension is counted from its column (about 30 ns a record) unless
	// intersecting each value's records costs less (about 15 µs a value): many records, few
	// values (status, industry).
	if col >= 0 && set.GetCardinality() < uint64(len(v.names))*512 {
		return x.countColumn(set, col, v)
	}
	return x.countValues(set, dim, v)
}

// countDegreePairs counts the records of set by graduation year, or by the filtered field
// itself, when q's degree filters are one field (program, faculty or degree) with or without
// a year range: from the bitmaps of (value, year) pairs, without looking at a record. It
// reports false for any other filter.
func (x *Index) countDegreePairs(set *roaring.Bitmap, dim Dimension, q Query) ([]Bucket, bool) {
	var pairs, field *values
	var value string
	var own Dimension
	texts := 0
	for _, f := range []struct {
		s    string
		v, p *values
		dim  Dimension
	}{{q.Program, x.program, x.programYear, DimProgram}, {q.Faculty, x.faculty, x.facultyYear, DimFaculty}, {q.Degree, x.degree, x.degreeYear, -1}} {
		if f.s != "" {
			texts++
			value, field, pairs, own = f.s, f.v, f.p, f.dim
		}
	}
	if texts != 1 || dim != DimClassYear && dim != own {
		return nil, false
	}
	inRange := func(y int) bool { return (q.YearFrom == 0 || y >= q.YearFrom) && (q.YearTo == 0 || y <= q.YearTo) }
	variants := field.variants[fold(value)]
	// The records holding a degree of the value (any variant) in year y.
	ofYear := func(y string) *roaring.Bitmap {
		bm := roaring.New()
		for _, v := range variants {
			if p := pairs.m[pairKey(v, y)]; p != nil {
				bm.Or(p)
			}
		}
		return bm
	}
	var out []Bucket
	if dim == DimClassYear {
		for y := range x.year.m {
			if !inRange(yearOf(y)) {
				continue
			}
			if c := set.AndCardinality(ofYear(y)); c > 0 {
				out = append(out, Bucket{y, int(c)}) //nolint:gosec // at most the number of records
			}
		}
		return out, true
	}
	// The field filtered on: every record of set holds a degree of the value meeting the filter;
	// the bucket is named by the variant most records hold.
	if len(variants) == 0 || set.IsEmpty() {
		return []Bucket{}, true
	}
	name := variants[0]
	for _, v := range variants[1:] {
		if field.m[v].GetCardinality() > field.m[name].GetCardinality() {
			name = v
		}
	}
	return []Bucket{{name, int(set.GetCardinality())}}, true //nolint:gosec // at most the number of records
}

// countColumn counts the records of set by their value in column col, whose values v holds.
func (x *Index) countColumn(set *roaring.Bitmap, col int, v *values) []Bucket {
	counts := make([]int, len(v.names))
	keys := make([]uint32, 512)
	it := set.ManyIterator()
	for n := it.NextMany(keys); n > 0; n = it.NextMany(keys) {
		for _, k := range keys[:n] {
			if s := x.docs.slot(k); s != nil {
				counts[s.vals[col]]++
			}
		}
	}
	out := []Bucket{}
	for id, c := range counts {
		if id > 0 && c > 0 {
			out = append(out, Bucket{v.names[id], c})
		}
	}
	return merge(out)
}

// countValues counts the records of set by the values of dim, which v holds.
func (x *Index) countValues(set *roaring.Bitmap, dim Dimension, v *values) []Bucket {
	n := set.GetCardinality()
	// Few matches: count them one by one; many: intersect each value's records. (Only degree
	// dimensions come here with few: count takes the others to their columns.)
	if n < uint64(len(v.m))*64 {
		return x.countDegrees(set, dim, degreeFilter{})
	}
	out := make([]Bucket, 0, len(v.variants))
	for _, variants := range v.variants {
		bm, name := v.m[variants[0]], variants[0]
		if len(variants) > 1 { // one record may hold two of them (two degrees)
			bm = roaring.New()
			for _, s := range variants {
				bm.Or(v.m[s])
				if n, top := v.m[s].GetCardinality(), v.m[name].GetCardinality(); n > top || n == top && s < name {
					name = s
				}
			}
		}
		if c := set.AndCardinality(bm); c > 0 {
			out = append(out, Bucket{name, int(c)}) //nolint:gosec // at most the number of records
		}
	}
	return out
}

// merge adds up the buckets of values the database holds equal (case and accents aside),
// named by the variant most records have.
func merge(bs []Bucket) []Bucket {
	type group struct {
		Bucket
		top int
	}
	byFold := map[string]*group{}
	var order []string
	for _, b := range bs {
		f := fold(b.Value)
		g := byFold[f]
		if g == nil {
			byFold[f] = &group{Bucket: b, top: b.Count}
			order = append(order, f)
			continue
		}
		g.Count += b.Count
		if b.Count > g.top || b.Count == g.top && b.Value < g.Value {
			g.Value, g.top = b.Value, b.Count
		}
	}
	if len(order) == len(bs) {
		return bs
	}
	out := make([]Bucket, len(order))
	for i, f := range order {
		out[i] = byFold[f].Bucket
	}
	return out
}

// countDegrees counts the values of the degree dimension dim over the records of set one by
// one, only the degrees meeting df. (The single-valued dimensions are counted from their
// columns or their values' records: count.)
func (x *Index) countDegrees(set *roaring.Bitmap, dim Dimension, df degreeFilter) []Bucket {
	counts := map[string]int{}
	it := set.Iterator()
	for it.HasNext() {
		if s := x.docs.slot(it.Next()); s != nil {
			for _, v := range x.degreeValues(s, dim, df) {
				counts[v]++
			}
		}
	}
	out := make([]Bucket, 0, len(counts))
	for v, c := range counts {
		out = append(out, Bucket{v, c})
	}
	return merge(out)
}

// countFacts counts the records of set holding each value of the condition dimension dim.
func (x *Index) countFacts(set *roaring.Bitmap, dim string) []Bucket {
	var out []Bucket
	for i, f := range facts {
		if f.Dim != dim || x.fact[i] == nil {
			continue
		}
		if c := set.AndCardinality(x.fact[i]); c > 0 {
			out = append(out, Bucket{f.Value, int(c)}) //nolint:gosec // at most the number of records
		}
	}
	return out
}

// degreeValues returns the distinct values of dim among s's degrees that meet df.
func (x *Index) degreeValues(s *docSlot, dim Dimension, df degreeFilter) []string {
	var out []string
	for _, g := range x.degreeRows.get(s.degrees) {
		if !df.matches(g) {
			continue
		}
		var v string
		switch dim {
		case DimClassYear:
			v = yearKey(int(g.year))
		case DimProgram:
			v = x.program.names[g.program]
		case DimFaculty:
			v = x.faculty.names[g.faculty]
		}
		if v != "" && (len(out) == 0 || !slices.ContainsFunc(out, func(o string) bool { return fold(o) == fold(v) })) {
			out = append(out, v)
		}
	}
	return out
}

// Top returns the limit buckets with the most records (ties by value), or all when limit is 0.
func Top(bs []Bucket, limit int) []Bucket {
	slices.SortFunc(bs, func(a, b Bucket) int { return cmp.Or(cmp.Compare(b.Count, a.Count), CompareValues(a.Value, b.Value)) })
	if limit > 0 && len(bs) > limit {
		bs = bs[:limit]
	}
	return bs
}

// CompareValues orders values as the database's collation does (case and accents aside), then
// as written.
func CompareValues(a, b string) int {
	return cmp.Or(strings.Compare(fold(a), fold(b)), strings.Compare(a, b))
}

// Duplicates counts, among the records matching q, the groups of more than one record with
// the same last name, first name (as the database compares them) and class year, and the
// records in those groups: the likely duplicates of the data-quality report.
func (x *Index) Duplicates(q Query) (groups, records int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	set := x.match(q).set
	type group struct {
		first view
		n     int
	}
	byName := map[uint64][]group{} // by a hash of the key; the keys are compared in full
	h := maphash.Hash{}
	keys := make([]uint32, 512)
	it := set.ManyIterator()
	for n := it.NextMany(keys); n > 0; n = it.NextMany(keys) {
		for _, k := range keys[:n] {
			s := x.docs.slot(k)
			if s == nil {
				continue
			}
			d := x.slotView(s)
			h.Reset()
			_, _ = h.Write(d.last)
			_ = h.WriteByte(0)
			_, _ = h.Write(d.first)
			sum := h.Sum64() ^ uint64(d.year) //nolint:gosec // a hash: wrapping is fine
			gs := byName[sum]
			i := slices.IndexFunc(gs, func(g group) bool {
				return g.first.year == d.year && bytes.Equal(g.first.last, d.last) && bytes.Equal(g.first.first, d.first)
			})
			if i < 0 {
				byName[sum] = append(gs, group{first: d, n: 1})
				continue
			}
			if gs[i].n++; gs[i].n == 2 {
				groups++
				records += 2
			} else {
				records++
			}
		}
	}
	return groups, records
}
