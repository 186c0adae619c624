package httpapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/database"
)

// The fault tests (docs/RELIABILITY.md, "Faults") put a toxiproxy between the service's pool
// and MariaDB and break it under steady load. They run briefly in `go test`; with
// ALUMNI_FAULTS_LONG=1 (task faults) each fault lasts 10 s and the tests log what they saw.

// faultTiming is how long the phases of a fault test last.
type faultTiming struct {
	before, fault, after time.Duration
	long                 bool
}

func faultTimes() faultTiming {
	if os.Getenv("ALUMNI_FAULTS_LONG") != "" {
		return faultTiming{before: 3 * time.Second, fault: 10 * time.Second, after: 5 * time.Second, long: true}
	}
	return faultTiming{before: 500 * time.Millisecond, fault: 2 * time.Second, after: time.Second}
}

// faultHangGuard is how long a request may take before the test calls it hung: three times the
// request timeout of apitest.DefaultConfig (10 s), so a loaded machine does not fail the test.
const faultHangGuard = 30 * time.Second // the apitest client's timeout

// recordState is a record as a response acknowledged it.
type recordState struct {
	id       string
	etag     string // the version, as an ETag; "" for any
	lastName string
	deleted  bool
}

// is reports whether s is want; an empty etag in want (a deletion, which answers no ETag,
// or a write of unknown outcome) matches any version.
func (s recordState) is(want recordState) bool {
	return s.deleted == want.deleted && s.lastName == want.lastName && (want.etag == "" || s.etag == want.etag)
}

// ledger is what the load saw: every acknowledged write, the answers by status, and the
// writes whose answer was 503 (they may or may not have happened).
type ledger struct {
	mu     sync.Mutex
	acked  map[string]recordState  // by id: the last state a response acknowledged
	maybe  map[string]*recordState // by id: a write answered 503 after it (at most one: the worker leaves the record then)
	status map[int]int
	during map[int]int // answers received while the fault was on
	faulty atomic.Bool
	errs   []string
	// slowest is the longest an answer took, since the last takeSlowest.
	slowest time.Duration
}

// takeSlowest returns the longest an answer took since the last call.
func (l *ledger) takeSlowest() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.slowest
	l.slowest = 0
	return d
}

func newLedger() *ledger {
	return &ledger{acked: map[string]recordState{}, maybe: map[string]*recordState{}, status: map[int]int{}, during: map[int]int{}}
}

// takeDuring returns the answers received while the fault was on, and starts counting anew.
func (l *ledger) takeDuring() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.during
	l.during = map[int]int{}
	return d
}

func (l *ledger) count(status int, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slowest = max(l.slowest, took)
	l.status[status]++
	if l.faulty.Load() {
		l.during[status]++
	}
}

func (l *ledger) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *ledger) ack(s recordState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[s.id] = s
}

// unsure records that a write to s answered 503: the database holds s or the state before.
func (l *ledger) unsure(s recordState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybe[s.id] = &s
}

// loadWorker runs a steady mix until stop is closed: a create, a read, two PATCHes with
// If-Match, a list page and (every other record) a delete. After a 503 on a record it leaves
// that record alone, so each record has at most one write of unknown outcome, and pauses
// 10 ms before the next cycle.
type loadWorker struct {
	id     int
	c      *apitest.Client
	l      *ledger
	cycles atomic.Int64 // full create-…-delete cycles without a 503
}

// send sends req and checks the answer is one a fault allows: a success, or 503
// problem+json with Retry-After. It returns the response, or nil when there was none (the
// test has failed then).
func (w *loadWorker) send(req apitest.Request, ok ...int) *apitest.Response {
	sent := time.Now()
	resp, err := w.c.Try(req)
	if err != nil {
		w.l.fail("worker %d: no answer (hung past %s?): %v", w.id, faultHangGuard, err)
		return nil
	}
	w.l.count(resp.Status, time.Since(sent))
	switch {
	case slices.Contains(ok, resp.Status):
	case resp.Status == http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
			w.l.fail("%s %s: 503 without Retry-After or problem+json: %v", req.Method, req.Path, resp.Header)
		}
	default:
		w.l.fail("%s %s: %d %s", req.Method, req.Path, resp.Status, resp.Body)
	}
	return resp
}

