package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/httpapi"
	"github.com/alumnid/alumnid/internal/metrics"
)

// busyServer starts a server with the admission bounds a, scrapeable metrics, and one create
// request holding the only API slot: its body arrives only when the returned function is called.
func busyServer(t *testing.T, a httpapi.Admission) (s *apitest.Server, finish func() *apitest.Response) {
	t.Helper()
	cfg := apitest.DefaultConfig()
	cfg.Admission = a
	cfg.Metrics = metrics.New()
	cfg.MetricsToken = metricsToken
	// The request holding the slot waits for its body as long as the test needs, even on a
	// machine busy with other work: the default deadline (10 s) would end it, and free the
	// slot, before a slow test got to finish.
	cfg.RequestTimeout = time.Minute
	s = apitest.NewServer(t, cfg)
	body, write := io.Pipe()
	done := make(chan *apitest.Response, 1)
	go func() {
		done <- s.Client.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/alumni", Body: body})
	}()
	return s, func() *apitest.Response {
		_, _ = write.Write([]byte(`{"firstName":"Ada","lastName":"Lovelace"}`))
		_ = write.Close()
		select {
		case r := <-done:
			return r
		case <-time.After(time.Minute): // hang guard
			t.Fatal("the request holding the slot never finished")
			return nil
		}
	}
}

// untilStatus repeats send until it answers want, or fails the test after many tries.
func untilStatus(t *testing.T, want int, send func() *apitest.Response) *apitest.Response {
	t.Helper()
	for range 500 {
		if r := send(); r.Status == want {
			return r
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := send()
	t.Fatalf("never answered %d; last: %d %s", want, r.Status, r.Body)
	return nil
}

func scrape(t *testing.T, s *apitest.Server) string {
	t.Helper()
	r := s.Anon.Get("/metrics", map[string]string{"Authorization": "Bearer " + metricsToken})
	if r.Status != http.StatusOK {
		t.Fatalf("metrics: %d", r.Status)
	}
	return string(r.Body)
}

func checkShed(t *testing.T, r *apitest.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("shed answer is %q, want problem+json", ct)
	}
	if got := r.Header.Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2", got)
	}
}

func TestAdmissionShedsAfterQueueTimeout(t *testing.T) {
	s, finish := busyServer(t, httpapi.Admission{MaxInFlight: 1, MaxQueue: 8, QueueTimeout: 50 * time.Millisecond})
	list := func() *apitest.Response { return s.Client.Get("/api/v1/alumni?limit=1", nil) }
	checkShed(t, untilStatus(t, http.StatusServiceUnavailable, list))
	if !strings.Contains(scrape(t, s), `alumnid_http_requests_shed_total{lane="api",reason="queue_timeout"}`) {
		t.Error("the shed request is not counted")
	}
	// Health checks and the contract never wait for a turn.
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
		if r := s.Anon.Get(path, nil); r.Status != http.StatusOK {
			t.Errorf("%s: %d while busy", path, r.Status)
		}
	}
	if r := finish(); r.Status != http.StatusCreated {
		t.Fatalf("the slow create: %d %s", r.Status, r.Body)
	}
	if r := list(); r.Status != http.StatusOK {
		t.Fatalf("after the slot is free: %d", r.Status)
	}
}

func TestAdmissionShedsWhenQueueIsFull(t *testing.T) {
	s, finish := busyServer(t, httpapi.Admission{MaxInFlight: 1, MaxQueue: 1, QueueTimeout: time.Minute})
	// Send a list until one waits: then the slow create holds the slot and the queue is full.
	// (A list that arrives before the create takes the slot is simply answered.)
	var queued chan *apitest.Response
	for i := 0; queued == nil; i++ {
		if i == 100 {
			t.Fatal("no request ever queued")
		}
		answered := make(chan *apitest.Response, 1)
		go func() { answered <- s.Client.Get("/api/v1/alumni?limit=1", nil) }()
		for j := 0; ; j++ {
			if strings.Contains(scrape(t, s), "alumnid_http_requests_queued 1\n") {
				queued = answered
				break
			}
			if len(answered) > 0 || j == 100 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	r := s.Client.Get("/api/v1/alumni/01JD3M5X7V8Q9R2S4T6W8Y0Z1E", nil)
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("with the queue full: %d, want 503", r.Status)
	}
	checkShed(t, r)
	if !strings.Contains(scrape(t, s), `alumnid_http_requests_shed_total{lane="api",reason="queue_full"} 1`) {
		t.Error("the shed request is not counted")
	}
	if r := finish(); r.Status != http.StatusCreated {
		t.Fatalf("the slow create: %d %s", r.Status, r.Body)
	}
	select {
	case r := <-queued:
		if r.Status != http.StatusOK {
			t.Fatalf("the queued request: %d %s", r.Status, r.Body)
		}
	case <-time.After(time.Minute): // hang guard
		t.Fatal("the queued request never finished")
	}
}

func TestAdmissionLimitsConcurrentUploads(t *testing.T) {
	cfg := apitest.DefaultConfig()
	cfg.Admission = httpapi.Admission{MaxStreams: 1}
	s := apitest.NewServer(t, cfg)
	upload := func() *apitest.Response {
		return upload(t, s.Client, "dry_run", "email,firstName,lastName\r\nada@example.org,Ada,King\r\n")
	}
	// A multipart upload whose file never ends until the test says so holds the lane, and
	// another upload is shed meanwhile. The order of arrival is up to the scheduler: an upload
	// sent before the slow one takes the lane is answered, and the slow one, arriving while
	// such an upload still holds the lane, is itself shed — then the test starts again.
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			t.Fatal("the slow upload never held the lane")
		}
		if slowUploadHeldLane(t, s, upload) {
			break
		}
	}
	untilStatus(t, http.StatusAccepted, upload)
}

