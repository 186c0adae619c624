// Command load drives one running alumnid with many concurrent simulated users, each signed in
// with a role and working through a realistic mix of requests with think time between them, and
// reports throughput, latency per operation, answers by status and the server's memory,
// goroutines and database connections before, during and after. bench/load.sh sets up the
// database and the server and runs it; see docs/RELIABILITY.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

type config struct {
	base, metricsURL, password, idsFile, out string
	clients                                  int
	duration, ramp, think, timeout, settle   time.Duration
	staff, viewers, alumni                   []string // accounts, by role
	alumnusRecords                           []string // the record of each alumnus account
	subscribeEvery                           int
}

func main() {
	var c config
	var staffN, viewerN int
	var alumniFile string
	flag.StringVar(&c.base, "base", "http://127.0.0.1:8088", "the service's base URL")
	flag.StringVar(&c.metricsURL, "metrics", "http://127.0.0.1:9098/metrics", "the service's Prometheus metrics")
	flag.StringVar(&c.password, "password", "", "password of every load account")
	flag.StringVar(&c.idsFile, "ids", "", "file of alumnus ids to read and update, one per line")
	flag.StringVar(&alumniFile, "alumni", "", "file of 'email id' lines: the alumnus accounts and their records")
	flag.StringVar(&c.out, "out", "", "also write the report to this file")
	flag.IntVar(&c.clients, "clients", 100, "concurrent simulated users")
	flag.IntVar(&staffN, "staff", 50, "staff accounts load-staff-N@load.alumnid.test")
	flag.IntVar(&viewerN, "viewers", 20, "viewer accounts load-viewer-N@load.alumnid.test")
	flag.IntVar(&c.subscribeEvery, "subscribe-every", 10, "every Nth office user also holds an events WebSocket")
	flag.DurationVar(&c.duration, "duration", 2*time.Minute, "how long every user works after the ramp")
	flag.DurationVar(&c.ramp, "ramp", 60*time.Second, "time over which users sign in and start")
	flag.DurationVar(&c.think, "think", 5*time.Second, "mean think time between a user's requests (uniform, 0.5 to 1.5 times)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "client timeout per request: longer counts as a timeout")
	flag.DurationVar(&c.settle, "settle", 20*time.Second, "wait after the run before the 'after' sample")
	flag.Parse()
	for i := range staffN {
		c.staff = append(c.staff, fmt.Sprintf("load-staff-%d@load.alumnid.test", i))
	}
	for i := range viewerN {
		c.viewers = append(c.viewers, fmt.Sprintf("load-viewer-%d@load.alumnid.test", i))
	}
	if alumniFile != "" {
		for _, line := range readLines(alumniFile) {
			if email, id, ok := strings.Cut(line, " "); ok {
				c.alumni, c.alumnusRecords = append(c.alumni, email), append(c.alumnusRecords, id)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	report := run(ctx, c, readLines(c.idsFile))
	stop()
	fmt.Print(report)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(report), 0o600); err != nil {
			log.Fatal(err)
		}
	}
}

func readLines(path string) []string {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	return strings.Fields(string(b))
}

// results collects every answer: latency by operation and counts by operation and status.
type results struct {
	mu       sync.Mutex
	latency  map[string][]time.Duration
	statuses map[string]map[string]int
	events   atomic.Int64
	dropped  atomic.Int64
}

func (r *results) add(op, status string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.statuses[op] == nil {
		r.statuses[op] = map[string]int{}
	}
	r.statuses[op][status]++
	if status[0] == '2' || status == "304" {
		r.latency[op] = append(r.latency[op], d)
	}
}

// sample is what the server reported about itself at one moment.
type sample map[string]float64

// scrape reads the few metrics the report shows.
func scrape(url string) (sample, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	s := sample{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes",
			"go_sql_in_use_connections", "go_sql_open_connections", "alumnid_http_requests_in_flight",
			"alumnid_http_requests_queued", "alumnid_events_subscribers"} {
			if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
				if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
					s[name] = v
				}
			}
		}
	}
	return s, sc.Err()
}

