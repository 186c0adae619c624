package searchindex

import (
	"bytes"
	"encoding/binary"
)

// docTable holds what the index keeps of each record, by key, in pages of slots that hold no
// pointers: a million records are a few hundred allocations that the garbage collector never
// scans, rather than millions of small objects it would visit on every cycle. A record's
// strings are numbers in the index's tables (values, names); its degrees, tags and words are
// spans of the index's arenas. The hot loops (a sort over a hundred thousand matches, a facet
// over all of them) read an array rather than hash a map, and sparse keys cost a page each
// rather than a slot each.
type docTable struct {
	pages [][]docSlot
	// abbrevs are the slots' name abbreviations (docSlot.name) again, by page, dense: a sort
	// over a hundred thousand matches reads eight bytes of each, sixteen to a cache line,
	// rather than a slot each.
	abbrevs [][]uint64
	n       int
}

// docSlot is one record. Every field is a plain value.
type docSlot struct {
	// name is the first bytes of the last name's collation key (nameAbbrev), enough to decide
	// most name comparisons without reading the names' keys.
	name uint64
	// vals are the record's values of the single-valued dimensions, by their number in the
	// dimension's values (values.id): a count over many records reads these.
	vals                 [columns]uint32
	last, first          uint32 // in Index.names
	updatedAt, createdAt int64  // Unix nanoseconds
	classYear            int32
	// facts are the record's values of the report dimensions that are conditions (how it can
	// be reached, what it lacks), one bit each (factBits).
	facts                     uint16
	present, deleted, consent bool
	publicID                  [publicIDLen]byte
	degrees, tags, terms      span // in Index.degreeRows, Index.tagIDs, Index.termIDs
}

// publicIDLen is the length of a public id (a ULID; alumni.public_id is CHAR(26)).
const publicIDLen = 26

// id returns the record's public id.
func (s *docSlot) id() string { return string(bytes.TrimRight(s.publicID[:], "\x00")) }

// degreeRow is one degree of a record: its values by number in the index's values (0 for none).
type degreeRow struct {
	degree, program, faculty uint32
	year                     int32
}

// The single-valued dimensions kept in docSlot.vals.
const (
	colCountry = iota
	colCity
	colIndustry
	colEmployer
	colStatus
	colCreated
	colUpdated
	columns
)

const docPageBits = 12 // 4,096 docs a page

// slot returns the record with key k, or nil.
func (t *docTable) slot(k uint32) *docSlot {
	p := int(k >> docPageBits)
	if p >= len(t.pages) || t.pages[p] == nil {
		return nil
	}
	if s := &t.pages[p][k&(1<<docPageBits-1)]; s.present {
		return s
	}
	return nil
}

// abbrev returns the name abbreviation of the record with key k (0 for none).
func (t *docTable) abbrev(k uint32) uint64 {
	p := int(k >> docPageBits)
	if p >= len(t.abbrevs) || t.abbrevs[p] == nil {
		return 0
	}
	return t.abbrevs[p][k&(1<<docPageBits-1)]
}

func (t *docTable) put(k uint32, s docSlot) {
	p := int(k >> docPageBits)
	if p >= len(t.pages) {
		t.pages = append(t.pages, make([][]docSlot, p+1-len(t.pages))...)
		t.abbrevs = append(t.abbrevs, make([][]uint64, p+1-len(t.abbrevs))...)
	}
	if t.pages[p] == nil {
		t.pages[p] = make([]docSlot, 1<<docPageBits)
		t.abbrevs[p] = make([]uint64, 1<<docPageBits)
	}
	at := &t.pages[p][k&(1<<docPageBits-1)]
	if !at.present {
		t.n++
	}
	s.present = true
	*at = s
	t.abbrevs[p][k&(1<<docPageBits-1)] = s.name
}

func (t *docTable) delete(k uint32) {
	if s := t.slot(k); s != nil {
		*s = docSlot{}
		t.abbrevs[k>>docPageBits][k&(1<<docPageBits-1)] = 0
		t.n--
	}
}

func (t *docTable) len() uint64 { return uint64(t.n) } //nolint:gosec // a count, never negative

// each calls f with every record's key and slot, in key order.
func (t *docTable) each(f func(k uint32, s *docSlot)) {
	for p, page := range t.pages {
		for i := range page {
			if s := &page[i]; s.present {
				f(uint32(p<<docPageBits|i), s) //nolint:gosec // keys are below 2^32
			}
		}
	}
}

// nameAbbrev is the first eight bytes of a last name's collation key, zero-padded: if a comes
// before b in name order, nameAbbrev(a) <= nameAbbrev(b), so a difference decides the
// comparison and only equal abbreviations need the keys.
func nameAbbrev(key []byte) uint64 {
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// span is where a record's items start in an arena and how many there are.
type span struct {
	page, off, n uint32
}

// arenaPage is how many items an arena allocates at a time.
const arenaPage = 1 << 16

// arena holds the variable-length parts of the records (degrees, tags, words) end to end in
// pages, so that they cost neither an allocation nor a pointer each. A record's new version
// takes a new span; the old one is waste until compact copies the live spans into new pages.
type arena[T any] struct {
	pages [][]T
	live  int // items in the spans of records
	waste int // items of spans given up
}

// add copies items into the arena and returns their span.
func (a *arena[T]) add(items []T) span {
	if len(items) == 0 {
		return span{}
	}
	last := len(a.pages) - 1
	if last < 0 || cap(a.pages[last])-len(a.pages[last]) < len(items) {
		a.pages = append(a.pages, make([]T, 0, max(arenaPage, len(items))))
		last++
	}
	page := a.pages[last]
	s := span{page: uint32(last), off: uint32(len(page)), n: uint32(len(items))} //nolint:gosec // small
	a.pages[last] = append(page, items...)
	a.live += len(items)
	return s
}

// get returns the items of s. The caller must not keep them past a change to the index.
func (a *arena[T]) get(s span) []T {
	if s.n == 0 {
		return nil
	}
	return a.pages[s.page][s.off : s.off+s.n : s.off+s.n]
}

// free gives up the items of s.
func (a *arena[T]) free(s span) {
	a.live -= int(s.n)
	a.waste += int(s.n)
}

// wasteful reports whether the items given up outnumber the live ones (and are worth a
// compaction: at least minWaste).
func (a *arena[T]) wasteful(minWaste int) bool { return a.waste >= minWaste && a.waste > a.live }