// slowUpload starts an upload whose file does not end until the test writes the rest to write;
// done receives the answer.
func slowUpload(s *apitest.Server) (write *io.PipeWriter, done chan *apitest.Response) {
	body, write := io.Pipe()
	done = make(chan *apitest.Response, 1)
	go func() {
		done <- s.Client.Do(apitest.Request{Method: http.MethodPost, Path: importsPath, Body: body,
			ContentType: "multipart/form-data; boundary=slow"})
	}()
	_, _ = write.Write([]byte("--slow\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\ndry_run\r\n--slow\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nemail,firstName,lastName\r\n"))
	return write, done
}

// slowUploadHeldLane sends an upload whose file ends only after another upload was shed — one
// with a whole file, then one whose file is still arriving, answered at once all the same —
// and a list was answered. It reports false when the slow upload was itself shed.
func slowUploadHeldLane(t *testing.T, s *apitest.Server, upload func() *apitest.Response) bool {
	t.Helper()
	write, done := slowUpload(s)
	answeredEarly := func(r *apitest.Response) bool {
		if r.Status != http.StatusServiceUnavailable { // it must hold the lane until its file ends
			t.Fatalf("the slow upload was answered before its file ended: %d %s", r.Status, r.Body)
		}
		_ = write.CloseWithError(io.ErrUnexpectedEOF)
		return false
	}
	for probe := 0; ; probe++ {
		if probe == 500 {
			t.Fatal("no upload was shed while the slow one ran")
		}
		select {
		case r := <-done:
			return answeredEarly(r)
		default:
		}
		if r := upload(); r.Status == http.StatusServiceUnavailable {
			checkShed(t, r)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// An upload shed while its own file is still arriving is answered without waiting for
	// the file (net/http would otherwise read on first).
	another, anotherDone := slowUpload(s)
	select {
	case r := <-anotherDone:
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("a second slow upload: %d %s", r.Status, r.Body)
		}
		checkShed(t, r)
	case <-time.After(time.Minute): // hang guard
		t.Fatal("a second slow upload was not answered before its file ended")
	}
	_ = another.CloseWithError(io.ErrUnexpectedEOF)
	// Other requests are not held up by the uploads' lane.
	if r := s.Client.Get("/api/v1/alumni?limit=1", nil); r.Status != http.StatusOK {
		t.Fatalf("list while an upload runs: %d", r.Status)
	}
	select {
	case r := <-done:
		return answeredEarly(r)
	default:
	}
	_, _ = write.Write([]byte("grace@example.org,Grace,Hopper\r\n--slow--\r\n"))
	_ = write.Close()
	select {
	case r := <-done:
		switch r.Status {
		case http.StatusAccepted:
			return true
		case http.StatusServiceUnavailable: // shed on arrival, while an earlier upload held the lane
			return false
		}
		t.Fatalf("the slow upload: %d %s", r.Status, r.Body)
	case <-time.After(time.Minute): // hang guard
		t.Fatal("the slow upload never finished")
	}
	return false
}

// Sign-ins take a lane of their own: one is answered while every turn of the main lane is
// taken, and sign-ins that find their lane taken wait and are shed in it, not in the main one.
func TestAdmissionSignInsHaveTheirOwnLane(t *testing.T) {
	s, finish := busyServer(t, httpapi.Admission{MaxInFlight: 1, MaxQueue: 8, QueueTimeout: 50 * time.Millisecond, MaxPasswordWork: 1})
	email := s.CreateUser(t, auth.RoleStaff, "")
	list := func() *apitest.Response { return s.Client.Get("/api/v1/alumni?limit=1", nil) }
	untilStatus(t, http.StatusServiceUnavailable, list) // the main lane is full
	r := s.Anon.Post("/api/v1/auth/login", map[string]string{"email": email, "password": apitest.TestPassword})
	if r.Status != http.StatusOK {
		t.Errorf("a sign-in while the main lane is full: %d %s", r.Status, r.Body)
	}
	if m := scrape(t, s); strings.Contains(m, `alumnid_http_requests_shed_total{lane="password"`) {
		t.Error("a sign-in was shed with its own lane free")
	}
	if r := finish(); r.Status != http.StatusCreated {
		t.Fatalf("the slow create: %d %s", r.Status, r.Body)
	}
}
