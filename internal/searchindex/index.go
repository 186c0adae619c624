// Package searchindex is the search index each replica keeps in memory: for every record, the
// words of its search index and the values lists filter, sort and count by, held as compressed
// bitmaps of record keys (RoaringBitmap) and ordered trees, so that a search, a page, a facet
// or a filtered count costs about the same whatever the number of matches. MySQL stays the
// system of record; the index is derived from it (Load) and kept current from the audit trail.
// See docs/SEARCH.md.
package searchindex

import (
	"slices"
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

// Doc is what the index keeps of one record besides its words.
type Doc struct {
	Key       uint32 // the record's internal key
	PublicID  string
	LastKey   []byte // collation keys of the last and first name
	FirstKey  []byte
	ClassYear int
	UpdatedAt time.Time
	CreatedAt time.Time
	Deleted   bool
	Consent   bool
	Status    alumni.Status
	Country   string
	City      string
	Industry  string
	Employer  string
	Degrees   []alumni.Degree
	Tags      []string
	terms     []alumni.Term
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

// values are the records with each value of one field.
type values map[string]*roaring.Bitmap

func (v values) add(value string, key uint32) {
	if value == "" {
		return
	}
	bm := v[value]
	if bm == nil {
		bm = roaring.New()
		v[value] = bm
	}
	bm.Add(key)
}

func (v values) remove(value string, key uint32) {
	if bm := v[value]; bm != nil {
		bm.Remove(key)
		if bm.IsEmpty() {
			delete(v, value)
		}
	}
}

// Index is the search index of one replica. It is safe for concurrent use: queries share a
// read lock, changes take the write lock.
type Index struct {
	mu   sync.RWMutex
	docs map[uint32]*Doc

	words    map[string]*postings  // by word
	prefixes map[string]*postings  // by prefix of up to maxPrefix runes
	wordTree *btree.BTreeG[string] // the words in order, for longer prefixes

	all, deleted, consent, listed                  *roaring.Bitmap
	country, city, industry, employer, status, tag values
	program, faculty, degree, year                 values // records with a degree of that value
	withDegree                                     *roaring.Bitmap

	byName, byYear, byUpdated *btree.BTreeG[*Doc]

	collator *collate.Collator
	colMu    sync.Mutex // the collator keeps a buffer
}

// New returns an empty index.
func New() *Index {
	return &Index{
		docs:  map[uint32]*Doc{},
		words: map[string]*postings{}, prefixes: map[string]*postings{}, wordTree: btree.NewOrderedG[string](32),
		all: roaring.New(), deleted: roaring.New(), consent: roaring.New(), listed: roaring.New(),
		country: values{}, city: values{}, industry: values{}, employer: values{}, status: values{}, tag: values{},
		program: values{}, faculty: values{}, degree: values{}, year: values{}, withDegree: roaring.New(),
		byName:    btree.NewG(32, lessName),
		byYear:    btree.NewG(32, lessYear),
		byUpdated: btree.NewG(32, lessUpdated),
		collator:  collate.New(language.Und, collate.Loose),
	}
}

// Len returns the number of records in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.docs)
}

// NewDoc returns the doc of record a with internal key key.
func (x *Index) NewDoc(key uint32, a alumni.Alumnus) *Doc {
	x.colMu.Lock()
	var buf collate.Buffer
	last := slices.Clone(x.collator.KeyFromString(&buf, a.LastName))
	first := slices.Clone(x.collator.KeyFromString(&buf, a.FirstName))
	x.colMu.Unlock()
	return &Doc{
		Key: key, PublicID: a.ID, LastKey: last, FirstKey: first, ClassYear: a.ClassYear(),
		UpdatedAt: a.UpdatedAt, CreatedAt: a.CreatedAt, Deleted: a.DeletedAt != nil, Consent: a.DirectoryConsent,
		Status: a.Status, Country: a.Address.Country, City: a.Address.City, Industry: a.Employment.Industry,
		Employer: a.Employment.Employer, Degrees: a.Degrees, Tags: a.Tags, terms: alumni.Terms(a.Fields),
	}
}

// Put adds docs to the index, replacing the records' earlier versions.
func (x *Index) Put(docs ...*Doc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range docs {
		if old := x.docs[d.Key]; old != nil {
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
		if old := x.docs[k]; old != nil {
			x.remove(old)
		}
	}
}

func (x *Index) add(d *Doc) {
	k := d.Key
	x.docs[k] = d
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
		x.year.add(yearKey(g.GraduationYear), k)
	}
	if len(d.Degrees) > 0 {
		x.withDegree.Add(k)
	}
	for _, t := range d.terms {
		kind := kindIndex(t.Kind)
		ps := x.words[t.Word]
		if ps == nil {
			ps = &postings{}
			x.words[t.Word] = ps
			x.wordTree.ReplaceOrInsert(t.Word)
		}
		ps.add(kind, t.Weight, k)
	}
	for p, w := range prefixWeights(d.terms) {
		ps := x.prefixes[p.prefix]
		if ps == nil {
			ps = &postings{}
			x.prefixes[p.prefix] = ps
		}
		ps.add(p.kind, w, k)
	}
	x.byName.ReplaceOrInsert(d)
	x.byYear.ReplaceOrInsert(d)
	x.byUpdated.ReplaceOrInsert(d)
}

func (x *Index) remove(d *Doc) {
	k := d.Key
	delete(x.docs, k)
	for _, bm := range []*roaring.Bitmap{x.all, x.deleted, x.consent, x.listed, x.withDegree} {
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
		x.year.remove(yearKey(g.GraduationYear), k)
	}
	for _, t := range d.terms {
		if ps := x.words[t.Word]; ps != nil {
			ps.remove(kindIndex(t.Kind), t.Weight, k)
		}
	}
	for p, w := range prefixWeights(d.terms) {
		if ps := x.prefixes[p.prefix]; ps != nil {
			ps.remove(p.kind, w, k)
		}
	}
	x.byName.Delete(d)
	x.byYear.Delete(d)
	x.byUpdated.Delete(d)
}

type prefixKind struct {
	prefix string
	kind   int
}

// prefixWeights returns, for each prefix of up to maxPrefix runes of the words of terms and
// each kind, the weight of the best word with that prefix.
func prefixWeights(terms []alumni.Term) map[prefixKind]int {
	out := make(map[prefixKind]int, len(terms)*maxPrefix)
	for _, t := range terms {
		kind := kindIndex(t.Kind)
		n := 0
		for i := range t.Word {
			if n == maxPrefix {
				break
			}
			n++
			_ = i
			end := len(t.Word)
			if j := nthRuneEnd(t.Word, n); j >= 0 {
				end = j
			}
			k := prefixKind{t.Word[:end], kind}
			if w, ok := out[k]; !ok || t.Weight > w {
				out[k] = t.Weight
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

func yearKey(y int) string {
	if y == 0 {
		return ""
	}
	return string(rune('0'+y/1000%10)) + string(rune('0'+y/100%10)) + string(rune('0'+y/10%10)) + string(rune('0'+y%10))
}

// cityKey is the value of the city dimension: the country and the city, as alumni_stats keeps
// it ("" without a city).
func cityKey(d *Doc) string {
	if d.City == "" {
		return ""
	}
	return d.Country + "\t" + d.City
}
