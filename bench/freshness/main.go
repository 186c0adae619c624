// Command freshness measures how soon a change made through one replica shows through another
// (issue 16: "a create, update, delete, restore or consent change shows in search, facets and
// reports within 1 s (p99)"). It makes N changes through replica A, cycling through create,
// update (a new last name), delete, restore and a directory-consent change of one record at a
// time, each naming the record by a unique random word (its last name). After each change it
// polls replica B, as fast as it answers, on three surfaces at once until each shows the change:
//
//   - search:  GET /api/v1/alumni?q=WORD (the record in the page, or gone from it)
//   - facets:  GET /api/v1/alumni/facets?q=WORD (total.count one more or one less)
//   - report:  GET /api/v1/analytics/overview?q=WORD (total one more or one less)
//
// (for a consent change each with &directoryConsent=<the new value>). The time measured is from
// A's answer to the first answer of B that shows the change; "all" is the latest of the three.
// Before each change B is read once on each surface, to check that it does not show the change
// yet and to know the count to expect. bench/freshness.sh prepares the database and starts the
// two replicas; run it through `task bench-freshness`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type config struct {
	a, b, email, password, out string
	n                          int
	timeout, pause             time.Duration
	keep                       bool
}

func main() {
	var c config
	flag.StringVar(&c.a, "a", "http://127.0.0.1:8092", "base URL of replica A, which makes the changes")
	flag.StringVar(&c.b, "b", "http://127.0.0.1:8093", "base URL of replica B, which is read")
	flag.StringVar(&c.email, "email", "bench-admin@bench.alumnid.test", "account (admin or staff) that makes and reads the changes")
	flag.StringVar(&c.password, "password", "", "its password")
	flag.IntVar(&c.n, "n", 200, "changes to make, cycling through create, update, delete, restore and consent")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "give up on a change that B has not shown after this long")
	flag.DurationVar(&c.pause, "pause", time.Millisecond, "pause between two reads of one surface on B (at most 5 ms)")
	flag.StringVar(&c.out, "out", "", "also write the markdown table to this file")
	flag.BoolVar(&c.keep, "keep", false, "keep the records made (by default they are deleted at the end)")
	flag.Parse()
	if c.password == "" {
		log.Fatal("-password is required")
	}
	c.pause = min(c.pause, 5*time.Millisecond)
	c.a, c.b = strings.TrimRight(c.a, "/"), strings.TrimRight(c.b, "/")

	r := &runner{config: c, hc: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16},
	}}
	res := r.run(context.Background())
	table := res.markdown(c)
	fmt.Print("\n" + res.text() + "\n" + table)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(table), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if res.failures > 0 {
		os.Exit(1)
	}
}

var operations = []string{"create", "update", "delete", "restore", "consent"}

var surfaces = []string{"search", "facets", "report"}

// record is the alumnus the changes of the current cycle are made to.
type record struct {
	id, word string
	consent  bool
}

// sample is one change: A's own time, and when each surface of B showed it (-1: never, within
// the timeout).
type sample struct {
	op     string
	write  time.Duration
	shown  [3]time.Duration
	reads  [3]int // reads of B until it showed
	failed bool
}

type results struct {
	samples  []sample
	failures int // changes A refused, or that B did not show in time
	errors   []string
}

type runner struct {
	config
	hc      *http.Client
	token   string
	tokenAt time.Time
}

func (r *runner) run(ctx context.Context) *results {
	res := &results{}
	var rec record
	var made []string
	step := 0
	for i := range r.n {
		op := operations[step]
		s, err := r.change(ctx, op, &rec)
		if err != nil {
			res.failures++
			res.errors = append(res.errors, fmt.Sprintf("change %d (%s): %v", i+1, op, err))
			log.Printf("change %d (%s): %v; starting again with a new record", i+1, op, err)
			step = 0
			continue
		}
		if op == "create" {
			made = append(made, rec.id)
		}
		res.samples = append(res.samples, s)
		if (i+1)%25 == 0 {
			log.Printf("%d of %d changes", i+1, r.n)
		}
		step = (step + 1) % len(operations)
		if s.failed { // B may still show the record as it was: the next change would not be one
			res.failures++
			step = 0
		}
	}
	if !r.keep {
		for _, id := range made {
			_, _, _ = r.do(ctx, http.MethodDelete, r.a+"/api/v1/alumni/"+id, "", nil, nil)
		}
	}
	return res
}

