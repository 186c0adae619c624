package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/idempotency"
)

// Idempotency keys (docs/API.md, "Retrying safely"): every operation whose contract declares
// the Idempotency-Key header parameter gets this middleware's behaviour, and no other does.
// The key belongs to the signed-in user and the operation. The first request with a key
// claims it in the database (idempotency.Store) and runs; its answer — a 2xx, or a 4xx about
// the request — is stored with the request's fingerprint. A later request with the key gets
// 409 while the first runs, the stored answer (Idempotent-Replayed: true) when it is the same
// request, and 422 when it is not. A 5xx, a panic or a body that did not arrive whole (413, a
// broken connection) releases the claim, so that a retry runs again.

const (
	headerIdempotencyKey     = "Idempotency-Key"
	headerIdempotentReplayed = "Idempotent-Replayed"
	// keyInUseRetry is the Retry-After of a request whose key an earlier request still holds.
	keyInUseRetry = time.Second
	// maxStoredAnswer is the largest answer stored; a larger one releases the key.
	maxStoredAnswer = 1 << 20
	// formDrain is how much of a form a handler left unread (its epilogue) is read to finish
	// the fingerprint; a handler that left more refused the form early, and its key is
	// released.
	formDrain = 64 << 10
	// leaseMargin is added to a request's deadline for the lease of its claim.
	leaseMargin = time.Minute
	// defaultLease is the lease of a request without a deadline.
	defaultLease = 15 * time.Minute
)

var (
	errBadKey = derrors.New(derrors.Malformed, "The request does not match the API contract.",
		derrors.FieldError{Field: headerIdempotencyKey, Message: "must be one header of 1 to 255 printable ASCII characters"})
	errKeyInUse = &derrors.Error{Kind: derrors.KeyInUse, RetryAfter: keyInUseRetry,
		Fields: []derrors.FieldError{{Field: headerIdempotencyKey, Message: "is in use by a request that has not finished"}}}
	errKeyReused = derrors.New(derrors.KeyReused, "",
		derrors.FieldError{Field: headerIdempotencyKey, Message: "was used with a different request"})
)

// idempotentOp is an operation that takes Idempotency-Key.
type idempotentOp struct {
	id string
	// form: the body is a multipart form, streamed to the handler (see streamed).
	form bool
}

// idempotencyKeys is the middleware; ops are the operations of the contract that take a key.
type idempotencyKeys struct {
	store *idempotency.Store
	log   *slog.Logger
	ops   map[*openapi3.Operation]idempotentOp
}

// newIdempotencyKeys finds the operations of doc that declare the Idempotency-Key header.
func newIdempotencyKeys(doc *openapi3.T, store *idempotency.Store, log *slog.Logger) *idempotencyKeys {
	k := &idempotencyKeys{store: store, log: log, ops: map[*openapi3.Operation]idempotentOp{}}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, headerIdempotencyKey) {
					k.ops[op] = idempotentOp{id: op.OperationID, form: streamed(op)}
				}
			}
		}
	}
	return k
}

// middleware runs after the contract guard, which has authenticated the caller and checked the
// request (a JSON body is read and in memory by then; a form is not).
func (k *idempotencyKeys) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		op, ok := k.ops[operationOf(c)] // the operation the contract middleware matched
		if !ok {
			return next(c)
		}
		keys := req.Header.Values(headerIdempotencyKey)
		if len(keys) == 0 {
			return next(c)
		}
		if len(keys) > 1 || !idempotency.ValidKey(keys[0]) {
			return errBadKey
		}
		p, ok := auth.PrincipalFrom(req.Context())
		if !ok {
			return next(c) // a public operation: keys are per user
		}
		scope := idempotency.Scope{UserID: p.UserID, Operation: op.id, Key: keys[0]}
		claim, prior, err := k.store.Claim(req.Context(), scope, leaseUntil(req.Context()))
		if err != nil {
			return err
		}
		if prior != nil {
			return k.answerPrior(c, op, prior)
		}
		return k.run(c, next, op, claim)
	}
}