func run(ctx context.Context, c config, ids []string) string {
	if len(ids) == 0 {
		log.Fatal("no ids: pass -ids")
	}
	res := &results{latency: map[string][]time.Duration{}, statuses: map[string]map[string]int{}}
	transport := &http.Transport{MaxIdleConns: c.clients * 2, MaxIdleConnsPerHost: c.clients * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: transport}
	before, err := scrape(c.metricsURL)
	if err != nil {
		log.Fatalf("metrics: %v", err)
	}

	peak := sample{}
	var samples []sample
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if s, err := scrape(c.metricsURL); err == nil {
					samples = append(samples, s)
					for k, v := range s {
						peak[k] = max(peak[k], v)
					}
				}
			}
		}
	}()

	start := time.Now()
	end := start.Add(c.ramp + c.duration)
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delay := time.Duration(int64(c.ramp) * int64(i) / int64(c.clients))
			select {
			case <-time.After(delay):
			case <-runCtx.Done():
				return
			}
			u := newUser(i, c, hc, ids, res)
			u.work(runCtx)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	transport.CloseIdleConnections()
	time.Sleep(c.settle)
	close(stopSampling)
	<-sampled
	after, _ := scrape(c.metricsURL)
	return format(c, res, elapsed, before, peak, average(samples), after)
}

func average(ss []sample) sample {
	avg := sample{}
	for _, s := range ss {
		for k, v := range s {
			avg[k] += v / float64(len(ss))
		}
	}
	return avg
}

// user is one simulated person: signed in with a role, working until the run ends.
type user struct {
	i                int
	c                config
	hc               *http.Client
	ids              []string
	res              *results
	rnd              *rand.Rand
	role, account    string
	own              string // an alumnus's own record
	access, refresh  string
	seen             []string // records an alumnus saw in the directory
	nextCursor, last string
}

func newUser(i int, c config, hc *http.Client, ids []string, res *results) *user {
	u := &user{i: i, c: c, hc: hc, ids: ids, res: res, rnd: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
	switch n := i % 10; {
	case n < 6 || len(c.alumni) == 0 && n >= 8:
		u.role, u.account = "staff", c.staff[i%len(c.staff)]
	case n < 8:
		u.role, u.account = "viewer", c.viewers[i%len(c.viewers)]
	default:
		k := i % len(c.alumni)
		u.role, u.account, u.own = "alumnus", c.alumni[k], c.alumnusRecords[k]
	}
	return u
}

// call sends one request and records its answer under op; it returns the status (0 for a
// transport failure), the headers and the body. Busy answers (429, 503) make the user wait as
// told.
func (u *user) call(ctx context.Context, op, method, path string, body any, header map[string]string) (int, http.Header, []byte) {
	var rd io.Reader
	ct := "application/json"
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
		if method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
	}
	// A request is not cut short when the run ends; it has its own deadline (an export's is
	// longer: it streams for as long as it takes).
	timeout := u.c.timeout
	if op == "export" {
		timeout = 10 * time.Minute
	}
	reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, method, u.c.base+path, rd)
	if err != nil {
		panic(err) // a bug in this program: every path is built here
	}
	if body != nil {
		req.Header.Set("Content-Type", ct)
	}
	if u.access != "" {
		req.Header.Set("Authorization", "Bearer "+u.access)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := u.hc.Do(req)
	if err != nil {
		status := "transport"
		if errors.Is(err, context.DeadlineExceeded) {
			status = "timeout"
		}
		u.res.add(op, status, time.Since(t0))
		return 0, nil, nil
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		status := "transport"
		if errors.Is(err, context.DeadlineExceeded) {
			status = "timeout"
		}
		u.res.add(op, status, d)
		return 0, nil, nil
	}
	u.res.add(op, strconv.Itoa(resp.StatusCode), d)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		u.sleep(ctx, time.Duration(min(max(wait, 1), 30))*time.Second)
	}
	return resp.StatusCode, resp.Header, raw
}

func (u *user) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func (u *user) signIn(ctx context.Context) bool {
	for ctx.Err() == nil {
		status, _, body := u.call(ctx, "login", http.MethodPost, "/api/v1/auth/login",
			map[string]string{"email": u.account, "password": u.c.password}, nil)
		if status == http.StatusOK {
			u.takeTokens(body)
			return true
		}
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			log.Printf("user %d (%s): sign-in answered %d %s", u.i, u.role, status, body)
			return false
		}
	}
	return false
}

func (u *user) takeTokens(body []byte) {
	var t struct{ AccessToken, RefreshToken string }
	if json.Unmarshal(body, &t) == nil && t.AccessToken != "" {
		u.access, u.refresh = t.AccessToken, t.RefreshToken
	}
}

