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

// Doc is what the index keeps of one record besides its words. Its strings other than the
// public id are interned: a million records share a few thousand values.
type Doc struct {
	Key       uint32 // the record's internal key
	ClassYear int
	Deleted   bool
	Consent   bool
	Status    alumni.Status
	PublicID  string
	LastName  string // interned, as are the first names
	FirstName string
	LastKey   []byte // collation keys of the last and first name (one allocation)
	FirstKey  []byte
	UpdatedAt int64 // Unix nanoseconds
	CreatedAt int64
	Country   string
	City      string
	Industry  string
	Employer  string
	Degrees   []Degree
	Tags      []string
	// Facts are the record's values of the report dimensions that are conditions (how it can
	// be reached, what it lacks), one bit each (factBits).
	Facts uint16
	// terms are the record's index words: word id << 8 | kind << 4 | weight.
	terms []uint32
	// pending are the words of a doc NewDoc made, until Put gives them ids.
	pending []alumni.Term
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
	// ids number the values a column holds (column), names by id; id 0 is no value. An id is
	// never reused, so a column of records needs no update when a value is left unused.
	ids   map[string]uint32
	names []string
}

func newValues() *values {
	return &values{m: map[string]*roaring.Bitmap{}, variants: map[string][]string{}, ids: map[string]uint32{}, names: []string{""}}
}