// leaseUntil is when a claim made now for a request with ctx lapses: the request's deadline,
// and a margin for a commit in flight at that moment.
func leaseUntil(ctx context.Context) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultLease)
	}
	return deadline.Add(leaseMargin)
}

// answerPrior answers a request whose key an earlier request claimed: 409 while that one runs,
// its stored answer to the same request, 422 to another request.
func (k *idempotencyKeys) answerPrior(c echo.Context, op idempotentOp, prior *idempotency.Prior) error {
	if prior.Pending {
		return errKeyInUse
	}
	fp := k.fingerprint(c)
	if op.form {
		if err := fp.Form(c.Request().Body, formBoundary(c.Request())); err != nil {
			return formReadError(err)
		}
	} else {
		body, err := readBody(c.Request())
		if err != nil {
			return err
		}
		fp.Body(body)
	}
	if !bytes.Equal(fp.Sum(), prior.Fingerprint) {
		return errKeyReused
	}
	return replay(c, prior.Answer)
}

// replay writes a stored answer. A problem's requestId becomes this request's, as in every
// problem answer; everything else is as it was.
func replay(c echo.Context, a idempotency.Answer) error {
	body := a.Body
	if a.ContentType == "application/problem+json" {
		var p map[string]any
		if err := json.Unmarshal(body, &p); err == nil {
			p["requestId"] = requestID(c.Request().Context())
			if b, err := json.Marshal(p); err == nil {
				body = b
			}
		}
	}
	h := c.Response().Header()
	for name, v := range map[string]string{echo.HeaderLocation: a.Location, "ETag": a.ETag, echo.HeaderContentType: a.ContentType} {
		if v != "" {
			h.Set(name, v)
		}
	}
	h.Set(headerIdempotentReplayed, "true")
	c.Response().WriteHeader(a.Status)
	_, err := c.Response().Write(body)
	return err
}

// run runs the request that holds claim and stores its answer, or releases the claim.
func (k *idempotencyKeys) run(c echo.Context, next echo.HandlerFunc, op idempotentOp, claim *idempotency.Claim) (err error) {
	req := c.Request()
	fp := k.fingerprint(c)
	var form *formTee
	if op.form {
		form = newFormTee(req.Body, formBoundary(req), fp)
		req.Body = form
	} else {
		body, err := readBody(req)
		if err != nil {
			k.release(req.Context(), claim)
			return err
		}
		fp.Body(body)
	}
	rec := &answerRecorder{ResponseWriter: c.Response().Writer}
	c.Response().Writer = rec
	finished := false
	defer func() {
		c.Response().Writer = rec.ResponseWriter
		if !finished { // a panic: the recover middleware answers 500
			if form != nil {
				form.abandon()
			}
			k.release(req.Context(), claim)
		}
	}()

	if err := next(c); err != nil {
		c.Error(err) // the answer is written here, to be stored
	}
	finished = true
	whole := true
	if form != nil {
		whole = form.finish()
	}
	res := c.Response()
	status := res.Status
	if !whole || status >= 500 || status == http.StatusRequestEntityTooLarge || !res.Committed || rec.overflow {
		k.release(req.Context(), claim)
		return nil
	}
	h := res.Header()
	answer := idempotency.Answer{
		Status: status, Location: h.Get(echo.HeaderLocation), ETag: h.Get("ETag"), ContentType: h.Get(echo.HeaderContentType),
		Body: rec.body.Bytes(),
	}
	ctx, cancel := detached(req.Context())
	defer cancel()
	if err := k.store.Complete(ctx, claim, fp.Sum(), answer); err != nil {
		// The client has its answer; a retry finds the claim pending until its lease ends,
		// then runs again.
		k.log.LogAttrs(ctx, slog.LevelError, "idempotent answer not stored",
			slog.String("request_id", requestID(ctx)), slog.String("error", err.Error()))
		k.release(ctx, claim)
	}
	return nil
}

