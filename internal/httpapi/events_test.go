package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/events"
	"github.com/alumnid/alumnid/internal/httpapi"
)

// expectEvent fails t unless e has type typ about record id.
func expectEvent(t *testing.T, e api.Event, typ api.EventType, id string) {
	t.Helper()
	if e.Type != typ || e.AlumnusId == nil || *e.AlumnusId != id || e.Id == nil || e.OccurredAt == nil {
		t.Fatalf("got %s %v, want %s about %s", e.Type, deref(e.AlumnusId), typ, id)
	}
}

func fieldsOf(e api.Event) []string {
	if e.Fields == nil {
		return nil
	}
	return *e.Fields
}

// A change made through replica A reaches a subscriber of replica B, in order.
func TestEventsAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := apitest.NewServer(t, apitest.DefaultConfig())
	b := apitest.NewServer(t, apitest.DefaultConfig(), apitest.OnDatabaseOf(a))
	sub, before := b.Subscribe(t, b.As(t, auth.RoleStaff).Token(), "")
	if len(before) != 0 {
		t.Fatalf("events before ready without a resume: %v", before)
	}

	rec, etag := create(t, a.Client, ada())
	r := a.Client.Patch("/api/v1/alumni/"+rec.Id, etag, map[string]any{"employment": map[string]any{"jobTitle": "Analyst"}, "notes": "Met at the gala."})
	if r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if r := a.Client.Delete("/api/v1/alumni/"+rec.Id, r.Header.Get("ETag")); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := a.Client.Post("/api/v1/alumni/"+rec.Id+"/restore", nil); r.Status != http.StatusOK {
		t.Fatalf("restore: %d %s", r.Status, r.Body)
	}

	created := sub.Next(t)
	expectEvent(t, created, api.AlumnusCreated, rec.Id)
	updated := sub.Next(t)
	expectEvent(t, updated, api.AlumnusUpdated, rec.Id)
	if got := fieldsOf(updated); !slices.Equal(got, []string{"employment", "notes"}) {
		t.Errorf("updated fields %v, want [employment notes]", got)
	}
	expectEvent(t, sub.Next(t), api.AlumnusDeleted, rec.Id)
	restored := sub.Next(t)
	expectEvent(t, restored, api.AlumnusRestored, rec.Id)
	if *created.Id >= *restored.Id && len(*created.Id) >= len(*restored.Id) {
		t.Errorf("ids do not grow: %s then %s", *created.Id, *restored.Id)
	}
}

// A subscriber that reconnects with the last id it saw gets exactly what it missed.
func TestEventsResume(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig())
	token := s.As(t, auth.RoleStaff).Token()
	sub, _ := s.Subscribe(t, token, "")
	first, _ := create(t, s.Client, map[string]any{"firstName": "Ada", "lastName": "King"})
	last := sub.Next(t)
	expectEvent(t, last, api.AlumnusCreated, first.Id)
	sub.Close()

	var missed []string
	for i := range 3 {
		a, _ := create(t, s.Client, map[string]any{"firstName": fmt.Sprint("Grace", i), "lastName": "Hopper"})
		missed = append(missed, a.Id)
	}
	// The missed events come first, replayed; any the feed had not settled when the
	// subscriber came back follow live: all of them, in order, once.
	sub, replay := s.Subscribe(t, token, *last.Id)
	var got []string
	for _, e := range replay {
		if e.Type != api.AlumnusCreated {
			t.Fatalf("replayed %s, want only the missed creations", e.Type)
		}
		got = append(got, *e.AlumnusId)
	}
	for len(got) < len(missed) {
		got = append(got, *sub.Next(t).AlumnusId)
	}
	if !slices.Equal(got, missed) {
		t.Fatalf("got %v, want %v", got, missed)
	}
	// Then the live stream, nothing twice.
	next, _ := create(t, s.Client, map[string]any{"firstName": "Katherine", "lastName": "Johnson"})
	expectEvent(t, sub.Next(t), api.AlumnusCreated, next.Id)

	// Resuming from the current id replays nothing.
	_, replay = s.Subscribe(t, token, *last.Id+"0000000") // an id from the future: nothing to replay
	if len(replay) != 0 {
		t.Errorf("resuming from a future id replayed %d events", len(replay))
	}
}