func (w *loadWorker) run(stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if w.cycle(i) {
			w.cycles.Add(1)
		} else {
			time.Sleep(10 * time.Millisecond) // a client that meets a 503 pauses a little
		}
	}
}

// cycle runs one create-read-update-update-list(-delete) cycle and reports whether every step
// succeeded.
func (w *loadWorker) cycle(i int) bool {
	last := fmt.Sprintf("W%d-%d", w.id, i)
	resp := w.send(apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni", Body: map[string]any{"firstName": "Fault", "lastName": last}}, http.StatusCreated)
	if resp == nil || resp.Status != http.StatusCreated {
		return false // a create that answered 503 may exist: nobody relies on it
	}
	var a api.Alumnus
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		w.l.fail("create: %v", err)
		return false
	}
	state := recordState{id: a.Id, etag: resp.Header.Get("ETag"), lastName: last}
	w.l.ack(state)
	path := "/api/v1/alumni/" + a.Id
	if resp = w.send(apitest.Request{Method: http.MethodGet, Path: path}, http.StatusOK); resp == nil || resp.Status != http.StatusOK {
		return false
	}
	if resp.Header.Get("ETag") != state.etag {
		w.l.fail("GET %s: ETag %s, acknowledged %s", path, resp.Header.Get("ETag"), state.etag)
	}
	for j := range 2 {
		next := state
		next.lastName = fmt.Sprintf("%s-p%d", last, j)
		resp = w.send(apitest.Request{Method: http.MethodPatch, Path: path, Body: map[string]any{"lastName": next.lastName},
			ContentType: "application/merge-patch+json", Header: map[string]string{"If-Match": state.etag}}, http.StatusOK)
		if resp == nil {
			return false
		}
		if resp.Status != http.StatusOK {
			next.etag = "" // unknown: any later version
			w.l.unsure(next)
			return false
		}
		next.etag = resp.Header.Get("ETag")
		state = next
		w.l.ack(state)
	}
	if resp = w.send(apitest.Request{Method: http.MethodGet, Path: "/api/v1/alumni?limit=20&sort=-updatedAt"}, http.StatusOK); resp == nil || resp.Status != http.StatusOK {
		return false
	}
	if i%2 == 1 {
		return true
	}
	resp = w.send(apitest.Request{Method: http.MethodDelete, Path: path, Header: map[string]string{"If-Match": state.etag}}, http.StatusNoContent)
	if resp == nil {
		return false
	}
	gone := state
	gone.deleted, gone.etag = true, "" // a deletion answers no ETag
	if resp.Status != http.StatusNoContent {
		w.l.unsure(gone)
		return false
	}
	w.l.ack(gone)
	return true
}

// faultLoad is a few workers running cycles against srv.
type faultLoad struct {
	t       *testing.T
	l       *ledger
	workers []*loadWorker
	stop    chan struct{}
	wg      sync.WaitGroup
}

func startLoad(t *testing.T, srv *apitest.Server, n int) *faultLoad {
	t.Helper()
	ld := &faultLoad{t: t, l: newLedger(), stop: make(chan struct{})}
	for i := range n {
		w := &loadWorker{id: i, c: srv.Client, l: ld.l}
		ld.workers = append(ld.workers, w)
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			w.run(ld.stop)
		}()
	}
	t.Cleanup(ld.halt)
	return ld
}

// halt stops the workers and waits for them (each finishes the request it is in).
func (ld *faultLoad) halt() {
	select {
	case <-ld.stop:
	default:
		close(ld.stop)
	}
	ld.wg.Wait()
}

// recovered waits until every worker has completed a full cycle since it was called: the
// service works again. It fails the test after a generous bound.
func (ld *faultLoad) recovered() {
	ld.t.Helper()
	start := make([]int64, len(ld.workers))
	for i, w := range ld.workers {
		start[i] = w.cycles.Load()
	}
	eventually(ld.t, "every worker completes a cycle after the fault", func() bool {
		for i, w := range ld.workers {
			if w.cycles.Load() <= start[i] {
				return false
			}
		}
		return true
	})
}

