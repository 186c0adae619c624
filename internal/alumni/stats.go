package alumni

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/search"
)

// The summary table alumni_stats counts live and deleted records by the value of each
// dimension below. Every write adds the counts of the record's new state and subtracts those of
// its old state in its own transaction, so the counts are always those of the committed
// records. Counters are updated in key order, so concurrent writers never deadlock on them.

// Dimensions of alumni_stats.
const (
	DimStatus       = "status"
	DimContact      = "contact"  // email, mail, phone, sms: reachable on that channel; none
	DimClassYear    = "year"     // graduation year of any degree (a person counts once per year)
	DimProgram      = "program"  // program of any degree (once per person)
	DimFaculty      = "faculty"  // faculty of any degree (once per person)
	DimCountry      = "country"  // country code
	DimCity         = "city"     // country code, tab, city
	DimIndustry     = "industry" // industry
	DimEmployer     = "employer" // employer
	DimCreated      = "created"  // month of creation, YYYY-MM
	DimUpdated      = "updated"  // month of the last change, YYYY-MM
	DimQuality      = "quality"  // missing_email, no_employment, no_degree, no_address
	DimNameYear     = "nameyear" // last name, tab, first name, tab, class year, of live records
	DimDuplicates   = "dup"      // groups: live name-year values held by more than one record; records: the records in them
	maxStatValueLen = 220
)

// statColumns are the alumni_stats columns of a delta row.
var statColumns = []string{"dim", "value", "deleted", "consent", "listed", "n"}

type statKey struct {
	dim, value               string
	deleted, consent, listed bool
}

// statDelta is a change to the counters, keyed by counter.
type statDelta map[statKey]int64

// add counts (sign +1) or uncounts (-1) a record with fields f, created at created, last
// changed at updated, deleted or not.
func (d statDelta) add(sign int64, f Fields, created, updated time.Time, deleted bool) {
	for _, v := range StatValues(f, created, updated) {
		k := statKey{dim: v.Dim, value: truncateStat(v.Value), deleted: deleted,
			consent: f.DirectoryConsent, listed: f.DirectoryConsent && f.Status != StatusDeceased}
		if v.Dim == DimNameYear { // names are no secret; only the office's and viewers' reports use it
			if deleted {
				continue
			}
			k.consent, k.listed = false, false
		}
		d[k] += sign
	}
}

// DimValue is one value of a dimension a record counts under.
type DimValue struct{ Dim, Value string }

// StatValues returns the values a record with fields f, created at created and last changed
// at updated, counts under in each dimension (a person once per value): what the summary
// counts and the search index's reports count by.
func StatValues(f Fields, created, updated time.Time) []DimValue {
	var out []DimValue
	put := func(dim, value string) {
		if value != "" {
			out = append(out, DimValue{dim, value})
		}
	}
	put(DimStatus, string(f.Status))
	reachable := false
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"email", (f.Email != "" || f.WorkEmail != "") && !f.ContactPermissions.DoNotEmail},
		{"mail", f.Address.Line1 != "" && !f.ContactPermissions.DoNotMail},
		{"phone", f.Phone != "" && !f.ContactPermissions.DoNotPhone},
		{"sms", f.Phone != "" && !f.ContactPermissions.DoNotSMS},
	} {
		if c.ok && f.Status != StatusDeceased {
			put(DimContact, c.name)
			reachable = true
		}
	}
	if !reachable {
		put(DimContact, "none")
	}
	years, programs, faculties := map[int]bool{}, map[string]bool{}, map[string]bool{}
	for _, dg := range f.Degrees {
		if !years[dg.GraduationYear] {
			years[dg.GraduationYear] = true
			put(DimClassYear, strconv.Itoa(dg.GraduationYear))
		}
		if !programs[dg.Program] {
			programs[dg.Program] = true
			put(DimProgram, dg.Program)
		}
		if dg.Faculty != "" && !faculties[dg.Faculty] {
			faculties[dg.Faculty] = true
			put(DimFaculty, dg.Faculty)
		}
	}
	put(DimCountry, f.Address.Country)
	if f.Address.City != "" {
		put(DimCity, f.Address.Country+"\t"+f.Address.City)
	}
	put(DimIndustry, f.Employment.Industry)
	put(DimEmployer, f.Employment.Employer)
	put(DimCreated, created.UTC().Format("2006-01"))
	put(DimUpdated, updated.UTC().Format("2006-01"))
	if f.Email == "" {
		put(DimQuality, "missing_email")
	}
	if f.Employment.Employer == "" && f.Employment.JobTitle == "" {
		put(DimQuality, "no_employment")
	}
	if len(f.Degrees) == 0 {
		put(DimQuality, "no_degree")
	}
	if f.Address.Line1 == "" && f.Address.City == "" {
		put(DimQuality, "no_address")
	}
	// Folded, so that the same name counts as one value however it is written.
	put(DimNameYear, search.Fold(f.LastName)+"\t"+search.Fold(f.FirstName)+"\t"+strconv.Itoa(f.ClassYear()))
	return out
}

func truncateStat(v string) string {
	r := []rune(v)
	if len(r) > maxStatValueLen {
		return string(r[:maxStatValueLen])
	}
	return v
}