// Beyond the replay limit a resuming subscriber is told to resync.
func TestEventsResync(t *testing.T) {
	t.Parallel()
	cfg := apitest.DefaultConfig()
	cfg.Feed = &events.Config{PollInterval: 20 * time.Millisecond, ReplayLimit: 2}
	s := apitest.NewServer(t, cfg)

	token := s.As(t, auth.RoleAdmin).Token()
	sub, _ := s.Subscribe(t, token, "")
	a, _ := create(t, s.Client, map[string]any{"firstName": "Ada", "lastName": "King"})
	last := sub.Next(t)
	expectEvent(t, last, api.AlumnusCreated, a.Id)
	for i := range 3 {
		g, _ := create(t, s.Client, map[string]any{"firstName": fmt.Sprint("Grace", i), "lastName": "Hopper"})
		sub.SkipUntil(t, g.Id) // the feed has settled it
	}
	_, before := s.Subscribe(t, token, *last.Id)
	if len(before) != 1 || before[0].Type != api.Resync || before[0].Id != nil {
		t.Fatalf("got %+v before ready, want one resync", before)
	}
}

// Each subscriber sees only events about records it may read, with only the fields it may
// read; import events go to the office only.
func TestEventsPrivacy(t *testing.T) {
	t.Parallel()
	s := newServerNoParallel(t)
	own, ownTag := create(t, s.Client, map[string]any{"firstName": "Ada", "lastName": "King", "directoryConsent": false})
	listed, listedTag := create(t, s.Client, map[string]any{"firstName": "Grace", "lastName": "Hopper", "directoryConsent": true})
	unlisted, unlistedTag := create(t, s.Client, map[string]any{"firstName": "Alan", "lastName": "Turing", "directoryConsent": false})

	alumnus, _ := s.Subscribe(t, s.AsAlumnus(t, own.Id).Token(), "")
	viewer, _ := s.Subscribe(t, s.As(t, auth.RoleViewer).Token(), "")
	staff, _ := s.Subscribe(t, s.As(t, auth.RoleStaff).Token(), "")
	// Changes made just before subscribing may still come: start after a listed record's creation.
	start, _ := create(t, s.Client, map[string]any{"firstName": "Start", "lastName": "Marker", "directoryConsent": true})
	for _, sub := range []*apitest.Subscriber{alumnus, viewer, staff} {
		sub.SkipUntil(t, start.Id)
	}

	patch := func(id, etag string, body map[string]any) string {
		t.Helper()
		r := s.Client.Patch("/api/v1/alumni/"+id, etag, body)
		if r.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		return r.Header.Get("ETag")
	}
	// Hidden from the alumnus (not listed) and from the viewer (contact details of someone who
	// did not consent); staff see it.
	unlistedTag = patch(unlisted.Id, unlistedTag, map[string]any{"phone": "+44 20 7946 0001"})
	// The office's notes and tags: hidden from the viewer and the alumnus, even on their own record.
	ownTag = patch(own.Id, ownTag, map[string]any{"notes": "Called twice.", "tags": []string{"donor"}})
	// The alumnus's own email and the listed record's employer and tags: the alumnus sees
	// their own email and the listed employer (not the tags); the viewer sees both, without
	// notes.
	ownTag = patch(own.Id, ownTag, map[string]any{"email": "ada.king@example.org"})
	listedTag = patch(listed.Id, listedTag, map[string]any{"employment": map[string]any{"employer": "Navy"}, "tags": []string{"mentor"}, "notes": "Keynote 2027."})
	_, _, _ = ownTag, listedTag, unlistedTag

	type want struct {
		id     string
		fields []string
	}
	check := func(name string, sub *apitest.Subscriber, wants []want) {
		t.Helper()
		for _, w := range wants {
			e := sub.Next(t)
			expectEvent(t, e, api.AlumnusUpdated, w.id)
			if !slices.Equal(fieldsOf(e), w.fields) {
				t.Errorf("%s: fields %v about %s, want %v", name, fieldsOf(e), w.id, w.fields)
			}
		}
	}
	check("alumnus", alumnus, []want{{own.Id, []string{"email"}}, {listed.Id, []string{"employment"}}})
	check("viewer", viewer, []want{{own.Id, []string{"tags"}}, {listed.Id, []string{"employment", "tags"}}})
	check("staff", staff, []want{{unlisted.Id, []string{"phone"}}, {own.Id, []string{"notes", "tags"}}, {own.Id, []string{"email"}},
		{listed.Id, []string{"employment", "notes", "tags"}}})

	// An import: its progress reaches staff only; the records it creates reach each as above.
	up := s.Client.Upload("/api/v1/alumni/imports", apitest.Field("mode", "apply"),
		apitest.File("a.csv", strings.NewReader("Student ID,First name,Last name\nS1,Katherine,Johnson\n")))
	if up.Status != http.StatusAccepted {
		t.Fatalf("import: %d %s", up.Status, up.Body)
	}
	created := staff.Next(t)
	if created.Type != api.AlumnusCreated {
		t.Fatalf("staff got %s, want the imported record", created.Type)
	}
	progress := staff.Next(t)
	if progress.Type != api.ImportProgress || progress.Import == nil || progress.Import.ProcessedRows != 1 || progress.Import.Counts.Created != 1 {
		t.Fatalf("staff got %+v, want the import's progress", progress)
	}
	if done := staff.Next(t); done.Type != api.ImportCompleted || done.Import.Status != api.ImportEventStatusSucceeded {
		t.Fatalf("staff got %+v, want the import's completion", done)
	}
	// The viewer gets the new record (no contact details changed), never the import's progress.
	marker, _ := create(t, s.Client, map[string]any{"firstName": "Marker", "lastName": "Record", "directoryConsent": true})
	for _, sub := range []*apitest.Subscriber{viewer, alumnus} {
		for {
			e := sub.Next(t)
			if e.Import != nil {
				t.Fatalf("a non-office subscriber got import event %s", e.Type)
			}
			if deref(e.AlumnusId) == marker.Id {
				break
			}
		}
	}
	staff.SkipUntil(t, marker.Id)
}

