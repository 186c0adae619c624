// Package searchindex is the search index each replica keeps in memory: for every record, the
// words of its search index and the values lists filter, sort and count by, held as compressed
// bitmaps of record keys (RoaringBitmap) and ordered trees, so that a search, a page, a facet
// or a filtered count costs about the same whatever the number of matches. MySQL stays the
// system of record; the index is derived from it (Load) and kept current from the audit trail.
// See docs/SEARCH.md.
package searchindex

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/google/btree"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/alumnid/alumnid/internal/alumni"
)

// Kinds of search index words (alumni.Terms), in the order of their bits.
var kinds = []string{"p", "c", "t"}

func kindIndex(k string) int { return slices.Index(kinds, k) }

// Doc is a record as Put takes it: what the index keeps of it besides its words, which NewDoc
// extracts. Put keeps it as a docSlot.
type Doc struct {
	Key       uint32 // the record's internal key
	ClassYear int
	Deleted   bool
	Consent   bool
	Status    alumni.Status
	PublicID  string
	LastName  string
	FirstName string
	UpdatedAt int64 // Unix nanoseconds
	CreatedAt int64
	Country   string
	City      string
	Industry  string
	Employer  string
	Degrees   []Degree
	Tags      []string
	// Facts are the record's values of the report dimensions that are conditions, one bit
	// each (factBits).
	Facts uint16
	// words are the record's index words.
	words []alumni.Term
}

// Degree is what the index keeps of a degree.
type Degree struct {
	Degree, Program, Faculty string
	Year                     int
}

func packTerm(word uint32, kind, weight int) uint32 {
	return word<<8 | uint32(kind)<<4 | uint32(weight) //nolint:gosec // kind < 3, weight < 16
}

func unpackTerm(t uint32) (word uint32, kind, weight int) {
	return t >> 8, int(t >> 4 & 0xf), int(t & 0xf)
}

// posting is the records holding a word (or a word starting with a prefix) in fields of one
// kind, by the weight of the best such field.
type posting struct {
	kind   int
	weight int
	bm     *roaring.Bitmap
}

// postings are one word's (or prefix's) postings.
type postings []posting

func (ps *postings) add(kind, weight int, key uint32) {
	for i := range *ps {
		if p := &(*ps)[i]; p.kind == kind && p.weight == weight {
			p.bm.Add(key)
			return
		}
	}
	*ps = append(*ps, posting{kind: kind, weight: weight, bm: roaring.BitmapOf(key)})
}

func (ps postings) remove(kind, weight int, key uint32) {
	for _, p := range ps {
		if p.kind == kind && p.weight == weight {
			p.bm.Remove(key)
		}
	}
}

// maxPrefix is the longest prefix (in runes) whose postings are kept ready: a shorter query
// word matches thousands of words, too many to union per request.
const maxPrefix = 3

// word is one word of the index and its postings.
type word struct {
	text string
	ps   postings
}

// values are the records with each value of one field. Values are compared as the database
// compares them (utf8mb4_unicode_520_ci: case and accents aside): variants holds the values as
// written by their folded form.
type values struct {
	m        map[string]*roaring.Bitmap
	variants map[string][]string
	// The values a column holds (docSlot.vals) and a degree row, by number.
	numbers
}

func newValues() *values {
	return &values{m: map[string]*roaring.Bitmap{}, variants: map[string][]string{}, numbers: newNumbers()}
}

// numbers number strings: id 0 is the empty string. A number is never reused, so a record that
// holds one needs no update when its string is left unused.
type numbers struct {
	ids   map[string]uint32
	names []string // by number
}

func newNumbers() numbers { return numbers{ids: map[string]uint32{}, names: []string{""}} }

// id returns s's number, giving it one if it has none.
func (n *numbers) id(s string) uint32 {
	if s == "" {
		return 0
	}
	id, ok := n.ids[s]
	if !ok {
		id = uint32(len(n.names)) //nolint:gosec // fewer than 2^32 strings
		n.ids[s] = id
		n.names = append(n.names, s)
	}
	return id
}

func (v *values) add(value string, key uint32) {
	if value == "" {
		return
	}
	bm := v.m[value]
	if bm == nil {
		bm = roaring.New()
		v.m[value] = bm
		f := fold(value)
		v.variants[f] = append(v.variants[f], value)
	}
	bm.Add(key)
}