// change makes one change of op to rec through A and waits for B to show it on every surface.
func (r *runner) change(ctx context.Context, op string, rec *record) (sample, error) {
	s := sample{op: op}
	present := true // whether the record matches the query once the change shows
	query := url.Values{}
	switch op {
	case "create":
		rec.id, rec.word = "", randomWord()
	case "update":
		rec.word = randomWord()
	case "delete":
		present = false
	case "consent":
		rec.consent = !rec.consent
		query.Set("directoryConsent", fmt.Sprint(rec.consent))
	}
	query.Set("q", rec.word)

	// Before: B's search must not show the change yet; the counts are the baseline (a random
	// word may still match a few records within the typos tolerated).
	var before [3]int
	for k := range surfaces {
		shows, count, err := r.read(ctx, k, query, rec.id, present)
		if err != nil {
			return s, fmt.Errorf("reading B before the change: %w", err)
		}
		if k == 0 && shows {
			return s, errors.New("search on replica B shows the change before it is made")
		}
		before[k] = count
	}
	want := func(k, count int) bool {
		if k == 0 {
			return true // the list is judged by the record's presence
		}
		if present {
			return count == before[k]+1
		}
		return count == before[k]-1
	}

	start := time.Now()
	if err := r.write(ctx, op, rec); err != nil {
		return s, err
	}
	done := time.Now()
	s.write = done.Sub(start)

	var wg sync.WaitGroup
	for k := range surfaces {
		wg.Go(func() {
			s.shown[k] = -1
			for time.Since(done) < r.timeout {
				shows, count, err := r.read(ctx, k, query, rec.id, present)
				s.reads[k]++
				if err == nil && shows && want(k, count) {
					s.shown[k] = time.Since(done)
					return
				}
				time.Sleep(r.pause)
			}
		})
	}
	wg.Wait()
	for k := range surfaces {
		if s.shown[k] < 0 {
			s.failed = true
			log.Printf("%s of %s (%s): B's %s did not show it within %s", op, rec.id, rec.word, surfaces[k], r.timeout)
		}
	}
	return s, nil
}

// write makes the change through A.
func (r *runner) write(ctx context.Context, op string, rec *record) error {
	base := r.a + "/api/v1/alumni"
	switch op {
	case "create":
		var a struct {
			ID               string `json:"id"`
			DirectoryConsent bool   `json:"directoryConsent"`
		}
		body := map[string]any{
			"firstName": "Freshness", "lastName": capitalized(rec.word),
			"address": map[string]string{"city": "Boston", "country": "US"},
			"tags":    []string{"bench-freshness"},
		}
		if _, _, err := r.do(ctx, http.MethodPost, base, "application/json", body, &a); err != nil {
			return err
		}
		rec.id, rec.consent = a.ID, a.DirectoryConsent
		return nil
	case "update", "consent":
		var cur struct {
			DirectoryConsent bool `json:"directoryConsent"`
		}
		_, etag, err := r.do(ctx, http.MethodGet, base+"/"+rec.id, "", nil, &cur)
		if err != nil {
			return err
		}
		patch := map[string]any{"lastName": capitalized(rec.word)}
		if op == "consent" {
			if cur.DirectoryConsent == rec.consent {
				return fmt.Errorf("consent is already %v", rec.consent)
			}
			patch = map[string]any{"directoryConsent": rec.consent}
		}
		_, _, err = r.doIfMatch(ctx, http.MethodPatch, base+"/"+rec.id, "application/merge-patch+json", patch, etag)
		return err
	case "delete":
		_, _, err := r.do(ctx, http.MethodDelete, base+"/"+rec.id, "", nil, nil)
		return err
	case "restore":
		_, _, err := r.do(ctx, http.MethodPost, base+"/"+rec.id+"/restore", "", nil, nil)
		return err
	}
	return fmt.Errorf("unknown operation %q", op)
}

