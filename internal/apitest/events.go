package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/httpapi"
)

// Subscriber is a WebSocket client of GET /api/v1/events. Every message it receives is
// checked against the contract's Event schema.
type Subscriber struct {
	t    testing.TB
	conn *websocket.Conn
	s    *Server
}

// waitLimit bounds every wait for a message, so that a test that misses one fails instead
// of hanging; it is not a speed requirement.
const waitLimit = 30 * time.Second

// Dial opens the events WebSocket with header (e.g. Origin) without authenticating. It fails
// the test when the upgrade fails.
func (s *Server) Dial(t testing.TB, header http.Header) *Subscriber {
	t.Helper()
	sub, status, err := s.dial(header)
	if err != nil {
		t.Fatalf("dial events: %v (status %d)", err, status)
	}
	return sub
}

// dial opens the socket; on failure it returns the HTTP status of the refusal (0 for none).
func (s *Server) dial(header http.Header) (*Subscriber, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.URL, "http") + httpapi.EventsPath
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		return nil, status, err
	}
	conn.SetReadLimit(1 << 20)
	return &Subscriber{conn: conn, s: s}, status, nil
}

// Subscribe opens the events WebSocket, authenticates with token (resuming after lastEventID
// when not empty) and returns once the ready event has come, with the events before it (a
// resync, the replayed events).
func (s *Server) Subscribe(t testing.TB, token, lastEventID string) (*Subscriber, []api.Event) {
	t.Helper()
	sub := s.Dial(t, nil)
	sub.t = t
	t.Cleanup(func() { _ = sub.conn.CloseNow() })
	auth := api.EventsAuth{Type: api.Auth, Token: token}
	if lastEventID != "" {
		auth.LastEventId = &lastEventID
	}
	sub.Send(t, auth)
	var before []api.Event
	for {
		e := sub.Next(t)
		if e.Type == api.Ready {
			return sub, before
		}
		before = append(before, e)
	}
}

// SkipUntil reads events until one about record id has come (events of changes made before
// the subscription may still arrive first).
func (sub *Subscriber) SkipUntil(t testing.TB, id string) {
	t.Helper()
	for {
		if e := sub.Next(t); e.AlumnusId != nil && *e.AlumnusId == id {
			return
		}
	}
}

// Send writes v as a JSON message.
func (sub *Subscriber) Send(t testing.TB, v any) {
	t.Helper()
	sub.s.secrets.addJSON(mustJSON(t, v))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := wsjson.Write(ctx, sub.conn, v); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// SendRaw writes a text message as is.
func (sub *Subscriber) SendRaw(t testing.TB, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := sub.conn.Write(ctx, websocket.MessageText, []byte(text)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// Next returns the next event, failing the test when none comes or the socket closes.
func (sub *Subscriber) Next(t testing.TB) api.Event {
	t.Helper()
	e, err := sub.read()
	if err != nil {
		t.Fatalf("waiting for an event: %v", err)
	}
	return e
}

func (sub *Subscriber) read() (api.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	typ, data, err := sub.conn.Read(ctx)
	if err != nil {
		return api.Event{}, err
	}
	if typ != websocket.MessageText {
		return api.Event{}, errors.New("a binary message")
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return api.Event{}, err
	}
	doc, _, err := loadSpec()
	if err != nil {
		return api.Event{}, err
	}
	if err := doc.Components.Schemas["Event"].Value.VisitJSON(raw); err != nil {
		return api.Event{}, errors.New("the event does not match openapi.yaml: " + err.Error() + "\n" + string(data))
	}
	var e api.Event
	err = json.Unmarshal(data, &e)
	return e, err
}

// Closed reads until the server closes the socket and returns the close code and reason,
// failing the test when an event comes first (unless drain) or the socket stays open.
func (sub *Subscriber) Closed(t testing.TB, drain bool) (websocket.StatusCode, string) {
	t.Helper()
	for {
		e, err := sub.read()
		if err == nil {
			if drain {
				continue
			}
			t.Fatalf("got event %+v, want the socket closed", e)
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("the socket stayed open")
		}
		return -1, err.Error() // closed without a close frame
	}
}

// Close closes the socket from the client's side.
func (sub *Subscriber) Close() { _ = sub.conn.Close(websocket.StatusNormalClosure, "") }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