func (u *user) work(ctx context.Context) {
	if !u.signIn(ctx) {
		return
	}
	if u.role == "staff" && u.c.subscribeEvery > 0 && u.i%u.c.subscribeEvery == 0 {
		go u.subscribe(ctx)
	}
	for ctx.Err() == nil {
		u.act(ctx)
		think := time.Duration(float64(u.c.think) * (0.5 + u.rnd.Float64()))
		u.sleep(ctx, think)
	}
}

// weighted picks one of the actions by weight.
type action struct {
	weight int
	do     func(u *user, ctx context.Context)
}

// The mixes: relative weights of a user's actions. Exports are rare: an office exports a class
// or a region now and then, not every minute.
var officeMix = []action{
	{300, (*user).getRecord},
	{180, (*user).listPage},
	{60, (*user).listNext},
	{100, (*user).search},
	{80, (*user).update},
	{30, (*user).create},
	{40, (*user).facets},
	{69, (*user).analytics},
	{1, (*user).export},
	{20, (*user).refreshTokens},
}

var viewerMix = []action{
	{350, (*user).getRecord},
	{250, (*user).listPage},
	{80, (*user).listNext},
	{150, (*user).search},
	{60, (*user).facets},
	{89, (*user).analytics},
	{1, (*user).export},
	{20, (*user).refreshTokens},
}

var alumnusMix = []action{
	{300, (*user).getOwn},
	{100, (*user).updateOwn},
	{300, (*user).directory},
	{150, (*user).search},
	{130, (*user).getDirectoryRecord},
	{20, (*user).refreshTokens},
}

func (u *user) act(ctx context.Context) {
	mix := officeMix
	switch u.role {
	case "viewer":
		mix = viewerMix
	case "alumnus":
		mix = alumnusMix
	}
	total := 0
	for _, a := range mix {
		total += a.weight
	}
	n := u.rnd.IntN(total)
	for _, a := range mix {
		if n < a.weight {
			a.do(u, ctx)
			return
		}
		n -= a.weight
	}
}

func (u *user) anyID() string { return u.ids[u.rnd.IntN(len(u.ids))] }

func pick[T any](u *user, xs []T) T { return xs[u.rnd.IntN(len(xs))] }

var filters = []string{
	"country=DE", "status=lost_contact", "program=History", "graduationYearFrom=2010&graduationYearTo=2015",
	"faculty=Faculty%20of%20Engineering&sort=-graduationYear", "industry=Software&sort=lastName", "tag=volunteer",
	"sort=-updatedAt", "country=US&status=active&sort=-graduationYear", "city=Chicago", "sort=lastName",
	"graduationYearFrom=1995&graduationYearTo=1995&country=GB",
}

// searches are what people type: surnames, first names, a name and a filter, an employer.
var searches = []string{
	"q=okonkwo", "q=mcallister", "q=grosser", "q=ibanez", "q=chatterjee", "q=lefevre", "q=smith", "q=garcia",
	"q=maria%20lopez", "q=john%20smith", "q=wang&country=CN", "q=patel&graduationYearFrom=2015", "q=schmidt&sort=lastName",
	"q=nguyen%20tran", "q=kowalski", "q=dubois", "q=anderson&status=active", "q=fischer", "q=rossi", "q=haddad",
}

func (u *user) getRecord(ctx context.Context) {
	u.call(ctx, "get", http.MethodGet, "/api/v1/alumni/"+u.anyID(), nil, nil)
}

func (u *user) listPage(ctx context.Context) {
	path := "/api/v1/alumni?limit=25&" + pick(u, filters)
	status, _, body := u.call(ctx, "list", http.MethodGet, path, nil, nil)
	u.last = path
	u.keepCursor(status, body)
}

func (u *user) keepCursor(status int, body []byte) {
	var page struct {
		Items []struct {
			ID string `json:"id"`
		}
		NextCursor *string
	}
	u.nextCursor = ""
	if status == http.StatusOK && json.Unmarshal(body, &page) == nil {
		if page.NextCursor != nil {
			u.nextCursor = *page.NextCursor
		}
		if u.role == "alumnus" {
			u.seen = u.seen[:0]
			for _, it := range page.Items {
				u.seen = append(u.seen, it.ID)
			}
		}
	}
}