// release gives up claim, also when the request's context has ended.
func (k *idempotencyKeys) release(ctx context.Context, claim *idempotency.Claim) {
	ctx, cancel := detached(ctx)
	defer cancel()
	if err := k.store.Release(ctx, claim); err != nil {
		k.log.LogAttrs(ctx, slog.LevelWarn, "idempotency key not released; it lapses with its lease",
			slog.String("request_id", requestID(ctx)), slog.String("error", err.Error()))
	}
}

// detached returns a context for bookkeeping after a request: its values, not its deadline.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

func (k *idempotencyKeys) fingerprint(c echo.Context) *idempotency.Fingerprint {
	return idempotency.NewFingerprint(c.Request().Method, c.Path(), c.Request().URL.Query())
}

// readBody returns a JSON body, which the contract guard has read (within the body limit),
// and puts it back for the handler — with the value the guard validated, which the generated
// handler binds (see enforceContract's KeepValidatedValue).
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	again := io.NopCloser(bytes.NewReader(body))
	if vb, ok := req.Body.(interface{ ValidatedValue() any }); ok {
		req.Body = validatedBody{ReadCloser: again, value: vb.ValidatedValue()}
	} else {
		req.Body = again
	}
	return body, nil
}

// validatedBody is a body read again that keeps the value the contract guard validated.
type validatedBody struct {
	io.ReadCloser
	value any
}

// ValidatedValue is what the generated handler looks for.
func (b validatedBody) ValidatedValue() any { return b.value }

// formBoundary is the boundary of a form, which the contract guard has checked is there.
func formBoundary(req *http.Request) string {
	_, params, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	return params["boundary"]
}

// formReadError passes on the errors of the body's reader that are answers already (its size
// limit) or the end of the request; anything else means the body is not a form.
func formReadError(err error) error {
	if derrors.As(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return derrors.New(derrors.Malformed, "The body is not a complete multipart/form-data form.",
		derrors.FieldError{Field: "body", Message: "could not be read as multipart/form-data"})
}

// formTee passes a form to the handler as it is read and hashes its parts on the way, in a
// goroutine that reads a pipe fed by Read.
type formTee struct {
	body io.ReadCloser
	pw   *io.PipeWriter
	eof  bool
	done chan error
}

var errFormIncomplete = errors.New("the form was not read to its end")

func newFormTee(body io.ReadCloser, boundary string, fp *idempotency.Fingerprint) *formTee {
	pr, pw := io.Pipe()
	t := &formTee{body: body, pw: pw, done: make(chan error, 1)}
	go func() {
		err := fp.Form(pr, boundary)
		_, _ = io.Copy(io.Discard, pr) // an epilogue, or the rest of a broken form: Read must not block
		t.done <- err
	}()
	return t
}

func (t *formTee) Read(p []byte) (int, error) {
	n, err := t.body.Read(p)
	if n > 0 {
		_, _ = t.pw.Write(p[:n]) // fails only once the pipe is closed, after the handler
	}
	if errors.Is(err, io.EOF) {
		t.eof = true
	}
	return n, err
}

func (t *formTee) Close() error { return t.body.Close() }

// finish reads what the handler left of the form, up to formDrain bytes, and reports whether
// the form was read to its end and hashed whole.
func (t *formTee) finish() bool {
	if !t.eof {
		_, _ = io.CopyN(io.Discard, t, formDrain)
	}
	if !t.eof {
		t.abandon()
		return false
	}
	_ = t.pw.Close()
	return <-t.done == nil
}

// abandon stops hashing a form that will not be read to its end.
func (t *formTee) abandon() {
	_ = t.pw.CloseWithError(errFormIncomplete)
}

// answerRecorder keeps a copy of the answer written through it, up to maxStoredAnswer bytes.
type answerRecorder struct {
	http.ResponseWriter
	body     bytes.Buffer
	overflow bool
}

func (r *answerRecorder) Write(p []byte) (int, error) {
	if !r.overflow {
		if r.body.Len()+len(p) > maxStoredAnswer {
			r.overflow = true
			r.body = bytes.Buffer{}
		} else {
			r.body.Write(p)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *answerRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *answerRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
