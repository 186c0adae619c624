package searchindex

import "encoding/binary"

// docTable holds the docs by key in pages, so that the hot loops (a sort over a hundred
// thousand matches, a facet over all of them) read an array rather than hash a map, and
// sparse keys cost a page each rather than a slot each. Beside each doc it keeps the first
// bytes of its name's collation key, enough to decide most name comparisons without
// reading the doc.
type docTable struct {
	pages [][]docSlot
	n     int
}

type docSlot struct {
	doc  *Doc
	name uint64 // nameAbbrev(doc)
	// vals are the doc's values of the single-valued dimensions, by their number in the
	// dimension's values (values.id): a count over many records reads these, not the docs.
	vals [columns]uint32
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

func (t *docTable) slot(k uint32) *docSlot {
	p := int(k >> docPageBits)
	if p >= len(t.pages) || t.pages[p] == nil {
		return nil
	}
	return &t.pages[p][k&(1<<docPageBits-1)]
}

// get returns the doc with key k, or nil.
func (t *docTable) get(k uint32) *Doc {
	if s := t.slot(k); s != nil {
		return s.doc
	}
	return nil
}

func (t *docTable) put(d *Doc, vals [columns]uint32) {
	p := int(d.Key >> docPageBits)
	if p >= len(t.pages) {
		t.pages = append(t.pages, make([][]docSlot, p+1-len(t.pages))...)
	}
	if t.pages[p] == nil {
		t.pages[p] = make([]docSlot, 1<<docPageBits)
	}
	s := &t.pages[p][d.Key&(1<<docPageBits-1)]
	if s.doc == nil {
		t.n++
	}
	*s = docSlot{doc: d, name: nameAbbrev(d), vals: vals}
}

func (t *docTable) delete(k uint32) {
	if s := t.slot(k); s != nil && s.doc != nil {
		*s = docSlot{}
		t.n--
	}
}

func (t *docTable) len() uint64 { return uint64(t.n) } //nolint:gosec // a count, never negative

// nameAbbrev is the first eight bytes of d's last-name collation key, zero-padded: if a comes
// before b in name order, nameAbbrev(a) <= nameAbbrev(b), so a difference decides the
// comparison and only equal abbreviations need the keys.
func nameAbbrev(d *Doc) uint64 {
	var b [8]byte
	copy(b[:], d.LastKey)
	return binary.BigEndian.Uint64(b[:])
}
