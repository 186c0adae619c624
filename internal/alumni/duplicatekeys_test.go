package alumni_test

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/seed"
)

func TestDuplicateKeyForms(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"email case and tag", alumni.EmailKey, "Ada.King+events@EXAMPLE.org", "ada.king@example.org"},
		{"email dots elsewhere count", alumni.EmailKey, "ada.king@example.org", "ada.king@example.org"},
		{"gmail dots do not", alumni.EmailKey, "A.da.King+x@googlemail.com", "adaking@gmail.com"},
		{"email without domain", alumni.EmailKey, "ada", ""},
		{"email only a tag", alumni.EmailKey, "+x@example.org", ""},
		{"phone formats", alumni.PhoneKey, "(555) 123-4567", "5551234567"},
		{"phone with country code 1", alumni.PhoneKey, "+1 555 123 4567", "5551234567"},
		{"phone abroad", alumni.PhoneKey, "+44 20 7946 0958", "442079460958"},
		{"phone too short", alumni.PhoneKey, "12-34", ""},
		{"student id", alumni.StudentKey, " s2001-0000123 ", "S20010000123"},
		{"linkedin", alumni.LinkedInKey, "http://LinkedIn.com/in/Ada-King-7/", "ada-king-7"},
		{"linkedin www", alumni.LinkedInKey, "https://www.linkedin.com/in/ada-king-7?trk=x", "ada-king-7"},
		{"not linkedin", alumni.LinkedInKey, "https://example.org/in/ada", ""},
		{"linkedin company page", alumni.LinkedInKey, "https://www.linkedin.com/company/acme", ""},
		{"umlaut", alumni.LooseName, "Müller", "muller"},
		{"umlaut written out", alumni.LooseName, "MUELLER", "muller"},
		{"sharp s", alumni.LooseName, "Größer", "groser"},
		{"accents and apostrophe", alumni.LooseName, "O'Núñez", "onunez"},
	} {
		if got := c.f(c.in); got != c.want {
			t.Errorf("%s: %q → %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestFullFirstNames(t *testing.T) {
	for in, want := range map[string][]string{
		"bill": {"william"}, "william": {"william"}, "pat": {"patricia", "patrick"}, "": nil,
	} {
		if got := alumni.FullFirstNames(in); !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestDuplicateKeysOfARecord(t *testing.T) {
	f := alumni.Fields{FirstName: "Bill", LastName: "Müller", Email: "Bill@Example.org", WorkEmail: "bill@example.org",
		Phone: "+1 555 123 4567", StudentID: "s1-2", LinkedInURL: "https://www.linkedin.com/in/bill-m",
		Degrees: []alumni.Degree{{Degree: "BA", GraduationYear: 2001, Primary: true}}}
	want := []alumni.DuplicateKey{
		{Kind: alumni.KeyEmail, Key: "bill@example.org"}, // once for both addresses
		{Kind: alumni.KeyPhone, Key: "5551234567"},
		{Kind: alumni.KeyStudent, Key: "S12"},
		{Kind: alumni.KeyLinkedIn, Key: "bill-m"},
		{Kind: alumni.KeyName, Key: "muller william 2001"},
		{Kind: alumni.KeyBlock, Key: "2001 william m"},
	}
	if got := alumni.DuplicateKeys(f); !slices.Equal(got, want) {
		t.Errorf("%v\nwant %v", got, want)
	}
	// Swapped names give the same name key; no class year, no name keys.
	f.FirstName, f.LastName = "Müller", "William"
	if got := alumni.DuplicateKeys(f); !slices.Contains(got, want[4]) {
		t.Errorf("swapped: %v", got)
	}
	f.Degrees = nil
	for _, k := range alumni.DuplicateKeys(f) {
		if k.Kind == alumni.KeyName || k.Kind == alumni.KeyBlock {
			t.Errorf("a name key without a class year: %v", k)
		}
	}
}

// Every planted duplicate (seed --duplicates) shares a key with its original, or a block and a
// last name one or two letters away: the keys find what the finder is to score.
func TestDuplicateKeysFindPlantedDuplicates(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	var pairs []seed.Pair
	if _, err := seed.Run(ctx, sqlDB, seed.Options{Count: 4000, RandSeed: 11, BatchSize: 1000, Duplicates: 0.05,
		Planted: func(p seed.Pair) error { pairs = append(pairs, p); return nil }}); err != nil {
		t.Fatal(err)
	}
	store := alumni.NewStore(sqlDB)
	admin := auth.Principal{Role: auth.RoleAdmin}
	missed := map[string]int{}
	for _, p := range pairs {
		a, err := store.Get(ctx, admin, p.Original)
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.Get(ctx, admin, p.Duplicate)
		if err != nil {
			t.Fatal(err)
		}
		if !shareKey(a.Fields, b.Fields) {
			missed[p.Variation]++
			t.Logf("%s: %s %s / %s %s", p.Variation, a.FirstName, a.LastName, b.FirstName, b.LastName)
		}
	}
	n := 0
	for _, m := range missed {
		n += m
	}
	if len(pairs) < 100 || n > len(pairs)/50 {
		t.Errorf("%d of %d planted pairs share no key: %v", n, len(pairs), missed)
	}
}

func shareKey(a, b alumni.Fields) bool {
	ka, kb := alumni.DuplicateKeys(a), alumni.DuplicateKeys(b)
	for _, k := range ka {
		if !slices.Contains(kb, k) {
			continue
		}
		if k.Kind != alumni.KeyBlock {
			return true
		}
		la, lb := alumni.LooseName(a.LastName), alumni.LooseName(b.LastName)
		if edits(la, lb) <= 1 || len([]rune(la)) >= 9 && edits(la, lb) <= 2 {
			return true
		}
	}
	return false
}

// edits is the Levenshtein distance of a and b, counting an exchange of neighbours as one.
func edits(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// The write path keeps a record's duplicate keys: written with a new record, replaced by an
// update (through the store and through an import's upsert), kept while the record is in the
// trash (and removed with it by the foreign key when it is purged).
func TestWritePathKeepsDuplicateKeys(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	store := alumni.NewStore(sqlDB)
	staff := auth.Principal{UserID: "01J00000000000000000000001", Role: auth.RoleStaff}
	keysOf := func(id string) []alumni.DuplicateKey {
		t.Helper()
		var key int64
		if err := sqlDB.QueryRowContext(ctx, "SELECT id FROM alumni WHERE public_id = ?", id).Scan(&key); err != nil {
			t.Fatal(err)
		}
		rows, err := db.New(sqlDB).ListDuplicateKeysOf(ctx, []int64{key})
		if err != nil {
			t.Fatal(err)
		}
		out := []alumni.DuplicateKey{}
		for _, r := range rows {
			out = append(out, alumni.DuplicateKey{Kind: r.Kind, Key: r.DupKey})
		}
		return out
	}
	want := func(f alumni.Fields) []alumni.DuplicateKey {
		out := alumni.DuplicateKeys(f)
		slices.SortFunc(out, func(a, b alumni.DuplicateKey) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
		})
		return out
	}
	a, err := store.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "Müller", Email: "Ada@Example.org",
		StudentID: "S-1", Degrees: []alumni.Degree{{Degree: "BA", Program: "History", GraduationYear: 2001, Primary: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(a.ID); !slices.Equal(got, want(a.Fields)) || len(got) < 4 {
		t.Fatalf("created: %v, want %v", got, want(a.Fields))
	}
	b, err := store.Update(ctx, staff, a.ID, func(alumni.Alumnus) bool { return true }, func(cur alumni.Alumnus) (alumni.Fields, error) {
		cur.Email, cur.LastName, cur.Phone = "ada.king@example.org", "King", "+1 555 123 4567"
		return cur.Fields, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(a.ID); !slices.Equal(got, want(b.Fields)) {
		t.Fatalf("updated: %v, want %v", got, want(b.Fields))
	}
	// An update that leaves the keys as they were does not rewrite them; they stay.
	if _, err := store.Update(ctx, staff, a.ID, func(alumni.Alumnus) bool { return true }, func(cur alumni.Alumnus) (alumni.Fields, error) {
		cur.Notes, cur.Employment.JobTitle = "Met at the reunion.", "Engineer"
		return cur.Fields, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(a.ID); !slices.Equal(got, want(b.Fields)) {
		t.Fatalf("after an update of other fields: %v, want %v", got, want(b.Fields))
	}
	err = database.Transact(ctx, sqlDB, func(tx *sql.Tx) error {
		res, err := store.Upsert(ctx, tx, []alumni.UpsertRow{{StudentID: "S-1", Edit: func(cur alumni.Fields, found bool) (alumni.Fields, error) {
			cur.LinkedInURL = "https://www.linkedin.com/in/ada-king"
			return cur, nil
		}}}, false)
		if err == nil && res[0].Err != nil {
			err = res[0].Err
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Get(ctx, staff, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(a.ID); !slices.Equal(got, want(c.Fields)) || !slices.Contains(got, alumni.DuplicateKey{Kind: alumni.KeyLinkedIn, Key: "ada-king"}) {
		t.Fatalf("after the import: %v, want %v", got, want(c.Fields))
	}
	if err := store.Delete(ctx, a.ID, func(int) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(a.ID); !slices.Equal(got, want(c.Fields)) {
		t.Fatalf("in the trash: %v", got)
	}
}
