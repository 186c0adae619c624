package httpapi_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/events"
)

// benchServer is a server with the production feed settings (200 ms polls).
func benchServer(b *testing.B) *apitest.Server {
	b.Helper()
	cfg := apitest.DefaultConfig()
	cfg.Feed = &events.Config{}
	return apitest.NewServer(b, cfg)
}

// BenchmarkEventsDelay measures the time from a change's commit (its 201 answer) to its event
// reaching a subscriber of the other replica: 200 changes, 0–250 ms apart.
//
//	go test ./internal/httpapi -run '^$' -bench EventsDelay -benchtime 1x
func BenchmarkEventsDelay(b *testing.B) {
	a := benchServer(b)
	other := apitest.NewServer(b, apitest.DefaultConfig(), apitest.OnDatabaseOf(a))
	sub, _ := a.Subscribe(b, a.As(b, auth.RoleStaff).Token(), "")
	const n = 200
	for range b.N {
		var delays []time.Duration
		for i := range n {
			resp := other.Client.Post("/api/v1/alumni", map[string]any{"firstName": fmt.Sprint("Ada", i), "lastName": "King"})
			committed := time.Now()
			var rec struct{ ID string }
			resp.JSON(b, &rec)
			sub.SkipUntil(b, rec.ID)
			delays = append(delays, time.Since(committed))
			time.Sleep(time.Duration(rand.IntN(250)) * time.Millisecond) // any phase of the feed's polls
		}
		slices.Sort(delays)
		b.ReportMetric(float64(delays[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(delays[n*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(delays[n-1].Microseconds())/1000, "max-ms")
	}
}

// BenchmarkEventsIdleSubscribers opens EVENTS_BENCH_SUBSCRIBERS (default 2,000) idle
// subscribers on one server and reports the memory and goroutines each costs (client and
// server ends together, both in this process), then the time for one change to reach all.
//
//	EVENTS_BENCH_SUBSCRIBERS=5000 go test ./internal/httpapi -run '^$' -bench EventsIdle -benchtime 1x
func BenchmarkEventsIdleSubscribers(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("EVENTS_BENCH_SUBSCRIBERS")); err == nil && v > 0 {
		n = v
	}
	s := benchServer(b)
	token := s.As(b, auth.RoleStaff).Token()
	for range b.N {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		subs := make([]*apitest.Subscriber, n)
		for i := range subs {
			subs[i], _ = s.Subscribe(b, token, "")
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(n)/1024, "KiB-heap/sub")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(n), "goroutines/sub")

		start := time.Now()
		resp := s.Client.Post("/api/v1/alumni", map[string]any{"firstName": "Grace", "lastName": "Hopper"})
		var rec struct{ ID string }
		resp.JSON(b, &rec)
		for _, sub := range subs {
			sub.SkipUntil(b, rec.ID)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-all")
		for _, sub := range subs {
			sub.Close()
		}
	}
}
