// Package seed generates deterministic, realistic synthetic alumni and bulk-loads them.
package seed

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"

	"github.com/brianvoe/gofakeit/v7"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/database"
)

// Options control a seed run.
type Options struct {
	Count     int    // alumni to create
	RandSeed  uint64 // the same seed and count give the same people
	BatchSize int    // rows per INSERT statement
	Now       time.Time
	// Duplicates is the share of the Count records that are a person of the run entered a
	// second time, with realistic differences (duplicates.go); 0 plants none and leaves the
	// people of a seed as they were.
	Duplicates float64
	// Planted, when set, is told each planted pair once both records are written.
	Planted func(Pair) error
}

// maxOriginals is how many of a run's recent people a planted duplicate is picked from.
const maxOriginals = 10_000

// Generator makes synthetic alumni, the same sequence for the same seed.
type Generator struct {
	rnd    *rand.Rand
	fake   *gofakeit.Faker
	now    time.Time
	picks  map[string]*weighted
	offset int
}

type weighted struct {
	cumulative []int
}

func newWeighted(weights []int) *weighted {
	w := &weighted{cumulative: make([]int, len(weights))}
	sum := 0
	for i, v := range weights {
		sum += v
		w.cumulative[i] = sum
	}
	return w
}

func (w *weighted) pick(r *rand.Rand) int {
	n := r.IntN(w.cumulative[len(w.cumulative)-1])
	for i, c := range w.cumulative {
		if n < c {
			return i
		}
	}
	return len(w.cumulative) - 1
}

// NewGenerator returns a generator whose people are numbered from offset+1, so that ids and
// emails do not collide with an earlier run's.
func NewGenerator(seed uint64, offset int, now time.Time) *Generator {
	g := &Generator{
		rnd:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // synthetic data must be reproducible, not secret
		fake:   gofakeit.New(seed),
		now:    now,
		offset: offset,
		picks:  map[string]*weighted{},
	}
	g.picks["culture"] = newWeighted(cultureWeights)
	pw := make([]int, len(places))
	for i, p := range places {
		pw[i] = p.weight
	}
	g.picks["place"] = newWeighted(pw)
	fw := make([]int, len(faculties))
	for i, f := range faculties {
		fw[i] = f.weight
	}
	g.picks["faculty"] = newWeighted(fw)
	g.picks["industry"] = newWeighted(industryWeights)
	g.picks["tag"] = newWeighted(tagWeights)
	return g
}

func (g *Generator) chance(p float64) bool { return g.rnd.Float64() < p }