func newServerNoParallel(t *testing.T) *apitest.Server {
	t.Helper()
	return apitest.NewServer(t, apitest.DefaultConfig())
}

// Refused connections: no WebSocket, a foreign origin, no or a bad token, bad messages.
func TestEventsRefused(t *testing.T) {
	cfg := apitest.DefaultConfig()
	cfg.Events = httpapi.EventsTimings{AuthTimeout: 300 * time.Millisecond, WriteTimeout: time.Second}
	s := apitest.NewServer(t, cfg)

	t.Run("plain GET", func(t *testing.T) {
		assertProblem(t, s.Anon.Get(httpapi.EventsPath, nil), http.StatusBadRequest, "")
	})
	t.Run("foreign origin", func(t *testing.T) {
		h := map[string]string{"Origin": "https://evil.example.com", "Upgrade": "websocket", "Connection": "Upgrade",
			"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
		assertProblem(t, s.Anon.Get(httpapi.EventsPath, h), http.StatusForbidden, "")
	})
	t.Run("allowed origin", func(t *testing.T) {
		sub := s.Dial(t, http.Header{"Origin": {"https://app.example.org"}})
		sub.Close()
	})
	cases := []struct {
		name string
		send func(*apitest.Subscriber)
		code websocket.StatusCode
	}{
		{"no message", func(*apitest.Subscriber) {}, websocket.StatusPolicyViolation},
		{"bad token", func(sub *apitest.Subscriber) {
			sub.Send(t, api.EventsAuth{Type: api.Auth, Token: "not-a-token"})
		}, websocket.StatusPolicyViolation},
		{"token of an unknown session", func(sub *apitest.Subscriber) {
			sub.Send(t, api.EventsAuth{Type: api.Auth, Token: apitest.SignedToken(t, "01JD3M5X7V8Q9R2S4T6W8Y0Z1D", "admin", time.Minute)})
		}, websocket.StatusPolicyViolation},
		{"not JSON", func(sub *apitest.Subscriber) { sub.SendRaw(t, "hello") }, websocket.StatusUnsupportedData},
		{"unknown member", func(sub *apitest.Subscriber) {
			sub.SendRaw(t, `{"type":"auth","token":"x","admin":true}`)
		}, websocket.StatusUnsupportedData},
		{"wrong type", func(sub *apitest.Subscriber) { sub.SendRaw(t, `{"type":"subscribe","token":"x"}`) }, websocket.StatusUnsupportedData},
		// Read strictly, as request bodies are: a valid token does not make up for the rest.
		{"duplicate member", func(sub *apitest.Subscriber) {
			sub.SendRaw(t, `{"type":"auth","token":"x","token":"`+s.Client.Token()+`"}`)
		}, websocket.StatusUnsupportedData},
		{"text after the message", func(sub *apitest.Subscriber) {
			sub.SendRaw(t, `{"type":"auth","token":"`+s.Client.Token()+`"} {"type":"auth"}`)
		}, websocket.StatusUnsupportedData},
		{"oversize", func(sub *apitest.Subscriber) {
			sub.SendRaw(t, `{"type":"auth","token":"`+strings.Repeat("x", 20000)+`"}`)
		}, websocket.StatusMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub := s.Dial(t, nil)
			tc.send(sub)
			if code, reason := sub.Closed(t, false); code != tc.code {
				t.Errorf("closed with %d %q, want %d", code, reason, tc.code)
			}
		})
	}
}

