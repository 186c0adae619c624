package searchindex_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// The prototype's measurements on a seeded database (docs/SEARCH.md): the load, the memory
// it takes, and each query shape's service time. Run:
//
//	SEARCH_BENCH_DSN='root@tcp(127.0.0.1:3306)/alumni_1m' go test ./internal/searchindex/ -run TestMeasure -v -timeout 30m
var (
	loadOnce sync.Once
	loaded   *searchindex.Index
)

func benchIndex(t testing.TB) *searchindex.Index {
	dsn := os.Getenv("SEARCH_BENCH_DSN")
	if dsn == "" {
		t.Skip("SEARCH_BENCH_DSN is not set")
	}
	loadOnce.Do(func() {
		ctx := context.Background()
		sqlDB, err := database.Open(ctx, dsn, database.PoolConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer sqlDB.Close()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		x := searchindex.New()
		if err := x.Load(ctx, sqlDB); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		t.Logf("load: %d records in %v; heap %d MiB (in use after GC), %d objects", x.Len(), took.Round(time.Millisecond),
			(after.HeapInuse-before.HeapInuse)>>20, after.HeapObjects-before.HeapObjects)
		// A collection's marking visits every live object and pointer: the index's share of
		// the collector's work on a busy replica.
		gcStart := time.Now()
		runtime.GC()
		t.Logf("one full collection with the index live: %v", time.Since(gcStart).Round(time.Millisecond))
		if path := os.Getenv("SEARCH_BENCH_HEAPPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := pprof.WriteHeapProfile(f); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
		loaded = x
	})
	return loaded
}

// shape is one kind of request: prepare runs once (it finds the cursor of a later page), run
// is what is timed.
type shape struct {
	name string
	run  func(x *searchindex.Index)
}

func words(w ...string) searchindex.Query {
	return searchindex.Query{Words: w, Kinds: []string{"p", "c", "t"}}
}

func shapes() []shape {
	// page times the request for page n, given the cursor the pages before it end with.
	page := func(q searchindex.Query, o searchindex.Order, desc bool, n int) func(*searchindex.Index) {
		var after *searchindex.Position
		var once sync.Once
		return func(x *searchindex.Index) {
			once.Do(func() {
				for range n - 1 {
					hits := x.Page(q, o, desc, after, 25)
					if len(hits) < 25 {
						return
					}
					after = &hits[len(hits)-1].Position
				}
			})
			x.Page(q, o, desc, after, 25)
		}
	}
	facets := func(q searchindex.Query) func(*searchindex.Index) {
		return func(x *searchindex.Index) {
			x.Counts(q, searchindex.Count{Dim: searchindex.DimClassYear}, searchindex.Count{Dim: searchindex.DimProgram},
				searchindex.Count{Dim: searchindex.DimCountry}, searchindex.Count{Dim: searchindex.DimIndustry},
				searchindex.Count{Dim: searchindex.DimStatus})
		}
	}
	withFilters := words("ma")
	withFilters.Country = "US"
	withFilters.Status = "active"
	withFilters.YearFrom, withFilters.YearTo = 1990, 2010
	us := searchindex.Query{Country: "US"}
	industry := searchindex.Query{Industry: "Higher Education", YearFrom: 2000, YearTo: 2005}
	return []shape{
		{"prefix 1 letter, relevance, page 1", page(words("m"), searchindex.ByRelevance, false, 1)},
		{"prefix 2 letters, relevance, page 1", page(words("ma"), searchindex.ByRelevance, false, 1)},
		{"prefix 3 letters, relevance, page 1", page(words("mar"), searchindex.ByRelevance, false, 1)},
		{"prefix 2 letters, relevance, page 10", page(words("ma"), searchindex.ByRelevance, false, 10)},
		{"prefix 2 letters, name, page 1", page(words("ma"), searchindex.ByName, false, 1)},
		{"prefix 2 letters, name, page 10", page(words("ma"), searchindex.ByName, false, 10)},
		{"prefix 2 letters, class year desc, page 1", page(words("ma"), searchindex.ByYear, true, 1)},
		{"common full name, relevance", page(words("james", "smith"), searchindex.ByRelevance, false, 1)},
		{"rare full name, relevance", page(words("adaeze", "okafor"), searchindex.ByRelevance, false, 1)},
		{"two words, relevance", page(words("mar", "eng"), searchindex.ByRelevance, false, 1)},
		{"search + 3 filters, relevance", page(withFilters, searchindex.ByRelevance, false, 1)},
		{"no search, name, page 1", page(searchindex.Query{}, searchindex.ByName, false, 1)},
		{"filter country, name, page 10", page(us, searchindex.ByName, false, 10)},
		{"facets, no filter", facets(searchindex.Query{})},
		{"facets, prefix 1 letter", facets(words("m"))},
		{"facets, prefix 2 letters", facets(words("ma"))},
		{"facets, country filter", facets(us)},
		{"facets, industry + years", facets(industry)},
		{"facets, program filter", facets(searchindex.Query{Program: "History"})},
		{"report employer+city, country filter", func(x *searchindex.Index) {
			x.Counts(us, searchindex.Count{Dim: searchindex.DimEmployer}, searchindex.Count{Dim: searchindex.DimCity})
		}},
	}
}

func TestMeasure(t *testing.T) {
	x := benchIndex(t)
	for _, s := range shapes() {
		s.run(x) // warm
		const n = 50
		times := make([]time.Duration, n)
		for i := range n {
			start := time.Now()
			s.run(x)
			times[i] = time.Since(start)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		t.Logf("%-42s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms", s.name, ms(times[n/2]), ms(times[n*99/100]), ms(slices.Max(times)))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func BenchmarkShapes(b *testing.B) {
	x := benchIndex(b)
	for _, s := range shapes() {
		b.Run(fmt.Sprint(s.name), func(b *testing.B) {
			for range b.N {
				s.run(x)
			}
		})
	}
}