func (v *values) remove(value string, key uint32) {
	if bm := v.m[value]; bm != nil {
		bm.Remove(key)
		if bm.IsEmpty() {
			delete(v.m, value)
			f := fold(value)
			v.variants[f] = slices.DeleteFunc(v.variants[f], func(s string) bool { return s == value })
			if len(v.variants[f]) == 0 {
				delete(v.variants, f)
			}
		}
	}
}

// records returns the records with value (as the database compares it), nil for none.
func (v *values) records(value string) *roaring.Bitmap {
	vs := v.variants[fold(value)]
	switch len(vs) {
	case 0:
		return nil
	case 1:
		return v.m[vs[0]]
	}
	out := roaring.New()
	for _, s := range vs {
		out.Or(v.m[s])
	}
	return out
}

// folder compares values as the database's collation does.
var folder = struct {
	sync.Mutex
	c     *collate.Collator
	buf   collate.Buffer
	cache sync.Map // value → folded form
}{c: collate.New(language.Und, collate.Loose)}

// fold returns the form of s that is equal for values the database holds equal.
func fold(s string) string {
	if f, ok := folder.cache.Load(s); ok {
		return f.(string) //nolint:errcheck // the cache holds strings only
	}
	folder.Lock()
	f := string(folder.c.KeyFromString(&folder.buf, s))
	folder.buf.Reset()
	folder.Unlock()
	folder.cache.Store(s, f)
	return f
}

// Index is the search index of one replica. It is safe for concurrent use: queries share a
// read lock, changes take the write lock.
type Index struct {
	mu   sync.RWMutex
	docs docTable
	// The records' degrees, tags (by number in tag) and words (packTerm), by docSlot's spans.
	degreeRows arena[degreeRow]
	tagIDs     arena[uint32]
	termIDs    arena[uint32]
	// minWaste is the least waste in the arenas worth a compaction.
	minWaste int
	names    names

	wordIDs  map[string]uint32     // each word's id: its place in words
	words    []word                // by id
	prefixes map[string]*postings  // by prefix of up to maxPrefix runes
	wordTree *btree.BTreeG[string] // the words in order, for longer prefixes

	all, deleted, consent, listed                  *roaring.Bitmap
	country, city, industry, employer, status, tag *values
	program, faculty, degree, year                 *values // records with a degree of that value
	// records with a degree of that program (faculty, degree) in that year: "value\tyear"
	programYear, facultyYear, degreeYear *values
	fact                                 [16]*roaring.Bitmap // by bit of docSlot.facts
	created, updated                     *values             // by month
	withDegree                           *roaring.Bitmap
	multiDegree                          *roaring.Bitmap // records with more than one degree

	byName, byYear, byUpdated *btree.BTreeG[entry]
}

// New returns an empty index.
func New() *Index {
	x := &Index{
		minWaste: 1 << 20,
		names:    names{numbers: newNumbers(), keys: [][]byte{nil}},
		wordIDs:  map[string]uint32{}, prefixes: map[string]*postings{}, wordTree: btree.NewOrderedG[string](32),
		all: roaring.New(), deleted: roaring.New(), consent: roaring.New(), listed: roaring.New(),
		country: newValues(), city: newValues(), industry: newValues(), employer: newValues(), status: newValues(), tag: newValues(),
		program: newValues(), faculty: newValues(), degree: newValues(), year: newValues(), withDegree: roaring.New(),
		programYear: newValues(), facultyYear: newValues(), degreeYear: newValues(), multiDegree: roaring.New(),
		created: newValues(), updated: newValues(),
	}
	x.byName = btree.NewG(32, func(a, b entry) bool { return x.compare(ByName, x.view(a), x.view(b)) < 0 })
	x.byYear = btree.NewG(32, func(a, b entry) bool { return x.compare(ByYear, x.view(a), x.view(b)) < 0 })
	x.byUpdated = btree.NewG(32, func(a, b entry) bool { return x.compare(ByUpdated, x.view(a), x.view(b)) < 0 })
	return x
}

// names are the first and last names the index holds, each once, with its collation key.
type names struct {
	numbers
	keys [][]byte // by number
}

// id returns name's number, giving it one (and its key) if it has none.
func (n *names) id(name string) uint32 {
	id := n.numbers.id(name)
	if int(id) == len(n.keys) {
		n.keys = append(n.keys, collationKey(name))
	}
	return id
}

// Len returns the number of records in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.docs.len()) //nolint:gosec // fewer than 2^32 records
}