func (u *user) listNext(ctx context.Context) {
	if u.nextCursor == "" || u.last == "" {
		u.listPage(ctx)
		return
	}
	status, _, body := u.call(ctx, "list-next", http.MethodGet, u.last+"&cursor="+url.QueryEscape(u.nextCursor), nil, nil)
	u.keepCursor(status, body)
}

func (u *user) search(ctx context.Context) {
	path := "/api/v1/alumni?limit=25&" + pick(u, searches)
	status, _, body := u.call(ctx, "search", http.MethodGet, path, nil, nil)
	u.last = path
	u.keepCursor(status, body)
}

// update reads a record and changes it with If-Match, as an edit form does.
func (u *user) update(ctx context.Context) {
	id := u.anyID()
	status, h, _ := u.call(ctx, "get", http.MethodGet, "/api/v1/alumni/"+id, nil, nil)
	if status != http.StatusOK {
		return
	}
	patch := map[string]any{"preferredName": fmt.Sprintf("Load %d", u.rnd.IntN(1000)), "notes": "load test " + time.Now().Format(time.RFC3339Nano)}
	u.call(ctx, "update", http.MethodPatch, "/api/v1/alumni/"+id, patch, map[string]string{"If-Match": h.Get("ETag")})
}

func (u *user) create(ctx context.Context) {
	n := u.rnd.Int64()
	u.call(ctx, "create", http.MethodPost, "/api/v1/alumni", map[string]any{
		"firstName": "Load", "lastName": fmt.Sprintf("Tester%d", n%100000),
		"email": fmt.Sprintf("load-%d-%d@load.alumnid.test", u.i, n), "studentId": fmt.Sprintf("L%d-%d", u.i, n),
	}, map[string]string{"Idempotency-Key": fmt.Sprintf("load-%d-%d", u.i, n)})
}

func (u *user) facets(ctx context.Context) {
	u.call(ctx, "facets", http.MethodGet, "/api/v1/alumni/facets?"+pick(u, []string{"country=DE", "graduationYearFrom=2018", "program=History", "status=active&country=FR"}), nil, nil)
}

func (u *user) analytics(ctx context.Context) {
	path := pick(u, []string{
		"/api/v1/analytics/overview", "/api/v1/analytics/graduation-years", "/api/v1/analytics/geography",
		"/api/v1/analytics/employment", "/api/v1/analytics/programs", "/api/v1/analytics/data-quality",
		"/api/v1/analytics/overview?country=DE", "/api/v1/analytics/graduation-years?program=History",
	})
	op := "analytics"
	if strings.Contains(path, "?") {
		op = "analytics-filtered"
	}
	u.call(ctx, op, http.MethodGet, path, nil, nil)
}

// export downloads one graduating class of one country as NDJSON, read in full.
func (u *user) export(ctx context.Context) {
	year := 1980 + u.rnd.IntN(45)
	u.call(ctx, "export", http.MethodGet, fmt.Sprintf("/api/v1/alumni/export?format=ndjson&graduationYearFrom=%d&graduationYearTo=%d&country=%s",
		year, year, pick(u, []string{"DE", "US", "GB", "FR"})), nil, nil)
}