func oneOf[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// stripMarks removes accents; a transformer keeps state, so every use makes its own.
func stripMarks() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// asciiLocal makes an email local part from a name: "José O'Brien" -> "jose.obrien".
func asciiLocal(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		s, _, _ := transform.String(stripMarks(), p)
		if i > 0 {
			b.WriteByte('.')
		}
		for _, r := range strings.ToLower(s) {
			if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// graduationYear is skewed to recent years, as cohorts grow and older alumni are fewer.
func (g *Generator) graduationYear() int {
	latest := g.now.Year() - 1
	back := int(g.rnd.ExpFloat64() * 14)
	return max(latest-back, 1950)
}

// Next returns the n-th person of the sequence (n counts from 1 past the offset).
func (g *Generator) Next(n int) alumni.Fields {
	n += g.offset
	c := cultures[g.picks["culture"].pick(g.rnd)]
	f := alumni.Fields{
		FirstName: oneOf(g.rnd, c.first),
		LastName:  oneOf(g.rnd, c.last),
		Status:    alumni.StatusActive,
	}
	if g.chance(0.08) {
		f.PreferredName = oneOf(g.rnd, cultures[0].first)
	}

	// Degrees: most have one, some two or three; later degrees come later.
	count := 1
	if g.chance(0.18) {
		count = 2
		if g.chance(0.15) {
			count = 3
		}
	}
	year := g.graduationYear() - 4*(count-1)
	for i := range count {
		fac := faculties[g.picks["faculty"].pick(g.rnd)]
		d := alumni.Degree{
			Degree:         fac.degrees[min(i+g.rnd.IntN(2), len(fac.degrees)-1)],
			Program:        oneOf(g.rnd, fac.programs),
			Faculty:        fac.name,
			GraduationYear: min(year, g.now.Year()),
			Primary:        i == 0,
		}
		if g.chance(0.03) {
			d.PreferredClassYear = d.GraduationYear + 1
		}
		f.Degrees = append(f.Degrees, d)
		year += 2 + g.rnd.IntN(4)
	}
	firstYear := f.Degrees[0].GraduationYear
	f.StudentID = fmt.Sprintf("S%d%07d", firstYear-4, n)

	if g.chance(0.12) { // a different name while enrolled, usually a former last name
		f.EnrolledName = f.FirstName + " " + oneOf(g.rnd, c.last)
	}
	if g.chance(0.86) {
		f.Email = fmt.Sprintf("%s%d@%s", asciiLocal(f.FirstName, f.LastName), n, oneOf(g.rnd, emailDomains))
	}
	if g.chance(0.6) {
		f.Phone = fmt.Sprintf("+1 %03d %03d %04d", 200+g.rnd.IntN(800), g.rnd.IntN(1000), g.rnd.IntN(10000))
	}
	if g.chance(0.9) {
		p := places[g.picks["place"].pick(g.rnd)]
		f.Address = alumni.Address{City: p.city, Region: p.region, Country: p.country}
		if g.chance(0.7) {
			f.Address.Line1 = g.fake.Street()
			f.Address.PostalCode = fmt.Sprintf("%05d", g.rnd.IntN(100000))
		}
	}
	age := g.now.Year() - firstYear
	if g.chance(0.75) && age < 45 {
		f.Employment = alumni.Employment{
			Employer: g.fake.Company(),
			JobTitle: oneOf(g.rnd, jobTitles),
			Industry: industries[g.picks["industry"].pick(g.rnd)],
		}
		if g.chance(0.25) {
			f.WorkEmail = fmt.Sprintf("%s@%s", asciiLocal(f.FirstName, f.LastName), "corp.example.com")
		}
	}
	if g.chance(0.35) {
		f.LinkedInURL = "https://www.linkedin.com/in/" + strings.ReplaceAll(asciiLocal(f.FirstName, f.LastName), ".", "-") + fmt.Sprintf("-%d", n)
	}
	if g.chance(0.3) {
		tags := 1 + g.rnd.IntN(2)
		for range tags {
			f.Tags = append(f.Tags, tagPool[g.picks["tag"].pick(g.rnd)])
		}
	}
	f.DirectoryConsent = g.chance(0.42)
	f.ContactPermissions = alumni.ContactPermissions{
		DoNotEmail: g.chance(0.05), DoNotMail: g.chance(0.08), DoNotPhone: g.chance(0.15), DoNotSMS: g.chance(0.2),
	}
	switch {
	case age > 50 && g.chance(0.12):
		f.Status = alumni.StatusDeceased
	case g.chance(0.08):
		f.Status = alumni.StatusLostContact
		f.Address = alumni.Address{}
	}
	if g.chance(0.04) {
		f.Notes = "Met at " + fmt.Sprint(firstYear+10+g.rnd.IntN(10)) + " reunion; interested in mentoring students."
	}
	return f
}

// Run generates opts.Count alumni and inserts them in batches, each batch in one transaction
// with multi-row INSERTs. It returns the number of rows written.
func Run(ctx context.Context, sqlDB *sql.DB, opts Options) (int, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var offset int
	if err := sqlDB.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM alumni").Scan(&offset); err != nil {
		return 0, fmt.Errorf("count existing alumni: %w", err)
	}
	g := NewGenerator(opts.RandSeed, offset, opts.Now)
	// Creation times come from their own source so that the people match NewGenerator's.
	times := rand.New(rand.NewPCG(opts.RandSeed, uint64(offset))) //nolint:gosec // reproducible, not secret
	now := opts.Now.UTC().Truncate(time.Microsecond)
	// The people a duplicate may be planted of, each used once.
	var originals []alumni.Alumnus
	written := 0
	for written < opts.Count {
		n := min(opts.BatchSize, opts.Count-written)
		batch := make([]alumni.Alumnus, n)
		var planted []Pair
		for i := range batch {
			var f alumni.Fields
			variation := ""
			var orig alumni.Alumnus
			if opts.Duplicates > 0 && len(originals) > 0 && g.chance(opts.Duplicates) {
				j := g.rnd.IntN(len(originals))
				orig = originals[j]
				originals[j] = originals[len(originals)-1]
				originals = originals[:len(originals)-1]
				variation = g.variationFor(orig.Fields)
				f = g.duplicate(orig.Fields, variation)
			} else {
				f = g.Next(written + i + 1)
			}
			if err := alumni.Normalize(&f, now); err != nil {
				return written, fmt.Errorf("generated alumnus %d is not valid: %w", written+i+1, err)
			}
			// Creation times spread over the past years, so "recently added" means something.
			created := now.Add(-time.Duration(times.Int64N(int64(5 * 365 * 24 * time.Hour))))
			batch[i] = alumni.Alumnus{ID: database.NewPublicID(created), Version: 1, Fields: f, CreatedAt: created, UpdatedAt: created}
			switch {
			case variation != "":
				planted = append(planted, Pair{Original: orig.ID, Duplicate: batch[i].ID, Variation: variation})
			case opts.Duplicates > 0:
				if len(originals) == maxOriginals {
					originals[g.rnd.IntN(maxOriginals)] = batch[i]
				} else {
					originals = append(originals, batch[i])
				}
			}
		}
		if err := insertBatch(ctx, sqlDB, batch); err != nil {
			return written, err
		}
		written += n
		for _, p := range planted {
			if opts.Planted != nil {
				if err := opts.Planted(p); err != nil {
					return written, err
				}
			}
		}
	}
	return written, nil
}

// insertBatch writes batch in one transaction (alumni.InsertNew).
func insertBatch(ctx context.Context, sqlDB *sql.DB, batch []alumni.Alumnus) error {
	return database.Transact(ctx, sqlDB, func(tx *sql.Tx) error { return alumni.InsertNew(ctx, tx, batch) })
}