// id returns value's number, giving it one if it has none.
func (v *values) id(value string) uint32 {
	if value == "" {
		return 0
	}
	id, ok := v.ids[value]
	if !ok {
		id = uint32(len(v.names)) //nolint:gosec // fewer than 2^32 values
		v.ids[value] = id
		v.names = append(v.names, value)
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

	wordIDs  map[string]uint32     // each word's id: its place in words
	words    []word                // by id
	prefixes map[string]*postings  // by prefix of up to maxPrefix runes
	wordTree *btree.BTreeG[string] // the words in order, for longer prefixes
	interned map[string]string

	all, deleted, consent, listed                  *roaring.Bitmap
	country, city, industry, employer, status, tag *values
	program, faculty, degree, year                 *values // records with a degree of that value
	// records with a degree of that program (faculty, degree) in that year: "value\tyear"
	programYear, facultyYear, degreeYear *values
	fact                                 [16]*roaring.Bitmap // by bit of Doc.Facts
	created, updated                     *values             // by month
	withDegree                           *roaring.Bitmap
	multiDegree                          *roaring.Bitmap // records with more than one degree

	byName, byYear, byUpdated *btree.BTreeG[*Doc]
}

// New returns an empty index.
func New() *Index {
	return &Index{
		wordIDs: map[string]uint32{}, prefixes: map[string]*postings{}, wordTree: btree.NewOrderedG[string](32),
		interned: map[string]string{},
		all:      roaring.New(), deleted: roaring.New(), consent: roaring.New(), listed: roaring.New(),
		country: newValues(), city: newValues(), industry: newValues(), employer: newValues(), status: newValues(), tag: newValues(),
		program: newValues(), faculty: newValues(), degree: newValues(), year: newValues(), withDegree: roaring.New(),
		programYear: newValues(), facultyYear: newValues(), degreeYear: newValues(), multiDegree: roaring.New(),
		created: newValues(), updated: newValues(),
		byName:    btree.NewG(32, lessName),
		byYear:    btree.NewG(32, lessYear),
		byUpdated: btree.NewG(32, lessUpdated),
	}
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
	lastKey, firstKey := nameKeys(a.LastName, a.FirstName)
	d := &Doc{
		Key: key, PublicID: a.ID, LastName: a.LastName, FirstName: a.FirstName,
		LastKey: lastKey, FirstKey: firstKey, ClassYear: a.ClassYear(),
		UpdatedAt: unixNano(a.UpdatedAt), CreatedAt: unixNano(a.CreatedAt), Deleted: a.DeletedAt != nil,
		Consent: a.DirectoryConsent, Status: a.Status, Country: a.Address.Country, City: a.Address.City,
		Industry: a.Employment.Industry, Employer: a.Employment.Employer,
	}
	if len(a.Degrees) > 0 {
		d.Degrees = make([]Degree, len(a.Degrees))
		for i, g := range a.Degrees {
			d.Degrees[i] = Degree{Degree: g.Degree, Program: g.Program, Faculty: g.Faculty, Year: g.GraduationYear}
		}
	}
	if len(a.Tags) > 0 {
		d.Tags = slices.Clone(a.Tags)
	}
	for _, v := range alumni.StatValues(a.Fields, a.CreatedAt, a.UpdatedAt) {
		d.Facts |= factBits[v]
	}
	d.pending = alumni.Terms(a.Fields)
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

// nameKeys returns the collation keys of a last and a first name (one allocation), with the
// collator that fold uses.
func nameKeys(last, first string) ([]byte, []byte) {
	folder.Lock()
	defer folder.Unlock()
	var buf collate.Buffer
	l := folder.c.KeyFromString(&buf, last)
	n := len(l)
	keys := slices.Clone(append(slices.Clip(l), folder.c.KeyFromString(&buf, first)...))
	return keys[:n:n], keys[n:]
}

// Put adds docs to the index, replacing the records' earlier versions.
func (x *Index) Put(docs ...*Doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range docs {
		if old := x.docs.get(d.Key); old != nil {
			x.remove(old)
		}
		x.add(d)
	}
}

// Remove takes the records with keys out of the index (a record purged from the trash).
func (x *Index) Remove(keys ...uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		if old := x.docs.get(k); old != nil {
			x.remove(old)
		}
	}
}

func (x *Index) intern(v string) string {
	if v == "" {
		return ""
	}
	if s, ok := x.interned[v]; ok {
		return s
	}
	x.interned[v] = v
	return v
}

func (x *Index) add(d *Doc) {
	k := d.Key
	d.Status = alumni.Status(x.intern(string(d.Status)))
	d.LastName, d.FirstName = x.intern(d.LastName), x.intern(d.FirstName)
	d.Country, d.City, d.Industry, d.Employer = x.intern(d.Country), x.intern(d.City), x.intern(d.Industry), x.intern(d.Employer)
	for i := range d.Degrees {
		g := &d.Degrees[i]
		g.Degree, g.Program, g.Faculty = x.intern(g.Degree), x.intern(g.Program), x.intern(g.Faculty)
	}
	for i, t := range d.Tags {
		d.Tags[i] = x.intern(t)
	}
	if d.pending != nil {
		d.terms = make([]uint32, len(d.pending))
		for i, t := range d.pending {
			id, ok := x.wordIDs[t.Word]
			if !ok {
				id = uint32(len(x.words)) //nolint:gosec // fewer than 2^24 words (docs/SEARCH.md)
				x.wordIDs[t.Word] = id
				x.words = append(x.words, word{text: t.Word})
				x.wordTree.ReplaceOrInsert(t.Word)
			}
			d.terms[i] = packTerm(id, kindIndex(t.Kind), t.Weight)
		}
		d.pending = nil
	}

	x.docs.put(d, [columns]uint32{
		colCountry: x.country.id(d.Country), colCity: x.city.id(cityKey(d)), colIndustry: x.industry.id(d.Industry),
		colEmployer: x.employer.id(d.Employer), colStatus: x.status.id(string(d.Status)),
		colCreated: x.created.id(month(d.CreatedAt)), colUpdated: x.updated.id(month(d.UpdatedAt)),
	})
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
	x.city.add(cityKey(d), k)
	x.industry.add(d.Industry, k)
	x.employer.add(d.Employer, k)
	x.status.add(string(d.Status), k)
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
	x.created.add(month(d.CreatedAt), k)
	x.updated.add(month(d.UpdatedAt), k)
	for _, t := range d.terms {
		id, kind, weight := unpackTerm(t)
		x.words[id].ps.add(kind, weight, k)
	}
	for _, p := range x.prefixWeights(d.terms) {
		ps := x.prefixes[p.prefix]
		if ps == nil {
			ps = &postings{}
			x.prefixes[p.prefix] = ps
		}
		ps.add(p.kind, p.weight, k)
	}
	x.byName.ReplaceOrInsert(d)
	x.byYear.ReplaceOrInsert(d)
	x.byUpdated.ReplaceOrInsert(d)
}

func (x *Index) remove(d *Doc) {
	k := d.Key
	x.docs.delete(k)
	for _, bm := range []*roaring.Bitmap{x.all, x.deleted, x.consent, x.listed, x.withDegree, x.multiDegree} {
		bm.Remove(k)
	}
	x.country.remove(d.Country, k)
	x.city.remove(cityKey(d), k)
	x.industry.remove(d.Industry, k)
	x.employer.remove(d.Employer, k)
	x.status.remove(string(d.Status), k)
	for _, t := range d.Tags {
		x.tag.remove(t, k)
	}
	for _, g := range d.Degrees {
		x.program.remove(g.Program, k)
		x.faculty.remove(g.Faculty, k)
		x.degree.remove(g.Degree, k)
		x.year.remove(yearKey(g.Year), k)
		if y := yearKey(g.Year); y != "" {
			x.programYear.remove(pairKey(g.Program, y), k)
			x.facultyYear.remove(pairKey(g.Faculty, y), k)
			x.degreeYear.remove(pairKey(g.Degree, y), k)
		}
	}
	for _, bm := range x.fact {
		if bm != nil {
			bm.Remove(k)
		}
	}
	x.created.remove(month(d.CreatedAt), k)
	x.updated.remove(month(d.UpdatedAt), k)
	for _, t := range d.terms {
		id, kind, weight := unpackTerm(t)
		x.words[id].ps.remove(kind, weight, k)
	}
	for _, p := range x.prefixWeights(d.terms) {
		if ps := x.prefixes[p.prefix]; ps != nil {
			ps.remove(p.kind, p.weight, k)
		}
	}
	x.byName.Delete(d)
	x.byYear.Delete(d)
	x.byUpdated.Delete(d)
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
func cityKey(d *Doc) string {
	if d.City == "" {
		return ""
	}
	return d.Country + "\t" + d.City
}