func (u *user) refreshTokens(ctx context.Context) {
	status, _, body := u.call(ctx, "refresh", http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refreshToken": u.refresh}, nil)
	if status == http.StatusOK {
		u.takeTokens(body)
	}
}

func (u *user) getOwn(ctx context.Context) {
	u.call(ctx, "get", http.MethodGet, "/api/v1/alumni/"+u.own, nil, nil)
}

func (u *user) updateOwn(ctx context.Context) {
	status, h, _ := u.call(ctx, "get", http.MethodGet, "/api/v1/alumni/"+u.own, nil, nil)
	if status != http.StatusOK {
		return
	}
	u.call(ctx, "update", http.MethodPatch, "/api/v1/alumni/"+u.own,
		map[string]any{"phone": fmt.Sprintf("+1 555 %04d", u.rnd.IntN(10000))}, map[string]string{"If-Match": h.Get("ETag")})
}

func (u *user) directory(ctx context.Context) {
	path := "/api/v1/alumni?limit=25&" + pick(u, []string{"sort=lastName", "graduationYearFrom=2010&graduationYearTo=2012", "q=smith", "country=DE"})
	status, _, body := u.call(ctx, "list", http.MethodGet, path, nil, nil)
	u.last = path
	u.keepCursor(status, body)
}

func (u *user) getDirectoryRecord(ctx context.Context) {
	if len(u.seen) == 0 {
		u.directory(ctx)
		return
	}
	u.call(ctx, "get", http.MethodGet, "/api/v1/alumni/"+pick(u, u.seen), nil, nil)
}

// subscribe holds an events WebSocket, as the React app's live panel does, until the run ends.
func (u *user) subscribe(ctx context.Context) {
	wsURL := "ws" + strings.TrimPrefix(u.c.base, "http") + "/api/v1/events"
	conn, resp, err := websocket.Dial(ctx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		u.res.add("events-connect", "transport", 0)
		return
	}
	defer func() { _ = conn.CloseNow() }()
	msg, _ := json.Marshal(map[string]string{"type": "auth", "token": u.access})
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		u.res.add("events-connect", "transport", 0)
		return
	}
	u.res.add("events-connect", "101", 0)
	for {
		_, _, err := conn.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				u.res.dropped.Add(1)
				log.Printf("user %d: events socket closed: %v", u.i, err)
			}
			return
		}
		u.res.events.Add(1)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func format(c config, r *results, elapsed time.Duration, before, peak, avg, after sample) string {
	var b strings.Builder
	total, ok := 0, 0
	errs := map[string]int{}
	ops := make([]string, 0, len(r.statuses))
	for op, st := range r.statuses {
		ops = append(ops, op)
		for s, n := range st {
			total += n
			if s[0] == '2' || s == "101" {
				ok += n
			} else {
				errs[s] += n
			}
		}
	}
	sort.Strings(ops)
	fmt.Fprintf(&b, "### %d clients\n\n", c.clients)
	fmt.Fprintf(&b, "%d requests in %s (ramp %s, then %s; think time %s mean): %.0f requests/s; %d answered 2xx.\n\n",
		total, elapsed.Round(time.Second), c.ramp, c.duration, c.think, float64(total)/elapsed.Seconds(), ok)
	fmt.Fprintf(&b, "| Operation | Requests | 2xx | p50 ms | p95 ms | p99 ms | max ms | Other answers |\n|---|---|---|---|---|---|---|---|\n")
	for _, op := range ops {
		lat := slices.Clone(r.latency[op])
		slices.Sort(lat)
		n, good := 0, 0
		var other []string
		for s, k := range r.statuses[op] {
			n += k
			if s[0] == '2' || s == "101" {
				good += k
			} else {
				other = append(other, fmt.Sprintf("%s×%d", s, k))
			}
		}
		sort.Strings(other)
		var mx time.Duration
		if len(lat) > 0 {
			mx = lat[len(lat)-1]
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s | %s |\n", op, n, good, ms(percentile(lat, .5)), ms(percentile(lat, .95)),
			ms(percentile(lat, .99)), ms(mx), strings.Join(other, ", "))
	}
	keys := make([]string, 0, len(errs))
	for s := range errs {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "\nAnswers other than 2xx, by status:")
	if len(keys) == 0 {
		fmt.Fprintf(&b, " none")
	}
	for _, s := range keys {
		fmt.Fprintf(&b, " %s: %d;", s, errs[s])
	}
	fmt.Fprintf(&b, "\n\nEvents received by %d subscribers: %d; subscribers dropped by the server: %d.\n\n",
		r.statuses["events-connect"]["101"], r.events.Load(), r.dropped.Load())
	fmt.Fprintf(&b, "| Server | before | average during | peak during | %s after |\n|---|---|---|---|---|\n", c.settle)
	for _, m := range []struct{ name, label string }{
		{"process_resident_memory_bytes", "resident memory (MiB)"}, {"go_memstats_heap_inuse_bytes", "heap in use (MiB)"},
		{"go_goroutines", "goroutines"}, {"go_sql_open_connections", "DB connections open"},
		{"go_sql_in_use_connections", "DB connections in use"}, {"alumnid_http_requests_in_flight", "requests in flight"},
		{"alumnid_http_requests_queued", "requests queued"}, {"alumnid_events_subscribers", "event subscribers"},
	} {
		f := func(s sample) string {
			v := s[m.name]
			if strings.HasSuffix(m.name, "bytes") {
				return strconv.FormatFloat(v/(1<<20), 'f', 1, 64)
			}
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m.label, f(before), f(avg), f(peak), f(after))
	}
	b.WriteString("\n")
	return b.String()
}