// read asks B's surface k about query: whether it shows the record as wanted (present or
// absent; for facets and report: always true) and the count it gives.
func (r *runner) read(ctx context.Context, k int, query url.Values, id string, present bool) (bool, int, error) {
	switch surfaces[k] {
	case "search":
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if _, _, err := r.do(ctx, http.MethodGet, r.b+"/api/v1/alumni?limit=10&"+query.Encode(), "", nil, &page); err != nil {
			return false, 0, err
		}
		found := id != "" && slices.ContainsFunc(page.Items, func(it struct {
			ID string `json:"id"`
		}) bool {
			return it.ID == id
		})
		return found == present, len(page.Items), nil
	case "facets":
		var f struct {
			Total struct {
				Count int `json:"count"`
			} `json:"total"`
		}
		_, _, err := r.do(ctx, http.MethodGet, r.b+"/api/v1/alumni/facets?"+query.Encode(), "", nil, &f)
		return true, f.Total.Count, err
	default:
		var o struct {
			Total int `json:"total"`
		}
		_, _, err := r.do(ctx, http.MethodGet, r.b+"/api/v1/analytics/overview?"+query.Encode(), "", nil, &o)
		return true, o.Total, err
	}
}

func (r *runner) do(ctx context.Context, method, u, contentType string, body, into any) (int, string, error) {
	return r.doIfMatch(ctx, method, u, contentType, body, "", into)
}

var errStatus = errors.New("unexpected status")

func (r *runner) doIfMatch(ctx context.Context, method, u, contentType string, body any, etag string, into ...any) (int, string, error) {
	tok, err := r.bearer(ctx)
	if err != nil {
		return 0, "", err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, "", fmt.Errorf("%w: %s %s: %d %s", errStatus, method, u, resp.StatusCode, bytes.TrimSpace(data))
	}
	if len(into) > 0 && into[0] != nil && len(data) > 0 {
		if err := json.Unmarshal(data, into[0]); err != nil {
			return resp.StatusCode, "", fmt.Errorf("%s %s: %w", method, u, err)
		}
	}
	return resp.StatusCode, resp.Header.Get("ETag"), nil
}

