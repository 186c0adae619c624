package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/events"
	"github.com/alumnid/alumnid/internal/strictjson"
)

// The events WebSocket (GET /api/v1/events, described in openapi.yaml): authentication in the
// first message, then the events the caller may see, until the token expires, the session ends,
// the client falls behind or goes away, or the server stops.

// EventsPath is where the events WebSocket is served.
const EventsPath = "/api/v1/events"

// EventsTimings are the timings of an events connection; a zero field takes its default.
type EventsTimings struct {
	AuthTimeout    time.Duration // for the first message (10 s)
	WriteTimeout   time.Duration // for each message and ping (10 s)
	PingInterval   time.Duration // 30 s
	SessionRecheck time.Duration // how often the session is checked again (30 s)
}

func (t EventsTimings) withDefaults() EventsTimings {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return EventsTimings{
		AuthTimeout:    or(t.AuthTimeout, 10*time.Second),
		WriteTimeout:   or(t.WriteTimeout, 10*time.Second),
		PingInterval:   or(t.PingInterval, 30*time.Second),
		SessionRecheck: or(t.SessionRecheck, 30*time.Second),
	}
}

// eventsReadLimit bounds a client's message (an access token and an id).
const eventsReadLimit = 8 << 10

type eventsHandler struct {
	feed    *events.Feed
	auth    *auth.Service
	origins []string
	log     *slog.Logger
	timings EventsTimings
}

func isEvents(c echo.Context) bool { return c.Request().URL.Path == EventsPath }

var (
	errNotWebSocket = derrors.New(derrors.Malformed, "This is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket).")
	errBadOrigin    = derrors.New(derrors.Forbidden, "WebSocket connections from this origin are not allowed.")
	errNoFeed       = errors.New("real-time events are not running on this server")
)

func (h eventsHandler) serve(c echo.Context) error {
	req := c.Request()
	if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		return errNotWebSocket
	}
	if o := req.Header.Get("Origin"); o != "" && !h.originAllowed(o, req.Host) {
		return errBadOrigin
	}
	if h.feed == nil {
		return errNoFeed
	}
	// The connection outlives the server's read and write timeouts, which net/http leaves on
	// a hijacked connection: clear them, the socket keeps its own.
	rc := http.NewResponseController(c.Response().Writer)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn, err := websocket.Accept(c.Response().Writer, req, &websocket.AcceptOptions{OriginPatterns: h.origins})
	if err != nil {
		return nil //nolint:nilerr // Accept has answered the client
	}
	c.Response().Status = http.StatusSwitchingProtocols
	conn.SetReadLimit(eventsReadLimit)
	h.run(req.Context(), conn)
	return nil
}

// originAllowed reports whether a browser page at origin may connect: the service's own
// origin, or one configured in AllowedOrigins.
func (h eventsHandler) originAllowed(origin, host string) bool {
	if o, ok := strings.CutPrefix(origin, "http://"); ok && strings.EqualFold(o, host) {
		return true
	}
	if o, ok := strings.CutPrefix(origin, "https://"); ok && strings.EqualFold(o, host) {
		return true
	}
	return configuredOrigin(h.origins, origin)
}

// closeError is why the server ends a connection: a WebSocket close code and reason.
type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (e closeError) Error() string { return e.reason }

var (
	closeAuth      = closeError{websocket.StatusPolicyViolation, "authentication failed"}
	closeExpired   = closeError{websocket.StatusPolicyViolation, "token expired"}
	closeSession   = closeError{websocket.StatusPolicyViolation, "session ended"}
	closeBadInput  = closeError{websocket.StatusUnsupportedData, "messages must be EventsAuth JSON"}
	closeTooSlow   = closeError{websocket.StatusTryAgainLater, "too slow: the client fell behind"}
	closeStopping  = closeError{websocket.StatusGoingAway, "server stopping"}
	closeInternal  = closeError{websocket.StatusInternalError, "internal error"}
	closeOtherUser = closeError{websocket.StatusPolicyViolation, "a renewed token must be the same user's"}
)