// The socket closes when the session ends, and when the token expires unless renewed.
func TestEventsSessionEnds(t *testing.T) {
	cfg := apitest.DefaultConfig()
	cfg.Events = httpapi.EventsTimings{AuthTimeout: time.Second, WriteTimeout: time.Second, SessionRecheck: 100 * time.Millisecond}
	s := apitest.NewServer(t, cfg)

	c := s.As(t, auth.RoleStaff)
	sub, _ := s.Subscribe(t, c.Token(), "")
	if r := c.Post("/api/v1/auth/logout", nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d", r.Status)
	}
	if code, reason := sub.Closed(t, true); code != websocket.StatusPolicyViolation || reason != "session ended" {
		t.Errorf("closed with %d %q, want 1008 session ended", code, reason)
	}

	// A token that expires soon: renewed once with a token of the same user, then left to expire.
	c = s.As(t, auth.RoleStaff)
	var me api.Me
	c.Get("/api/v1/auth/me", nil).JSON(t, &me)
	short := apitest.SignedTokenFor(t, me.User.Id, me.SessionId, "staff", 2*time.Second)
	sub, _ = s.Subscribe(t, short, "")
	sub.Send(t, api.EventsAuth{Type: api.Auth, Token: apitest.SignedTokenFor(t, me.User.Id, me.SessionId, "staff", 3*time.Second)})
	if code, reason := sub.Closed(t, true); code != websocket.StatusPolicyViolation || reason != "token expired" {
		t.Errorf("closed with %d %q, want 1008 token expired", code, reason)
	}

	// A renewal with another user's token is refused.
	sub, _ = s.Subscribe(t, s.As(t, auth.RoleStaff).Token(), "")
	sub.Send(t, api.EventsAuth{Type: api.Auth, Token: s.As(t, auth.RoleAdmin).Token()})
	if code, _ := sub.Closed(t, true); code != websocket.StatusPolicyViolation {
		t.Errorf("closed with %d, want 1008", code)
	}
}

// A subscriber that stops reading is dropped; another one gets every event.
func TestEventsSlowSubscriberDropped(t *testing.T) {
	t.Parallel()
	s := apitest.NewServer(t, apitest.DefaultConfig())
	token := s.As(t, auth.RoleAdmin).Token()
	stalled, _ := s.Subscribe(t, token, "")
	reader, _ := s.Subscribe(t, token, "")

	// Many events: audit rows of made-up bulk changes (about records that do not exist, which
	// only the office may hear of), in batches the size of an import's, each read by the
	// reading subscriber before the next is written.
	const batches, batch = 120, 500
	for b := range batches {
		// One multi-row INSERT per batch, as the import writes its audit events.
		var q strings.Builder
		q.WriteString("INSERT INTO audit_events (occurred_at, action, entity_type, entity_id, changes) VALUES ")
		for i := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(UTC_TIMESTAMP(6), 'alumnus.create', 'alumnus', '01JD3M5X7V8Q9R2S4T%08d', '[]')", b*batch+i)
		}
		_, err := s.DB.ExecContext(context.Background(), q.String())
		if err != nil {
			t.Fatal(err)
		}
		for i := range batch {
			e := reader.Next(t)
			if want := fmt.Sprintf("01JD3M5X7V8Q9R2S4T%08d", b*batch+i); deref(e.AlumnusId) != want {
				t.Fatalf("event %d is about %s, want %s", b*batch+i, deref(e.AlumnusId), want)
			}
		}
	}
	// The stalled subscriber's socket was closed: it reads what was buffered, then the end.
	if code, reason := stalled.Closed(t, true); code != websocket.StatusTryAgainLater && code != -1 {
		t.Errorf("the stalled subscriber was closed with %d %q, want 1013 or a cut connection", code, reason)
	}
}