// apply writes the non-zero counters of d in key order.
func (d statDelta) apply(ctx context.Context, tx db.DBTX) error {
	keys := make([]statKey, 0, len(d))
	for k, n := range d {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b statKey) int {
		return cmp.Or(cmp.Compare(a.dim, b.dim), cmp.Compare(a.value, b.value),
			cmp.Compare(b2i(a.deleted), b2i(b.deleted)), cmp.Compare(b2i(a.consent), b2i(b.consent)),
			cmp.Compare(b2i(a.listed), b2i(b.listed)))
	})
	rows := make([][]any, len(keys))
	var nameYears []any
	for i, k := range keys {
		rows[i] = []any{k.dim, k.value, k.deleted, k.consent, k.listed, d[k]}
		if k.dim == DimNameYear {
			nameYears = append(nameYears, k.value)
		}
	}
	if err := database.UpsertAdd(ctx, tx, "alumni_stats", statColumns, "n", rows); err != nil {
		return fmt.Errorf("update alumni counts: %w", err)
	}
	return d.applyDuplicates(ctx, tx, nameYears)
}

// applyDuplicates keeps the duplicate counters in step with the name-year counts just changed
// (locked by this transaction): a value that reaches two records makes a group, one that
// falls back to one ends it.
func (d statDelta) applyDuplicates(ctx context.Context, tx db.DBTX, values []any) error {
	if len(values) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT value, n FROM alumni_stats WHERE dim = ? AND deleted = FALSE AND value IN ("+
		database.Placeholders(len(values))+")", append([]any{DimNameYear}, values...)...)
	if err != nil {
		return fmt.Errorf("read name counts: %w", err)
	}
	defer rows.Close()
	var groups, records int64
	for rows.Next() {
		var value string
		var now int64
		if err := rows.Scan(&value, &now); err != nil {
			return fmt.Errorf("read name counts: %w", err)
		}
		before := now - d[statKey{dim: DimNameYear, value: value}]
		groups += b2i64(now > 1) - b2i64(before > 1)
		records += dupRecords(now) - dupRecords(before)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read name counts: %w", err)
	}
	if groups == 0 && records == 0 {
		return nil
	}
	return database.UpsertAdd(ctx, tx, "alumni_stats", statColumns, "n", [][]any{
		{DimDuplicates, "groups", false, false, false, groups},
		{DimDuplicates, "records", false, false, false, records},
	})
}

func dupRecords(n int64) int64 {
	if n > 1 {
		return n
	}
	return 0
}

func b2i64(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// countNew adds a batch of new records to the counters, in the transaction tx that inserts
// them.
func countNew(ctx context.Context, tx db.DBTX, batch []Alumnus) error {
	d := statDelta{}
	for _, a := range batch {
		d.add(1, a.Fields, a.CreatedAt, a.UpdatedAt, a.DeletedAt != nil)
	}
	return d.apply(ctx, tx)
}

// RebuildStats recounts alumni_stats from the records, in one transaction that locks every
// record it has counted until it commits: changes to records wait for it (it takes seconds per
// 100,000 records), so run it at a quiet time (after a restore, or to repair the counts).
func (s *Store) RebuildStats(ctx context.Context, batch int) error {
	if batch <= 0 || batch > 10000 {
		batch = 1000
	}
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if _, err := tx.ExecContext(ctx, "DELETE FROM alumni_stats"); err != nil {
			return fmt.Errorf("clear alumni counts: %w", err)
		}
		var after int64
		for {
			rows, err := q.ListAlumniByKey(ctx, db.ListAlumniByKeyParams{After: after, Limit: int32(batch)}) //nolint:gosec // bounded above
			if err != nil {
				return fmt.Errorf("list alumni: %w", err)
			}
			if len(rows) == 0 {
				return nil
			}
			list, err := WithChildren(ctx, q, rows)
			if err != nil {
				return err
			}
			if err := countNew(ctx, tx, list); err != nil {
				return err
			}
			after = rows[len(rows)-1].ID
		}
	})
}

// RebuildDuplicateKeys writes the duplicate keys of every record again (the records written
// before the keys were kept, or after the rules that make them changed), batch records per
// transaction: each batch locks its records (ListAlumniByKey), so that a change to one of them
// waits rather than interleaves.
func (s *Store) RebuildDuplicateKeys(ctx context.Context, batch int) (err error) {
	defer database.ClassifyErr(&err)
	if batch <= 0 || batch > 10000 {
		batch = 1000
	}
	var after int64
	for done := false; !done; {
		err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
			q := db.New(tx)
			rows, err := q.ListAlumniByKey(ctx, db.ListAlumniByKeyParams{After: after, Limit: int32(batch)}) //nolint:gosec // bounded above
			if err != nil {
				return fmt.Errorf("list alumni: %w", err)
			}
			if len(rows) == 0 {
				done = true
				return nil
			}
			list, err := WithChildren(ctx, q, rows)
			if err != nil {
				return err
			}
			ids := make([]int64, len(rows))
			records := make([]recordKeys, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
				records[i] = recordKeys{r.ID, DuplicateKeys(list[i].Fields)}
			}
			if err := q.DeleteDuplicateKeysOf(ctx, ids); err != nil {
				return fmt.Errorf("delete duplicate keys: %w", err)
			}
			if err := writeDuplicateKeys(ctx, tx, records); err != nil {
				return err
			}
			after = rows[len(rows)-1].ID
			return nil
		}, database.RetryDeadlocks())
		if err != nil {
			return err
		}
	}
	return nil
}
