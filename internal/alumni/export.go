package alumni

import (
	"context"
	"fmt"

	"github.com/alumnid/alumnid/gen/db"
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
func (s *Store) SetExportChunk(n int) {
	if n > 0 {
		s.exportChunk = n
	}
}

var errExportForbidden = derrors.New(derrors.Forbidden, "Your role may not export records.")

// chunk is one chunk of an export, or the error that ended it.
type chunk struct {
	items []Alumnus
	err   error
}

// Export calls fn with the records matching f, as p may see them (Redact), in chunks of up to
// the export chunk size in key order, and returns the number of records handed to fn without
// error. It stops at the first error: fn's, the database's or ctx's, returned as is. Before
// fn is first called it returns Forbidden for a role that may not export (CanExport) or a
// filter p may not use, and Malformed for a bad filter.
func (s *Store) Export(ctx context.Context, p auth.Principal, f Filter, fn func([]Alumnus) error) (int, error) {
	if !CanExport(p) {
		return 0, errExportForbidden
	}
	if err := prepare(p, &f); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan chunk) // unbuffered: the reader is at most one chunk ahead
	done := make(chan struct{})
	defer func() {
		cancel()
		<-done // no query outlives Export
	}()
	go func() {
		defer close(done)
		defer close(chunks)
		var after int64
		for {
			items, last, err := s.readChunk(ctx, p, f, after)
			select {
			case chunks <- chunk{items, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(items) < s.exportChunk {
				return
			}
			after = last
		}
	}()
	n := 0
	for c := range chunks {
		if c.err != nil {
			return n, c.err
		}
		if len(c.items) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := fn(c.items); err != nil {
			return n, err
		}
		n += len(c.items)
	}
	return n, ctx.Err()
}

// exportColumns are the alumni columns an export reads, in the order readChunk scans them.
// Unknown values (NULL) are read as "".
const exportColumns = "a.id, a.public_id, a.version, COALESCE(a.student_id, ''), a.first_name, a.last_name, " +
	"COALESCE(a.preferred_name, ''), COALESCE(a.enrolled_name, ''), COALESCE(a.email, ''), COALESCE(a.work_email, ''), " +
	"COALESCE(a.phone, ''), COALESCE(a.address_line1, ''), COALESCE(a.address_line2, ''), COALESCE(a.city, ''), " +
	"COALESCE(a.region, ''), COALESCE(a.postal_code, ''), COALESCE(a.country, ''), COALESCE(a.employer, ''), " +
	"COALESCE(a.job_title, ''), COALESCE(a.industry, ''), COALESCE(a.linkedin_url, ''), COALESCE(a.website_url, ''), " +
	"a.directory_consent, a.do_not_email, a.do_not_mail, a.do_not_phone, a.do_not_sms, a.status, COALESCE(a.notes, ''), " +
	"a.created_at, a.updated_at, a.deleted_at"

// readChunk reads up to s.exportChunk records matching the prepared filter f with keys after
// after, with their degrees and tags, as p may see them, and returns them with the key of the
// last one.
func (s *Store) readChunk(ctx context.Context, p auth.Principal, f Filter, after int64) ([]Alumnus, int64, error) {
	var q sqlText
	q.add("SELECT " + exportColumns + " FROM alumni a")
	c := where(f)
	c.add("a.id > ?", after)
	c.writeTo(&q)
	q.add(" ORDER BY a.id LIMIT ?", s.exportChunk)
	rows, err := s.db.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("export alumni: %w", err)
	}
	defer rows.Close()
	items := make([]Alumnus, 0, s.exportChunk)
	keys := make([]int64, 0, s.exportChunk)
	for rows.Next() {
		var a Alumnus
		var key int64
		var status string
		if err := rows.Scan(&key, &a.ID, &a.Version, &a.StudentID, &a.FirstName, &a.LastName,
			&a.PreferredName, &a.EnrolledName, &a.Email, &a.WorkEmail,
			&a.Phone, &a.Address.Line1, &a.Address.Line2, &a.Address.City,
			&a.Address.Region, &a.Address.PostalCode, &a.Address.Country, &a.Employment.Employer,
			&a.Employment.JobTitle, &a.Employment.Industry, &a.LinkedInURL, &a.WebsiteURL,
			&a.DirectoryConsent, &a.ContactPermissions.DoNotEmail, &a.ContactPermissions.DoNotMail,
			&a.ContactPermissions.DoNotPhone, &a.ContactPermissions.DoNotSMS, &status, &a.Notes,
			&a.CreatedAt, &a.UpdatedAt, &a.DeletedAt); err != nil {
			return nil, 0, fmt.Errorf("export alumni: %w", err)
		}
		a.Status = Status(status)
		a.Degrees, a.Tags = []Degree{}, []string{}
		items = append(items, a)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("export alumni: %w", err)
	}
	_ = rows.Close() // give the connection back before the next queries
	if len(items) == 0 {
		return items, after, nil
	}
	if err := s.exportChildren(ctx, keys, items); err != nil {
		return nil, 0, err
	}
	for i := range items {
		items[i] = Redact(p, items[i])
	}
	return items, keys[len(keys)-1], nil
}

// exportChildren adds their degrees and tags to items, whose keys are keys (ascending). When
// the keys are dense (most records between the first and the last are in the chunk) the
// children are read as one key range, else by the list of keys.
func (s *Store) exportChildren(ctx context.Context, keys []int64, items []Alumnus) error {
	q := db.New(s.db)
	first, last := keys[0], keys[len(keys)-1]
	dense := last-first < 2*int64(len(keys))
	var degrees []db.Degree
	var tags []db.AlumniTag
	var err error
	if dense {
		degrees, err = q.ListDegreesBetween(ctx, db.ListDegreesBetweenParams{FirstID: first, LastID: last})
	} else {
		degrees, err = q.ListDegrees(ctx, keys)
	}
	if err != nil {
		return fmt.Errorf("export degrees: %w", err)
	}
	if dense {
		tags, err = q.ListTagsBetween(ctx, db.ListTagsBetweenParams{FirstID: first, LastID: last})
	} else {
		tags, err = q.ListTags(ctx, keys)
	}
	if err != nil {
		return fmt.Errorf("export tags: %w", err)
	}
	// Both lists are in key order, like items: merge them in one pass. Children of keys not
	// in the chunk (a range holds records the filter left out) are skipped.
	i := 0
	for _, d := range degrees {
		for i < len(keys) && keys[i] < d.AlumnusID {
			i++
		}
		if i == len(keys) {
			break
		}
		if keys[i] == d.AlumnusID {
			items[i].Degrees = append(items[i].Degrees, fromDegreeRow(d))
		}
	}
	i = 0
	for _, t := range tags {
		for i < len(keys) && keys[i] < t.AlumnusID {
			i++
		}
		if i == len(keys) {
			break
		}
		if keys[i] == t.AlumnusID {
			items[i].Tags = append(items[i].Tags, t.Tag)
		}
	}
	return nil
}
