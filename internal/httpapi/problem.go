package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/ptr"
)

// problemBase is the prefix of every problem type URI.
const problemBase = "https://alumnid.dev/problems/"

// problemKind is one row of the table that turns failures into problem+json answers.
type problemKind struct {
	status int
	slug   string
	title  string
	detail string // used when the failure carries none
}

// kinds maps each domain failure to its HTTP answer: the one place where that is decided.
var kinds = map[derrors.Kind]problemKind{
	derrors.Malformed:            {http.StatusBadRequest, "invalid-request", "Invalid request", "The request does not match the API contract."},
	derrors.Invalid:              {http.StatusUnprocessableEntity, "validation", "Validation failed", "Some values are not acceptable."},
	derrors.NotFound:             {http.StatusNotFound, "not-found", "Not found", "Nothing exists at this address."},
	derrors.Conflict:             {http.StatusConflict, "conflict", "Conflict", "Another record already uses this value."},
	derrors.PreconditionFailed:   {http.StatusPreconditionFailed, "precondition-failed", "Precondition failed", "The record was changed by someone else."},
	derrors.PreconditionRequired: {http.StatusPreconditionRequired, "precondition-required", "Precondition required", "Send the record's ETag in If-Match."},
	derrors.Unauthenticated:      {http.StatusUnauthorized, "unauthorized", "Unauthorized", "Sign in to use this operation."},
	derrors.Forbidden:            {http.StatusForbidden, "forbidden", "Forbidden", "Your role may not use this operation."},
	derrors.Throttled:            {http.StatusTooManyRequests, "too-many-requests", "Too many requests", "Too many attempts; try again later."},
	derrors.TooLarge:             {http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large", "The request body is larger than the server accepts."},
	derrors.Unavailable:          {http.StatusServiceUnavailable, "unavailable", "Service unavailable", "The service cannot answer right now; try again shortly."},
	derrors.KeyInUse:             {http.StatusConflict, "idempotency-key-in-use", "Request in progress", "A request with this Idempotency-Key is still being processed; retry after Retry-After seconds."},
	derrors.KeyReused:            {http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused", "This Idempotency-Key was used with a different request; use a new key for a new request."},
	derrors.Moved:                {http.StatusPermanentRedirect, "moved", "Permanent Redirect", "This record was merged into another."},
}

// byStatus answers failures that carry only a status code (from Echo or the transport).
var byStatus = map[int]problemKind{
	http.StatusBadRequest:            kinds[derrors.Malformed],
	http.StatusNotFound:              kinds[derrors.NotFound],
	http.StatusMethodNotAllowed:      {http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "This address does not support this method."},
	http.StatusRequestEntityTooLarge: {http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large", "The request body is larger than the server accepts."},
	http.StatusUnsupportedMediaType:  {http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "This operation does not accept this Content-Type."},
	http.StatusServiceUnavailable:    {http.StatusServiceUnavailable, "unavailable", "Service unavailable", "The service cannot answer right now; try again shortly."},
	http.StatusInternalServerError:   {http.StatusInternalServerError, "internal", "Internal server error", "Something went wrong on our side. Quote the request id when reporting it."},
}

// newProblem builds the body for kind k, with detail overriding the kind's default.
func newProblem(c echo.Context, k problemKind, detail string, fields []derrors.FieldError) api.Problem {
	if detail == "" {
		detail = k.detail
	}
	p := api.Problem{
		Type:      problemBase + k.slug,
		Title:     k.title,
		Status:    k.status,
		Detail:    &detail,
		RequestId: requestID(c.Request().Context()),
	}
	path := c.Request().URL.Path
	p.Instance = &path
	if len(fields) > 0 {
		errs := make([]api.FieldError, len(fields))
		for i, f := range fields {
			errs[i] = api.FieldError{Field: f.Field, Message: f.Message}
		}
		p.Errors = &errs
	}
	return p
}

// problemFor decides the answer to err: a domain failure by its kind, an Echo error by its
// status, anything else a 500 whose details go only to the log.
func problemFor(c echo.Context, err error) api.Problem {
	if d := derrors.As(err); d != nil {
		p := newProblem(c, kinds[d.Kind], d.Detail, d.Fields)
		p.SurvivorId = ptr.NonZero(d.SurvivorID)
		return p
	}
	if errors.Is(err, context.DeadlineExceeded) { // the request's own deadline passed
		return newProblem(c, byStatus[http.StatusServiceUnavailable], "", nil)
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if k, ok := byStatus[he.Code]; ok {
			return newProblem(c, k, "", nil)
		}
		if he.Code >= 400 && he.Code < 500 {
			return newProblem(c, problemKind{he.Code, "client-error", http.StatusText(he.Code), http.StatusText(he.Code) + "."}, "", nil)
		}
	}
	return newProblem(c, byStatus[http.StatusInternalServerError], "", nil)
}

// errorHandler is Echo's HTTPErrorHandler: every failure becomes application/problem+json.
// Internal errors are logged once, with the request id; the client sees a generic message.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		p := problemFor(c, err)
		if d := derrors.As(err); p.Status >= 500 && (d == nil || d.Kind != derrors.Unavailable || d.Cause != nil) {
			// Logged once here, with the cause; the client sees only the generic problem. A
			// request shed under load is no failure (the access log has it); a database that
			// could not do the work is (derrors.Error.Cause).
			log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
				slog.String("request_id", p.RequestId), slog.String("error", err.Error()))
		}
		if c.Response().Committed {
			return
		}
		h := c.Response().Header()
		switch p.Status {
		case http.StatusPermanentRedirect:
			if p.SurvivorId != nil {
				h.Set("Location", "/api/v1/alumni/"+*p.SurvivorId)
			}
		case http.StatusUnauthorized:
			h.Set("WWW-Authenticate", `Bearer realm="alumnid"`)
		case http.StatusServiceUnavailable:
			h.Set("Retry-After", retryAfter(err, 5*time.Second))
		case http.StatusRequestEntityTooLarge:
			// The rest of a body too large to read is not read: without this, net/http reads
			// (up to 256 KiB of) what is left before it answers, waiting for a client that
			// may never send it.
			h.Set("Connection", "close")
		case http.StatusTooManyRequests:
			h.Set("Retry-After", retryAfter(err, 60*time.Second))
		case http.StatusConflict:
			if d := derrors.As(err); d != nil && d.RetryAfter > 0 {
				h.Set("Retry-After", retryAfter(err, 0))
			}
		}
		writeProblem(c, p)
	}
}

// retryAfter is the Retry-After value, in whole seconds, for err: its own wait, else def.
func retryAfter(err error, def time.Duration) string {
	wait := def
	if d := derrors.As(err); d != nil && d.RetryAfter > 0 {
		wait = d.RetryAfter
	}
	return strconv.Itoa(int(math.Ceil(wait.Seconds())))
}

func writeProblem(c echo.Context, p api.Problem) {
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"type":"` + problemBase + `internal","title":"Internal server error","status":500,"requestId":""}`)
		p.Status = http.StatusInternalServerError
	}
	_ = c.Blob(p.Status, "application/problem+json", b)
}

type requestIDKey struct{}

// requestID returns the id that middleware gave the request, or "" outside a request.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