// NewDoc returns the doc of record a with internal key key. It may run concurrently with
// other calls of NewDoc, not with Put or Remove.
func (x *Index) NewDoc(key uint32, a alumni.Alumnus) *Doc {
	d := &Doc{
		Key: key, PublicID: a.ID, LastName: a.LastName, FirstName: a.FirstName, ClassYear: a.ClassYear(),
		UpdatedAt: unixNano(a.UpdatedAt), CreatedAt: unixNano(a.CreatedAt), Deleted: a.DeletedAt != nil,
		Consent: a.DirectoryConsent, Status: a.Status, Country: a.Address.Country, City: a.Address.City,
		Industry: a.Employment.Industry, Employer: a.Employment.Employer, Tags: a.Tags,
	}
	if len(a.Degrees) > 0 {
		d.Degrees = make([]Degree, len(a.Degrees))
		for i, g := range a.Degrees {
			d.Degrees[i] = Degree{Degree: g.Degree, Program: g.Program, Faculty: g.Faculty, Year: g.GraduationYear}
		}
	}
	for _, v := range alumni.StatValues(a.Fields, a.CreatedAt, a.UpdatedAt) {
		d.Facts |= factBits[v]
	}
	d.words = alumni.Terms(a.Fields)
	return d
}

// facts are the values of the condition dimensions (alumni.StatValues), each a bit of
// Doc.Facts.
var facts = []alumni.DimValue{
	{Dim: alumni.DimContact, Value: "email"}, {Dim: alumni.DimContact, Value: "mail"},
	{Dim: alumni.DimContact, Value: "phone"}, {Dim: alumni.DimContact, Value: "sms"},
	{Dim: alumni.DimContact, Value: "none"},
	{Dim: alumni.DimQuality, Value: "missing_email"}, {Dim: alumni.DimQuality, Value: "no_employment"},
	{Dim: alumni.DimQuality, Value: "no_degree"}, {Dim: alumni.DimQuality, Value: "no_address"},
}

var factBits = func() map[alumni.DimValue]uint16 {
	m := make(map[alumni.DimValue]uint16, len(facts))
	for i, f := range facts {
		m[f] = 1 << i
	}
	return m
}()

// month is the YYYY-MM of Unix nanoseconds t, in UTC (the created and updated dimensions).
func month(t int64) string { return time.Unix(0, t).UTC().Format("2006-01") }

// collationKey returns the collation key of a name, with the collator that fold uses.
func collationKey(name string) []byte {
	folder.Lock()
	defer folder.Unlock()
	var buf collate.Buffer
	return slices.Clone(folder.c.KeyFromString(&buf, name))
}

// Put adds docs to the index, replacing the records' earlier versions.
func (x *Index) Put(docs ...*Doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range docs {
		x.remove(d.Key)
		x.add(d)
	}
	x.compact()
}

// Remove takes the records with keys out of the index (a record purged from the trash).
func (x *Index) Remove(keys ...uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		x.remove(k)
	}
	x.compact()
}

