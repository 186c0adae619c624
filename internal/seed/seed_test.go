package seed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/seed"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := seed.NewGenerator(7, 0, now), seed.NewGenerator(7, 0, now)
	other := seed.NewGenerator(8, 0, now)
	same := 0
	for i := 1; i <= 200; i++ {
		x, y, z := a.Next(i), b.Next(i), other.Next(i)
		if diff := cmp.Diff(x, y); diff != "" {
			t.Fatalf("person %d differs for the same seed:\n%s", i, diff)
		}
		if cmp.Equal(x, z) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d people are the same for different seeds", same)
	}
}

func TestGeneratedPeopleAreValidAndVaried(t *testing.T) {
	g := seed.NewGenerator(1, 0, now)
	countries, multiDegree, statuses := map[string]int{}, 0, map[alumni.Status]int{}
	const n = 3000
	for i := 1; i <= n; i++ {
		f := g.Next(i)
		if err := alumni.Normalize(&f, now); err != nil {
			t.Fatalf("person %d: %v", i, err)
		}
		countries[f.Address.Country]++
		if len(f.Degrees) > 1 {
			multiDegree++
		}
		statuses[f.Status]++
	}
	if len(countries) < 25 {
		t.Errorf("only %d countries", len(countries))
	}
	if countries["US"] < n/2 || countries["US"] > n*9/10 {
		t.Errorf("%d of %d in the US: the distribution should be skewed, not total", countries["US"], n)
	}
	if multiDegree < n/10 || multiDegree > n/3 {
		t.Errorf("%d people with several degrees", multiDegree)
	}
	if statuses[alumni.StatusDeceased] == 0 || statuses[alumni.StatusLostContact] == 0 {
		t.Errorf("statuses: %v", statuses)
	}
}

// Seeded rows read back through the store exactly as generated: the bulk path and the store
// agree on every column.
func TestRunLoadsWhatItGenerates(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	n, err := seed.Run(ctx, sqlDB, seed.Options{Count: 250, RandSeed: 3, BatchSize: 100, Now: now})
	if err != nil || n != 250 {
		t.Fatalf("Run: %d, %v", n, err)
	}
	// A second run continues the numbering: no clash on student ids or emails.
	if n, err := seed.Run(ctx, sqlDB, seed.Options{Count: 50, RandSeed: 3, Now: now}); err != nil || n != 50 {
		t.Fatalf("second Run: %d, %v", n, err)
	}
	store := alumni.NewStore(sqlDB)
	g := seed.NewGenerator(3, 0, now)
	byStudentID := map[string]alumni.Fields{}
	for i := 1; i <= 250; i++ {
		f := g.Next(i)
		if err := alumni.Normalize(&f, now); err != nil {
			t.Fatal(err)
		}
		byStudentID[f.StudentID] = f
	}
	search, err := searchindex.Open(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	page, err := listing.NewReader(sqlDB, search).List(ctx, auth.Principal{Role: auth.RoleAdmin}, listing.Filter{}, listing.ListOptions{Limit: page.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, a := range page.Items {
		want, ok := byStudentID[a.StudentID]
		if !ok {
			continue
		}
		got, err := store.Get(ctx, auth.Principal{Role: auth.RoleAdmin}, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got.Fields); diff != "" {
			t.Fatalf("%s read back differently (-generated +stored):\n%s", a.StudentID, diff)
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("checked only %d records", checked)
	}
}

// A run with duplicates plants the share asked for, of every variation, and each pair has
// what its variation says the two records share — and differs where it says they differ.
func TestRunPlantsDuplicates(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	var pairs []seed.Pair
	n, err := seed.Run(ctx, sqlDB, seed.Options{Count: 4000, RandSeed: 5, BatchSize: 500, Now: now, Duplicates: 0.05,
		Planted: func(p seed.Pair) error { pairs = append(pairs, p); return nil }})
	if err != nil || n != 4000 {
		t.Fatalf("Run: %d, %v", n, err)
	}
	if len(pairs) < 120 || len(pairs) > 280 {
		t.Errorf("%d pairs planted among 4,000 records at 5 %%", len(pairs))
	}
	store := alumni.NewStore(sqlDB)
	admin := auth.Principal{Role: auth.RoleAdmin}
	byVariation := map[string]int{}
	seen := map[string]bool{}
	for _, p := range pairs {
		byVariation[p.Variation]++
		if seen[p.Original] || seen[p.Duplicate] {
			t.Errorf("%s: a record in two pairs", p.Original)
		}
		seen[p.Original], seen[p.Duplicate] = true, true
		a, err := store.Get(ctx, admin, p.Original)
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.Get(ctx, admin, p.Duplicate)
		if err != nil {
			t.Fatal(err)
		}
		year := func(f alumni.Fields) int {
			if len(f.Degrees) == 0 {
				return 0
			}
			return f.Degrees[0].GraduationYear
		}
		sameYear := year(a.Fields) == year(b.Fields) && year(a.Fields) != 0
		var ok bool
		switch p.Variation {
		case seed.VarEmail:
			ok = a.Email != b.Email && emailKey(a.Email) == emailKey(b.Email) && a.LastName == b.LastName
		case seed.VarSwapped:
			ok = a.Email != b.Email && emailKey(a.Email) == emailKey(b.Email) && a.FirstName == b.LastName && a.LastName == b.FirstName
		case seed.VarPhone:
			ok = a.Phone != b.Phone && digits(a.Phone) == "1"+digits(b.Phone) && a.LastName != b.LastName && a.FirstName == b.FirstName
		case seed.VarStudentID:
			ok = a.StudentID != b.StudentID && strings.ReplaceAll(strings.ToUpper(b.StudentID), "-", "") == strings.ToUpper(a.StudentID) && sameYear
		case seed.VarLinkedIn:
			ok = a.LinkedInURL != b.LinkedInURL && strings.EqualFold(strings.TrimSuffix(strings.TrimPrefix(b.LinkedInURL, "http://"), "/"),
				strings.TrimPrefix(a.LinkedInURL, "https://www."))
		case seed.VarNickname:
			ok = a.FirstName != b.FirstName && a.LastName == b.LastName && sameYear
		case seed.VarTypo:
			ok = a.FirstName == b.FirstName && a.LastName != b.LastName && len([]rune(a.LastName)) == len([]rune(b.LastName)) && sameYear
		case seed.VarTransliterate:
			ok = a.FirstName+a.LastName != b.FirstName+b.LastName && sameYear
		case seed.VarNameYear:
			ok = a.FirstName == b.FirstName && a.LastName == b.LastName && sameYear && b.Email == "" && b.StudentID == ""
		default:
			t.Fatalf("unknown variation %q", p.Variation)
		}
		if !ok {
			t.Errorf("%s pair %s / %s: %+v\n%+v", p.Variation, p.Original, p.Duplicate, a.Fields, b.Fields)
		}
	}
	for _, v := range []string{seed.VarEmail, seed.VarPhone, seed.VarStudentID, seed.VarLinkedIn, seed.VarNickname,
		seed.VarTypo, seed.VarTransliterate, seed.VarSwapped, seed.VarNameYear} {
		if byVariation[v] == 0 {
			t.Errorf("no %s pair among %d: %v", v, len(pairs), byVariation)
		}
	}
}

// emailKey is an address as a duplicate finder compares it: lower case, without a +tag, and
// at gmail.com without dots.
func emailKey(address string) string {
	local, domain, _ := strings.Cut(strings.ToLower(address), "@")
	local, _, _ = strings.Cut(local, "+")
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "@" + domain
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