// bearer returns an access token, signing in through A again every 10 minutes (tokens last 15).
func (r *runner) bearer(ctx context.Context) (string, error) {
	if r.token != "" && time.Since(r.tokenAt) < 10*time.Minute {
		return r.token, nil
	}
	b, _ := json.Marshal(map[string]string{"email": r.email, "password": r.password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.a+"/api/v1/auth/login", bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"accessToken"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign-in as %s: %d", r.email, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return "", err
	}
	r.token, r.tokenAt = t.AccessToken, time.Now()
	return r.token, nil
}

// randomWord is a 10-letter lower-case word that no seeded record holds.
func randomWord() string {
	b := make([]byte, 10)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

func capitalized(w string) string { return strings.ToUpper(w[:1]) + w[1:] }

// stats are the percentiles of durations; n counts them, timedOut those never shown.
type stats struct {
	n, timedOut, firstRead int
	p50, p95, p99, max     time.Duration
}

// summarize takes, for each sample passing keep, the duration d gives (negative: timed out)
// and whether B's first read showed it.
func summarize(samples []sample, keep func(sample) bool, d func(sample) (time.Duration, bool)) stats {
	var st stats
	var ds []time.Duration
	for _, s := range samples {
		if !keep(s) {
			continue
		}
		v, first := d(s)
		st.n++
		if v < 0 {
			st.timedOut++
			v = time.Duration(math.MaxInt64)
		}
		if first {
			st.firstRead++
		}
		ds = append(ds, v)
	}
	if len(ds) == 0 {
		return st
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration { return ds[max(0, int(math.Ceil(p*float64(len(ds))))-1)] }
	st.p50, st.p95, st.p99, st.max = rank(0.50), rank(0.95), rank(0.99), ds[len(ds)-1]
	return st
}

// all is when every surface showed the change (negative when one never did).
func all(s sample) (time.Duration, bool) {
	latest, first := time.Duration(0), true
	for k := range surfaces {
		if s.shown[k] < 0 {
			return -1, false
		}
		latest = max(latest, s.shown[k])
		first = first && s.reads[k] == 1
	}
	return latest, first
}

func surface(k int) func(sample) (time.Duration, bool) {
	return func(s sample) (time.Duration, bool) { return s.shown[k], s.reads[k] == 1 }
}

func writeTime(s sample) (time.Duration, bool) { return s.write, false }

func ms(d time.Duration) string {
	switch {
	case d == time.Duration(math.MaxInt64):
		return "never"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
}

func (res *results) groups() []string { return append(slices.Clone(operations), "all") }

func keepOp(op string) func(sample) bool {
	return func(s sample) bool { return op == "all" || s.op == op }
}

// text is the full breakdown: per operation, each surface, all three and A's write.
func (res *results) text() string {
	var b strings.Builder
	for _, op := range res.groups() {
		if summarize(res.samples, keepOp(op), all).n == 0 {
			continue
		}
		fmt.Fprintf(&b, "== %s\n", op)
		line := func(name string, st stats) {
			fmt.Fprintf(&b, "  %-8s n=%-4d p50 %-9s p95 %-9s p99 %-9s max %-9s first read %d/%d, timed out %d\n",
				name, st.n, ms(st.p50), ms(st.p95), ms(st.p99), ms(st.max), st.firstRead, st.n, st.timedOut)
		}
		for k, name := range surfaces {
			line(name, summarize(res.samples, keepOp(op), surface(k)))
		}
		line("all", summarize(res.samples, keepOp(op), all))
		w := summarize(res.samples, keepOp(op), writeTime)
		fmt.Fprintf(&b, "  %-8s n=%-4d p50 %-9s p95 %-9s p99 %-9s max %s (A's answer)\n", "write", w.n, ms(w.p50), ms(w.p95), ms(w.p99), ms(w.max))
	}
	for _, e := range res.errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}

// markdown is the table for docs/PERFORMANCE.md: time from A's answer until B shows the change
// in search, facets and the report (all three), per operation.
func (res *results) markdown(c config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Changes through %s, read through %s (%d changes, %s):\n\n", c.a, c.b, len(res.samples), time.Now().UTC().Format("2006-01-02"))
	b.WriteString("| Operation | Changes | p50 | p95 | p99 | max | search p99 | facets p99 | report p99 | shown on B's first read | not shown in " + c.timeout.String() + " | A's write p50 |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, op := range res.groups() {
		st := summarize(res.samples, keepOp(op), all)
		if st.n == 0 {
			continue
		}
		w := summarize(res.samples, keepOp(op), writeTime)
		var per [3]string
		for k := range surfaces {
			per[k] = ms(summarize(res.samples, keepOp(op), surface(k)).p99)
		}
		name := op
		if op == "all" {
			name = "**all**"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | %d | %s |\n", name, st.n,
			ms(st.p50), ms(st.p95), ms(st.p99), ms(st.max), per[0], per[1], per[2], st.firstRead, st.timedOut, ms(w.p50))
	}
	if res.failures > 0 {
		fmt.Fprintf(&b, "\n%d changes failed or were not shown in time (see the log).\n", res.failures)
	}
	return b.String()
}