// RemovePublicIDs takes the records with these public ids out of the index: records whose rows
// are gone (merged into another record), whose keys the caller no longer knows. It scans every
// slot, which a merge, being rare, can afford.
func (x *Index) RemovePublicIDs(publicIDs ...string) {
	if len(publicIDs) == 0 {
		return
	}
	gone := make(map[string]bool, len(publicIDs))
	for _, id := range publicIDs {
		gone[id] = true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var keys []uint32
	x.docs.each(func(k uint32, s *docSlot) {
		if gone[s.id()] {
			keys = append(keys, k)
		}
	})
	for _, k := range keys {
		x.remove(k)
	}
	x.compact()
}

func (x *Index) add(d *Doc) {
	k := d.Key
	status, city := string(d.Status), cityKey(d.Country, d.City)
	created, updated := month(d.CreatedAt), month(d.UpdatedAt)
	s := docSlot{
		last: x.names.id(d.LastName), first: x.names.id(d.FirstName),
		updatedAt: d.UpdatedAt, createdAt: d.CreatedAt, classYear: int32(d.ClassYear), //nolint:gosec // a year
		facts: d.Facts, deleted: d.Deleted, consent: d.Consent,
		vals: [columns]uint32{
			colCountry: x.country.id(d.Country), colCity: x.city.id(city), colIndustry: x.industry.id(d.Industry),
			colEmployer: x.employer.id(d.Employer), colStatus: x.status.id(status),
			colCreated: x.created.id(created), colUpdated: x.updated.id(updated),
		},
	}
	s.name = nameAbbrev(x.names.keys[s.last])
	copy(s.publicID[:], d.PublicID)
	if len(d.Degrees) > 0 {
		rows := make([]degreeRow, len(d.Degrees))
		for i, g := range d.Degrees {
			rows[i] = degreeRow{degree: x.degree.id(g.Degree), program: x.program.id(g.Program), faculty: x.faculty.id(g.Faculty),
				year: int32(g.Year)} //nolint:gosec // a year
		}
		s.degrees = x.degreeRows.add(rows)
	}
	if len(d.Tags) > 0 {
		ids := make([]uint32, len(d.Tags))
		for i, t := range d.Tags {
			ids[i] = x.tag.id(t)
		}
		s.tags = x.tagIDs.add(ids)
	}
	terms := make([]uint32, len(d.words))
	for i, t := range d.words {
		id, ok := x.wordIDs[t.Word]
		if !ok {
			id = uint32(len(x.words)) //nolint:gosec // fewer than 2^24 words (docs/SEARCH.md)
			x.wordIDs[t.Word] = id
			x.words = append(x.words, word{text: t.Word})
			x.wordTree.ReplaceOrInsert(t.Word)
		}
		terms[i] = packTerm(id, kindIndex(t.Kind), t.Weight)
	}
	s.terms = x.termIDs.add(terms)
	x.docs.put(k, s)

	x.all.Add(k)
	if d.Deleted {
		x.deleted.Add(k)
	}
	if d.Consent {
		x.consent.Add(k)
		if d.Status != alumni.StatusDeceased {
			x.listed.Add(k)
		}
	}
	x.country.add(d.Country, k)
	x.city.add(city, k)
	x.industry.add(d.Industry, k)
	x.employer.add(d.Employer, k)
	x.status.add(status, k)
	for _, t := range d.Tags {
		x.tag.add(t, k)
	}
	for _, g := range d.Degrees {
		x.program.add(g.Program, k)
		x.faculty.add(g.Faculty, k)
		x.degree.add(g.Degree, k)
		x.year.add(yearKey(g.Year), k)
		if y := yearKey(g.Year); y != "" {
			x.programYear.add(pairKey(g.Program, y), k)
			x.facultyYear.add(pairKey(g.Faculty, y), k)
			x.degreeYear.add(pairKey(g.Degree, y), k)
		}
	}
	if len(d.Degrees) > 0 {
		x.withDegree.Add(k)
	}
	if len(d.Degrees) > 1 {
		x.multiDegree.Add(k)
	}
	for i := range facts {
		if d.Facts&(1<<i) != 0 {
			if x.fact[i] == nil {
				x.fact[i] = roaring.New()
			}
			x.fact[i].Add(k)
		}
	}
	x.created.add(created, k)
	x.updated.add(updated, k)
	for _, t := range terms {
		id, kind, weight := unpackTerm(t)
		x.words[id].ps.add(kind, weight, k)
	}
	for _, p := range x.prefixWeights(terms) {
		ps := x.prefixes[p.prefix]
		if ps == nil {
			ps = &postings{}
			x.prefixes[p.prefix] = ps
		}
		ps.add(p.kind, p.weight, k)
	}
	x.byName.ReplaceOrInsert(entry{key: k})
	x.byYear.ReplaceOrInsert(entry{key: k})
	x.byUpdated.ReplaceOrInsert(entry{key: k})
}

// remove takes the record with key k out of the index, if it is there.
func (x *Index) remove(k uint32) {
	at := x.docs.slot(k)
	if at == nil {
		return
	}
	// Out of the trees first: they find it by its values.
	x.byName.Delete(entry{key: k})
	x.byYear.Delete(entry{key: k})
	x.byUpdated.Delete(entry{key: k})
	s := *at
	x.docs.delete(k)
	for _, bm := range []*roaring.Bitmap{x.all, x.deleted, x.consent, x.listed, x.withDegree, x.multiDegree} {
		bm.Remove(k)
	}
	for _, c := range []struct {
		v   *values
		col int
	}{{x.country, colCountry}, {x.city, colCity}, {x.industry, colIndustry}, {x.employer, colEmployer},
		{x.status, colStatus}, {x.created, colCreated}, {x.updated, colUpdated}} {
		c.v.remove(c.v.names[s.vals[c.col]], k)
	}
	for _, t := range x.tagIDs.get(s.tags) {
		x.tag.remove(x.tag.names[t], k)
	}
	for _, g := range x.degreeRows.get(s.degrees) {
		program, faculty, degree := x.program.names[g.program], x.faculty.names[g.faculty], x.degree.names[g.degree]
		x.program.remove(program, k)
		x.faculty.remove(faculty, k)
		x.degree.remove(degree, k)
		x.year.remove(yearKey(int(g.year)), k)
		if y := yearKey(int(g.year)); y != "" {
			x.programYear.remove(pairKey(program, y), k)
			x.facultyYear.remove(pairKey(faculty, y), k)
			x.degreeYear.remove(pairKey(degree, y), k)
		}
	}
	for _, bm := range x.fact {
		if bm != nil {
			bm.Remove(k)
		}
	}
	terms := x.termIDs.get(s.terms)
	for _, t := range terms {
		id, kind, weight := unpackTerm(t)
		x.words[id].ps.remove(kind, weight, k)
	}
	for _, p := range x.prefixWeights(terms) {
		if ps := x.prefixes[p.prefix]; ps != nil {
			ps.remove(p.kind, p.weight, k)
		}
	}
	x.degreeRows.free(s.degrees)
	x.tagIDs.free(s.tags)
	x.termIDs.free(s.terms)
}

// compact copies the records' degrees, tags and words into new arenas when the old versions
// given up by changes outnumber them, so that an index that follows changes for months takes
// no more memory than one just loaded. It costs one pass over the records (about 0.1 s for a
// million), under the write lock.
func (x *Index) compact() {
	if !x.degreeRows.wasteful(x.minWaste) && !x.tagIDs.wasteful(x.minWaste) && !x.termIDs.wasteful(x.minWaste) {
		return
	}
	var degrees arena[degreeRow]
	var tags, terms arena[uint32]
	x.docs.each(func(_ uint32, s *docSlot) {
		s.degrees = degrees.add(x.degreeRows.get(s.degrees))
		s.tags = tags.add(x.tagIDs.get(s.tags))
		s.terms = terms.add(x.termIDs.get(s.terms))
	})
	x.degreeRows, x.tagIDs, x.termIDs = degrees, tags, terms
}

// prefixWeight is the weight of a record's best word starting with prefix, in fields of kind.
type prefixWeight struct {
	prefix       string
	kind, weight int
}

// prefixWeights returns, for each prefix of up to maxPrefix runes of the words of terms and
// each kind, the weight of the best word with that prefix.
func (x *Index) prefixWeights(terms []uint32) []prefixWeight {
	out := make([]prefixWeight, 0, len(terms)*maxPrefix)
	for _, t := range terms {
		id, kind, weight := unpackTerm(t)
		w := x.words[id].text
		for n := 1; n <= maxPrefix; n++ {
			end := nthRuneEnd(w, n)
			if end < 0 {
				break
			}
			p := w[:end]
			i := slices.IndexFunc(out, func(o prefixWeight) bool { return o.kind == kind && o.prefix == p })
			switch {
			case i < 0:
				out = append(out, prefixWeight{p, kind, weight})
			case weight > out[i].weight:
				out[i].weight = weight
			}
		}
	}
	return out
}

// nthRuneEnd returns the byte offset after the nth rune of s, or -1 when s has fewer.
func nthRuneEnd(s string, n int) int {
	c := 0
	for i := range s {
		if c == n {
			return i
		}
		c++
	}
	if c == n {
		return len(s)
	}
	return -1
}

// yearOf is the year of a yearKey.
func yearOf(key string) int {
	n := 0
	for _, c := range key {
		n = n*10 + int(c-'0')
	}
	return n
}

// pairKey is the key of a degree's value and year in programYear, facultyYear and degreeYear
// ("" when the value is empty).
func pairKey(value, year string) string {
	if value == "" {
		return ""
	}
	return value + "\t" + year
}

// yearKey is the value of a graduation year ("" for none).
func yearKey(y int) string {
	switch {
	case y == 0:
		return ""
	case y > 0 && y < len(yearKeys):
		return yearKeys[y]
	}
	return strconv.Itoa(y)
}

// yearKeys are the years' values made once: facets count them for every matching degree.
var yearKeys = func() []string {
	out := make([]string, 2200)
	for y := range out {
		out[y] = strconv.Itoa(y)
	}
	return out
}()

// cityKey is the value of the city dimension: the country and the city, as alumni_stats keeps
// it ("" without a city).
func cityKey(country, city string) string {
	if city == "" {
		return ""
	}
	return country + "\t" + city
}