// check stops the load and fails the test on any answer a fault does not allow, and on any
// acknowledged write the database does not hold exactly as acknowledged. It reads the
// database directly, not through the proxy.
func (ld *faultLoad) check(srv *apitest.Server) {
	t := ld.t
	t.Helper()
	ld.halt()
	l := ld.l
	for _, e := range l.errs {
		t.Error(e)
	}
	if l.status[http.StatusInternalServerError] > 0 {
		t.Errorf("%d answers were 500", l.status[http.StatusInternalServerError])
	}
	direct, err := database.Open(context.Background(), srv.DSN, database.PoolConfig{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	for id, want := range l.acked {
		got, err := readRecord(direct, id)
		if err != nil {
			t.Errorf("record %s: %v", id, err)
			continue
		}
		if got.is(want) {
			continue
		}
		if m := l.maybe[id]; m != nil && got.is(*m) {
			continue // the write answered 503 happened after all: allowed
		}
		t.Errorf("record %s is %+v in the database; acknowledged %+v (unsure write: %+v)", id, got, want, l.maybe[id])
	}
	t.Logf("answers by status: %v; records acknowledged: %d, writes answered 503 (outcome unknown): %d",
		l.status, len(l.acked), len(l.maybe))
}

// readRecord reads a record's acknowledged fields straight from the database.
func readRecord(sqlDB *sql.DB, id string) (recordState, error) {
	var (
		s       = recordState{id: id}
		version int
	)
	err := sqlDB.QueryRowContext(context.Background(),
		"SELECT version, last_name, deleted_at IS NOT NULL FROM alumni WHERE public_id = ?", id).Scan(&version, &s.lastName, &s.deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return s, errors.New("not in the database")
	}
	s.etag = `"` + strconv.Itoa(version) + `"`
	return s, err
}

// probe answers the status of GET path on a plain client (health checks are not in the
// contract), 0 when no answer came.
func probe(base, path string) int {
	c := &http.Client{Timeout: faultHangGuard}
	resp, err := c.Get(base + path)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// eventually polls cond every 50 ms until it holds, failing the test (with what) when it
// still does not after two minutes: a hang guard, not a timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

// sample records, every 20 ms until the test ends, the most goroutines and database
// connections in use it saw; peak returns them (and resets them) with the pool's waits so far.
func sample(t *testing.T, sqlDB *sql.DB) (peak func() (goroutines, inUse int, waits int64)) {
	var mu sync.Mutex
	var g, u int
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n, st := runtime.NumGoroutine(), sqlDB.Stats()
			mu.Lock()
			g, u = max(g, n), max(u, st.InUse)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return func() (int, int, int64) {
		mu.Lock()
		defer mu.Unlock()
		pg, pu := g, u
		g, u = 0, 0
		return pg, pu, sqlDB.Stats().WaitCount
	}
}

// TestFaultDatabaseUnreachable makes the database unreachable under load: requests answer 503
// problem+json with Retry-After (never 500, never hanging), /readyz turns 503 while /healthz
// stays 200, and once the database is back everything works again without a restart.
func TestFaultDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	times := faultTimes()
	proxy := apitest.NewProxy(t)
	srv := apitest.NewServer(t, apitest.DefaultConfig(), apitest.ThroughProxy(proxy))
	load := startLoad(t, srv, 4)
	time.Sleep(times.before)
	load.recovered() // the load works before the fault

	load.l.faulty.Store(true)
	proxy.Disable()
	outage := time.Now()
	eventually(t, "/readyz answers 503", func() bool { return probe(srv.URL, "/readyz") == http.StatusServiceUnavailable })
	for time.Since(outage) < times.fault {
		if s := probe(srv.URL, "/healthz"); s != http.StatusOK {
			t.Errorf("/healthz answered %d while the database was away", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	proxy.Enable()
	back := time.Now()
	load.l.faulty.Store(false)
	tries := 0
	eventually(t, "/readyz answers 200 again", func() bool {
		tries++
		return probe(srv.URL, "/readyz") == http.StatusOK
	})
	readyAfter := time.Since(back)
	load.recovered()
	workAfter := time.Since(back)
	during, slowest := load.l.takeDuring(), load.l.takeSlowest()
	time.Sleep(times.after)
	load.check(srv)
	t.Logf("figures: database away %s, answers meanwhile %v, the slowest answer took %s; /readyz 200 %s after it returned (%d probes); every worker completed a cycle %s after it returned",
		times.fault.Round(time.Millisecond), during, slowest.Round(time.Millisecond), readyAfter.Round(time.Millisecond), tries, workAfter.Round(time.Millisecond))
}

// TestFaultDatabaseSlow makes the database slow and then silent under load — latency spikes,
// a bandwidth limit, and a proxy that holds every byte without closing — then heals it:
// requests answer (200s or 503s, never 500) within the request timeout, and afterwards the
// goroutines and database connections return to their baseline. It does not run in parallel
// with other tests: it counts the goroutines of the whole test process.
func TestFaultDatabaseSlow(t *testing.T) {
	times := faultTimes()
	proxy := apitest.NewProxy(t)
	srv := apitest.NewServer(t, apitest.DefaultConfig(), apitest.ThroughProxy(proxy))
	// Some records, so that list pages are more than a few bytes under the bandwidth limit.
	for i := range 30 {
		create(t, srv.Client, map[string]any{"firstName": "Slow", "lastName": fmt.Sprintf("Base%d", i), "notes": strings.Repeat("n", 500)})
	}
	goroutines := runtime.NumGoroutine()
	load := startLoad(t, srv, 4)
	time.Sleep(times.before)
	load.recovered()
	peak := sample(t, srv.DB)
	load.l.takeSlowest()

	for _, toxic := range []apitest.Toxic{
		{Name: "spikes", Type: "latency", Attributes: map[string]any{"latency": 500, "jitter": 500}},
		{Name: "beyond-timeout", Type: "latency", Attributes: map[string]any{"latency": 2000}}, // a write makes more than 5 round trips
		{Name: "narrow", Type: "bandwidth", Attributes: map[string]any{"rate": 2}},
		{Name: "silent", Type: "timeout", Attributes: map[string]any{"timeout": 0}},
	} {
		load.l.faulty.Store(true)
		proxy.AddToxic(toxic)
		time.Sleep(times.fault)
		if toxic.Type == "timeout" {
			eventually(t, "/readyz answers 503 while the database is silent", func() bool { return probe(srv.URL, "/readyz") == http.StatusServiceUnavailable })
		}
		if s := probe(srv.URL, "/healthz"); s != http.StatusOK {
			t.Errorf("/healthz answered %d under %s", s, toxic.Name)
		}
		if st := srv.DB.Stats(); st.OpenConnections > st.MaxOpenConnections {
			t.Errorf("under %s: %d open connections, at most %d allowed", toxic.Name, st.OpenConnections, st.MaxOpenConnections)
		}
		proxy.RemoveToxics()
		load.l.faulty.Store(false)
		load.recovered()
		g, inUse, waits := peak()
		t.Logf("figures: %s (%v) for %s: answers meanwhile %v, the slowest answer (until all recovered) took %s; at most %d goroutines and %d connections in use, %d waits for a connection so far",
			toxic.Name, toxic.Attributes, times.fault, load.l.takeDuring(), load.l.takeSlowest().Round(time.Millisecond), g, inUse, waits)
	}
	time.Sleep(times.after)
	load.check(srv)

	// Nothing piled up: the connections in use and the goroutines return to what they were.
	// The idle connections (HTTP keep-alive, the pool's, each with the proxy's goroutines)
	// are closed first; the margin absorbs the connections the event feed and the import
	// worker open meanwhile.
	eventually(t, "no database connection stays in use", func() bool { return srv.DB.Stats().InUse == 0 })
	srv.Client.CloseIdleConnections()
	srv.DB.SetMaxIdleConns(0)
	eventually(t, "the goroutines return to their baseline", func() bool { return runtime.NumGoroutine() <= goroutines+25 })
	t.Logf("goroutines: %d before the load, %d after; database: %+v", goroutines, runtime.NumGoroutine(), srv.DB.Stats())
}