// run authenticates the connection and streams events until it ends.
func (h eventsHandler) run(ctx context.Context, conn *websocket.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer conn.CloseNow() //nolint:errcheck // after a close handshake, or when the client is gone
	end := func(e closeError) {
		_ = conn.Close(e.code, e.reason)
	}

	// One reader for the whole connection: the client's messages (the first authenticates,
	// later ones renew the token), and the pongs to the server's pings.
	type message struct {
		auth api.EventsAuth
		err  error
	}
	msgs := make(chan message)
	go func() {
		for {
			m, err := readAuth(ctx, conn)
			select {
			case msgs <- message{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	// The first message, within its deadline. (A deadline on the read itself would cut the
	// connection without telling the client why.)
	deadline := time.NewTimer(h.timings.AuthTimeout)
	var first message
	select {
	case first = <-msgs:
		deadline.Stop()
	case <-deadline.C:
		end(closeAuth)
		return
	case <-ctx.Done():
		return
	}
	if first.err != nil {
		end(asClose(first.err, closeAuth))
		return
	}
	p, err := h.auth.Authenticate(ctx, first.auth.Token)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelInfo, "events: token refused", slog.String("request_id", requestID(ctx)), slog.String("reason", err.Error()))
		end(closeAuth)
		return
	}
	token := first.auth.Token
	var after int64
	if first.auth.LastEventId != nil {
		after, _ = strconv.ParseInt(*first.auth.LastEventId, 10, 64) // a bad id resumes from now
	}
	sub, replay, resync, err := h.feed.Subscribe(ctx, p, after)
	if err != nil {
		if errors.Is(err, events.ErrStopped) {
			end(closeStopping)
		} else {
			h.log.LogAttrs(ctx, slog.LevelError, "events: subscribe failed", slog.String("request_id", requestID(ctx)), slog.String("error", err.Error()))
			end(closeInternal)
		}
		return
	}
	defer sub.Close()

	write := func(e api.Event) error {
		wctx, wcancel := context.WithTimeout(ctx, h.timings.WriteTimeout)
		defer wcancel()
		return wsjson.Write(wctx, conn, e)
	}
	if resync {
		if err := write(api.Event{Type: api.Resync}); err != nil {
			return
		}
	}
	for _, e := range replay {
		if err := write(toAPIEvent(e)); err != nil {
			return
		}
	}
	if err := write(api.Event{Type: api.Ready}); err != nil {
		return
	}

	expiry := time.NewTimer(time.Until(p.TokenExpiresAt))
	defer expiry.Stop()
	recheck := time.NewTicker(h.timings.SessionRecheck)
	defer recheck.Stop()
	ping := time.NewTicker(h.timings.PingInterval)
	defer ping.Stop()
	for {
		select {
		case e := <-sub.Events():
			if err := write(toAPIEvent(*e)); err != nil {
				return // the client went away or stopped reading: nothing more can be said
			}
		case <-sub.Done():
			if errors.Is(sub.Err(), events.ErrTooSlow) {
				end(closeTooSlow)
			} else {
				end(closeStopping)
			}
			return
		case m := <-msgs:
			if m.err != nil {
				end(asClose(m.err, closeBadInput))
				return
			}
			np, err := h.auth.Authenticate(ctx, m.auth.Token)
			if err != nil {
				end(closeAuth)
				return
			}
			if np.UserID != p.UserID {
				end(closeOtherUser)
				return
			}
			p, token = np, m.auth.Token
			sub.SetPrincipal(p)
			expiry.Reset(time.Until(p.TokenExpiresAt))
		case <-expiry.C:
			end(closeExpired)
			return
		case <-recheck.C:
			if !time.Now().Before(p.TokenExpiresAt) {
				end(closeExpired)
				return
			}
			if _, err := h.auth.Authenticate(ctx, token); err != nil {
				end(closeSession)
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, h.timings.WriteTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// readAuth reads one EventsAuth message.
func readAuth(ctx context.Context, conn *websocket.Conn) (api.EventsAuth, error) {
	typ, data, err := conn.Read(ctx)
	if err != nil {
		return api.EventsAuth{}, err
	}
	return decodeAuth(typ, data)
}

// decodeAuth reads the first message of a subscriber: a text message holding one EventsAuth
// object with a token and nothing else, read as strictly as request bodies (strictjson).
// Anything else is closeBadInput.
func decodeAuth(typ websocket.MessageType, data []byte) (api.EventsAuth, error) {
	var msg api.EventsAuth
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if typ != websocket.MessageText || strictjson.Check(data) != nil || dec.Decode(&msg) != nil || msg.Type != api.Auth || msg.Token == "" {
		return api.EventsAuth{}, closeBadInput
	}
	return msg, nil
}

// asClose is the close of err: its own when it is a closeError, else fallback.
func asClose(err error, fallback closeError) closeError {
	var ce closeError
	if errors.As(err, &ce) {
		return ce
	}
	return fallback
}

func toAPIEvent(e events.Event) api.Event {
	id := strconv.FormatInt(e.ID, 10)
	at := e.OccurredAt.UTC()
	out := api.Event{Id: &id, Type: api.EventType(e.Type), OccurredAt: &at}
	if e.AlumnusID != "" {
		out.AlumnusId = &e.AlumnusID
	}
	if len(e.Fields) > 0 {
		fields := e.Fields
		out.Fields = &fields
	}
	if st := e.Import; st != nil {
		out.Import = &api.ImportEvent{
			Id: st.ID, Status: api.ImportEventStatus(st.Status), ProcessedRows: st.ProcessedRows,
			Counts: api.ImportCounts{Created: st.Created, Updated: st.Updated, Unchanged: st.Unchanged, Rejected: st.Rejected},
		}
	}
	return out
}
