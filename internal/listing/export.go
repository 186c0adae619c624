package listing

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/database"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
)

// An export reads every record matching a filter, in key order (the order of creation), a
// chunk at a time: each chunk is its own short query on a connection taken from the pool and
// given back at once, so a slow reader of the export holds no connection and no transaction
// between chunks. The next chunk is read while the caller handles the current one, never more
// than one ahead, so memory stays at about two chunks whatever the number of records.

// DefaultExportChunk is the number of records an export reads per query unless
// SetExportChunk says otherwise.
const DefaultExportChunk = 2000

// SetExportChunk sets the number of records an export reads per query (n > 0).
func (s *Reader) SetExportChunk(n int) {
	if n > 0 {
		s.exportChunk = n
	}
}

var errExportForbidden = derrors.New(derrors.Forbidden, "Your role may not export records.")

// chunk is one chunk of an export and the buffers it is read into, which the next chunk but
// one reuses (fn has finished with them by then).
type chunk struct {
	items []alumni.Alumnus
	keys  []int64 // the key of each item
	text  arena   // the text of the items
	// the degrees and tags of the items, in key order, with their owners' keys
	degrees   []alumni.Degree
	tags      []string
	owners    []int64
	childText arena
	err       error
}

// Export calls fn with the records matching f, as p may see them (alumni.Redact), in chunks of up to
// the export chunk size in key order, and returns the number of records handed to fn without
// error. fn must not keep the records after it returns: their memory is reused. Export stops
// at the first error: fn's, the database's or ctx's, returned as is. Before fn is first
// called it returns Forbidden for a role that may not export (alumni.CanExport) or a filter p may not
// use, and Malformed for a bad filter.
func (s *Reader) Export(ctx context.Context, p auth.Principal, f Filter, fn func([]alumni.Alumnus) error) (_ int, err error) {
	defer database.ClassifyErr(&err)
	if !alumni.CanExport(p) {
		return 0, errExportForbidden
	}
	if err := prepare(p, &f); err != nil {
		return 0, err
	}
	// The index finds the records once; each chunk reads the next of them.
	if err := s.sync(ctx); err != nil {
		return 0, err
	}
	found := s.index.Keys(f.query())
	if len(found) == 0 {
		return 0, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan *chunk) // unbuffered: the reader is at most one chunk ahead
	free := make(chan *chunk, 2)
	done := make(chan struct{})
	defer func() {
		cancel()
		<-done // no query outlives Export
	}()
	go func() {
		defer close(done)
		defer close(chunks)
		for {
			var c *chunk
			select {
			case c = <-free:
			default:
				c = &chunk{}
			}
			n := min(len(found), s.exportChunk)
			var keys []uint32
			keys, found = found[:n], found[n:]
			c.err = s.readChunk(ctx, p, f, keys, c)
			more := c.err == nil && len(found) > 0
			select {
			case chunks <- c:
			case <-ctx.Done():
				return
			}
			if !more {
				return
			}
		}
	}()
	n := 0
	for c := range chunks {
		if c.err != nil {
			return n, c.err
		}
		if len(c.items) == 0 { // a chunk whose records have all left the filter's scope since
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := fn(c.items); err != nil {
			return n, err
		}
		n += len(c.items)
		select {
		case free <- c:
		default:
		}
	}
	return n, ctx.Err()
}

// exportColumns are the alumni columns an export reads, in the order readChunk scans them:
// the key, the version, the five flags as bits of one number, the times, then exportText.
const exportColumns = "a.id, a.version, " +
	"a.directory_consent | a.do_not_email << 1 | a.do_not_mail << 2 | a.do_not_phone << 3 | a.do_not_sms << 4, " +
	"a.created_at, a.updated_at, a.deleted_at, " +
	"a.public_id, a.student_id, a.first_name, a.last_name, a.preferred_name, a.enrolled_name, a.email, a.work_email, " +
	"a.phone, a.address_line1, a.address_line2, a.city, a.region, a.postal_code, a.country, a.employer, a.job_title, " +
	"a.industry, a.linkedin_url, a.website_url, a.status, a.notes"

// exportTextColumns is the number of text columns of exportColumns.
const exportTextColumns = 22

// exportText are the text fields of a record in the order of exportColumns (NULL is "").
func exportText(a *alumni.Alumnus) [exportTextColumns]*string {
	return [...]*string{&a.ID, &a.StudentID, &a.FirstName, &a.LastName, &a.PreferredName, &a.EnrolledName, &a.Email, &a.WorkEmail,
		&a.Phone, &a.Address.Line1, &a.Address.Line2, &a.Address.City, &a.Address.Region, &a.Address.PostalCode, &a.Address.Country,
		&a.Employment.Employer, &a.Employment.JobTitle, &a.Employment.Industry, &a.LinkedInURL, &a.WebsiteURL,
		(*string)(&a.Status), &a.Notes}
}

// arena gathers the text of a chunk in one buffer, so that the strings of a chunk cost no
// allocation each (they are made, and dropped, together): add each value, then take them back
// as strings by the order they were added in.
type arena struct {
	b     strings.Builder // String() shares the builder's buffer: no copy
	spans []uint32        // end of each value
	text  string
}

// reset empties r for the next chunk, keeping the room the last one needed. The strings it
// gave stay valid: they keep the old buffer.
func (r *arena) reset() {
	size := r.b.Len()
	r.b = strings.Builder{}
	r.b.Grow(size + size/8)
	r.spans, r.text = r.spans[:0], ""
}

func (r *arena) add(b []byte) {
	r.b.Write(b)
	r.spans = append(r.spans, uint32(r.b.Len())) //nolint:gosec // a chunk's text is far below 4 GiB
}

// done makes the strings; add must not be called after it.
func (r *arena) done() { r.text = r.b.String() }

// get returns the i-th value added.
func (r *arena) get(i int) string {
	start := uint32(0)
	if i > 0 {
		start = r.spans[i-1]
	}
	return r.text[start:r.spans[i]]
}

// readChunk reads into c the records of keys (ascending) that are still within the prepared
// filter f's scope (Filter.admits), with their degrees and tags, as p may see them.
func (s *Reader) readChunk(ctx context.Context, p auth.Principal, f Filter, keys []uint32, c *chunk) error {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	var q sqlText
	q.add("SELECT "+exportColumns+" FROM alumni a WHERE a.id IN ("+database.Placeholders(len(keys))+") ORDER BY a.id", args...)
	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return fmt.Errorf("export alumni: %w", err)
	}
	defer rows.Close()
	c.items, c.keys = c.items[:0], c.keys[:0]
	c.text.reset()
	var key, version, flags int64
	var created, updated time.Time
	var deleted sql.NullTime
	raw := make([]sql.RawBytes, exportTextColumns)
	dest := []any{&key, &version, &flags, &created, &updated, &deleted}
	for i := range raw {
		dest = append(dest, &raw[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("export alumni: %w", err)
		}
		for _, b := range raw {
			c.text.add(b)
		}
		a := alumni.Alumnus{
			Version: int(version), CreatedAt: created, UpdatedAt: updated,
			Fields: alumni.Fields{
				DirectoryConsent: flags&1 != 0,
				ContactPermissions: alumni.ContactPermissions{
					DoNotEmail: flags&2 != 0, DoNotMail: flags&4 != 0, DoNotPhone: flags&8 != 0, DoNotSMS: flags&16 != 0,
				},
				Degrees: []alumni.Degree{}, Tags: []string{},
			},
		}
		if deleted.Valid {
			t := deleted.Time
			a.DeletedAt = &t
		}
		c.items = append(c.items, a)
		c.keys = append(c.keys, key)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export alumni: %w", err)
	}
	_ = rows.Close() // give the connection back before the next queries
	if len(c.items) == 0 {
		return nil
	}
	c.text.done()
	for i := range c.items {
		for j, field := range exportText(&c.items[i]) {
			*field = c.text.get(i*exportTextColumns + j)
		}
	}
	kept := 0
	for i, a := range c.items {
		if f.admits(a) {
			c.items[kept], c.keys[kept] = a, c.keys[i]
			kept++
		}
	}
	if c.items, c.keys = c.items[:kept], c.keys[:kept]; kept == 0 {
		return nil
	}
	if err := s.exportChildren(ctx, c); err != nil {
		return err
	}
	for i := range c.items {
		c.items[i] = alumni.Redact(p, c.items[i])
	}
	return nil
}

// exportChildren adds their degrees and tags to the items of c. When the keys are dense (most
// records between the first and the last are in the chunk) the children are read as one key
// range, else by the list of keys. Both are read in key order, like the items, and merged in
// one pass; children of keys not in the chunk (a range holds the records the filter left out)
// are skipped.
func (s *Reader) exportChildren(ctx context.Context, c *chunk) error {
	keys := c.keys
	// children is the statement "select … from table where <the chunk's keys> order by …".
	children := func(selectFrom, orderBy string) *sqlText {
		q := &sqlText{}
		q.add(selectFrom + " WHERE ")
		if first, last := keys[0], keys[len(keys)-1]; last-first < 2*int64(len(keys)) {
			q.add("alumnus_id BETWEEN ? AND ?", first, last)
		} else {
			args := make([]any, len(keys))
			for i, k := range keys {
				args[i] = k
			}
			q.add("alumnus_id IN ("+database.Placeholders(len(keys))+")", args...)
		}
		return q.add(" ORDER BY " + orderBy)
	}

	q := children("SELECT alumnus_id, graduation_year, COALESCE(preferred_class_year, 0), is_primary, degree, program, faculty "+
		"FROM degrees", "alumnus_id, position")
	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return fmt.Errorf("export degrees: %w", err)
	}
	defer rows.Close()
	c.childText.reset()
	c.degrees, c.owners = c.degrees[:0], c.owners[:0]
	var owner, year, preferred int64
	var raw [3]sql.RawBytes
	for rows.Next() {
		var d alumni.Degree
		if err := rows.Scan(&owner, &year, &preferred, &d.Primary, &raw[0], &raw[1], &raw[2]); err != nil {
			return fmt.Errorf("export degrees: %w", err)
		}
		d.GraduationYear, d.PreferredClassYear = int(year), int(preferred)
		for _, b := range raw {
			c.childText.add(b)
		}
		c.degrees = append(c.degrees, d)
		c.owners = append(c.owners, owner)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export degrees: %w", err)
	}
	_ = rows.Close()
	c.childText.done()
	degrees := c.degrees
	for i := range degrees {
		degrees[i].Degree, degrees[i].Program, degrees[i].Faculty = c.childText.get(3*i), c.childText.get(3*i+1), c.childText.get(3*i+2)
	}
	merge(keys, c.owners, func(item, from, to int) { c.items[item].Degrees = degrees[from:to:to] })

	q = children("SELECT alumnus_id, tag FROM alumni_tags", "alumnus_id, tag")
	rows, err = s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return fmt.Errorf("export tags: %w", err)
	}
	defer rows.Close()
	c.childText.reset()
	c.owners = c.owners[:0]
	for rows.Next() {
		if err := rows.Scan(&owner, &raw[0]); err != nil {
			return fmt.Errorf("export tags: %w", err)
		}
		c.childText.add(raw[0])
		c.owners = append(c.owners, owner)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export tags: %w", err)
	}
	c.childText.done()
	c.tags = slices.Grow(c.tags[:0], len(c.owners))[:len(c.owners)]
	tags := c.tags
	for i := range tags {
		tags[i] = c.childText.get(i)
	}
	merge(keys, c.owners, func(item, from, to int) { c.items[item].Tags = tags[from:to:to] })
	return nil
}

// merge calls set(i, from, to) for each key i with children: owners[from:to] are keys[i]
// (both ascending; owners not among keys are skipped).
func merge(keys, owners []int64, set func(item, from, to int)) {
	i := 0
	for from := 0; from < len(owners); {
		to := from + 1
		for to < len(owners) && owners[to] == owners[from] {
			to++
		}
		for i < len(keys) && keys[i] < owners[from] {
			i++
		}
		if i == len(keys) {
			return
		}
		if keys[i] == owners[from] {
			set(i, from, to)
		}
		from = to
	}
}
