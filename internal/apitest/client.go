package apitest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/domain"
	"github.com/alumnid/alumnid/internal/events"
	"github.com/alumnid/alumnid/internal/httpapi"
	"github.com/alumnid/alumnid/internal/importer"
)

// Server is the service running on a test's own database, behind a real HTTP listener.
// Client is signed in as an admin; Anon sends no credentials.
type Server struct {
	URL string
	// PublicURL is the service's configured public URL (its origin is the passkeys' origin).
	PublicURL string
	Echo      *echo.Echo
	Client    *Client
	Anon      *Client
	DSN       string
	DB        *sql.DB
	Auth      *auth.Service
	logs      *SyncBuffer
	// secrets are the passwords, tokens and contact details the clients saw; none may be
	// logged (checked when the test ends).
	secrets *secretSet
}

// Logs returns what the service logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Config is the configuration of a test server: the HTTP layer's (whose fields are set on it
// directly: cfg.BodyLimit) and the domain's (cfg.Domain.ExportChunk).
type Config struct {
	httpapi.Config
	Domain domain.Config
	// Feed configures the real-time feed (nil: polls every 50 ms, quicker than production).
	Feed *events.Config
}

// DefaultConfig is the configuration tests run with.
func DefaultConfig() Config {
	return Config{
		Config: httpapi.Config{
			AllowedOrigins: []string{"https://app.example.org"},
			BodyLimit:      64 << 10,
			RequestTimeout: 10 * time.Second,
		},
		Domain: domain.Config{Keys: Keys(), Issuer: Issuer, Audience: Audience, PasswordHashes: 4, TOTPKeys: TOTPKeys()},
	}
}

// NewHandler returns the service's HTTP handler with cfg on sqlDB, as `alumnid serve` wires
// it, with the real-time feed feed (nil: none).
func NewHandler(t testing.TB, cfg Config, sqlDB *sql.DB, log *slog.Logger, feed *events.Feed) *echo.Echo {
	t.Helper()
	services, err := domain.New(sqlDB, cfg.Domain, log)
	if err != nil {
		t.Fatal(err)
	}
	services.Events = feed
	// Load the search index and follow the changes, as serve does. A database that cannot be
	// reached (a test of that) leaves it to load at the first search.
	_ = services.Search.Start(t.Context())
	ctx, cancel := context.WithCancel(context.Background())
	following := make(chan struct{})
	scoring := make(chan struct{})
	go func() {
		defer close(following)
		services.Search.Run(ctx, 20*time.Millisecond, nil)
	}()
	go func() {
		defer close(scoring)
		services.Duplicates.Run(ctx, 20*time.Millisecond, log)
	}()
	t.Cleanup(func() { cancel(); <-following; <-scoring })
	e, err := httpapi.New(cfg.Config, services, log)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// NewServer starts the service with cfg on a fresh database for t and stops it when t ends,
// with an import worker polling every 20 ms unless WithoutImportWorker is given.
func NewServer(t testing.TB, cfg Config, opts ...Option) *Server {
	t.Helper()
	o := serverOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	var sqlDB *sql.DB
	dsn := o.dsn
	if o.proxy == nil {
		sqlDB, dsn = openDatabase(t, dsn)
	} else {
		if dsn == "" {
			dsn = NewDatabase(t)
		}
		sqlDB = openPool(t, o.proxy.DSN(dsn), database.PoolConfig{StatementTimeout: cfg.RequestTimeout})
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	feedCfg := events.Config{PollInterval: 50 * time.Millisecond}
	if cfg.Feed != nil {
		feedCfg = *cfg.Feed
	}
	feed := events.NewFeed(sqlDB, feedCfg, log, cfg.Metrics)
	ctx, stop := context.WithCancel(context.Background())
	go feed.Run(ctx)
	t.Cleanup(func() {
		stop()
		<-feed.Stopped()
	})
	ts := httptest.NewUnstartedServer(nil)
	if cfg.Domain.PublicURL == "" { // known before the handler is made: redirect URIs hang under it
		cfg.Domain.PublicURL = "http://" + ts.Listener.Addr().String()
		if o.localhost {
			cfg.Domain.PublicURL = "http://localhost:" + strconv.Itoa(ts.Listener.Addr().(*net.TCPAddr).Port)
		}
	}
	if cfg.Domain.SSOReturnOrigins == nil {
		cfg.Domain.SSOReturnOrigins = cfg.AllowedOrigins // as serve does
	}
	e := NewHandler(t, cfg, sqlDB, log, feed)
	ts.Config.Handler = e
	if o.timeouts != nil {
		ts.Config = httpapi.NewHTTPServer(e, *o.timeouts, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	}
	ts.Start()
	secrets := newSecretSet()
	secrets.add("password", TestPassword)
	t.Cleanup(func() {
		ts.Close()
		secrets.checkLogs(t, logs.String())
	})
	anon := NewClient(t, ts.URL)
	anon.secrets = secrets
	s := &Server{URL: ts.URL, PublicURL: cfg.Domain.PublicURL, Echo: e, Anon: anon, DSN: dsn, DB: sqlDB, logs: logs,
		Auth: NewAuthService(sqlDB, cfg), secrets: secrets}
	if o.adminTOTP {
		s.Client, _, _ = anon.EnrolAtSignIn(t, s.CreateUser(t, auth.RoleAdmin, ""), TestPassword)
	} else {
		SetAdminsRequireTOTP(t, sqlDB, false)
		s.Client = s.As(t, auth.RoleAdmin)
	}
	if !o.noImportWorker {
		s.StartImportWorker(t, importer.RunnerConfig{})
	}
	return s
}

// SyncBuffer is a bytes.Buffer that several goroutines may write and read at once: where a
// test collects what a server or a child process logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Client sends requests to the service and fails the test when a response does not match the
// contract: an undeclared status, a wrong content type, a body or header that breaks its schema.
type Client struct {
	t       testing.TB
	token   string
	base    string
	http    *http.Client
	doc     *openapi3.T
	router  routers.Router
	problem *openapi3.Schema
	secrets *secretSet // nil for a client of no Server
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

func loadSpec() (*openapi3.T, routers.Router, error) {
	specOnce.Do(func() {
		specDoc, specErr = httpapi.LoadSpec(alumnid.OpenAPI)
		if specErr == nil {
			specRouter, specErr = gorillamux.NewRouter(specDoc)
		}
	})
	return specDoc, specRouter, specErr
}

// NewClient returns a contract-checking client for the service at base.
func NewClient(t testing.TB, base string) *Client {
	t.Helper()
	doc, router, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return &Client{
		t: t, base: base, http: &http.Client{Timeout: 30 * time.Second},
		doc: doc, router: router, problem: doc.Components.Schemas["Problem"].Value,
	}
}

// WithToken returns a copy of c that sends the access token tok.
func (c *Client) WithToken(tok string) *Client {
	cp := *c
	cp.token = tok
	cp.secrets.add("accessToken", tok)
	return &cp
}

// NoRedirects returns a copy of c that does not follow redirects (a 302 is the answer), with
// a client of its own.
func (c *Client) NoRedirects() *Client {
	cp := *c
	cp.http = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &cp
}

// CloseIdleConnections closes the keep-alive connections c holds (and so the goroutines
// that serve them), for tests that count goroutines.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Token returns the access token c sends ("" for none).
func (c *Client) Token() string { return c.token }

// Response is a response read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it cannot.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Request is one request to send. Body is sent as is when it is a string, []byte or
// io.Reader and as JSON otherwise; ContentType defaults to application/json when there is a
// body.
type Request struct {
	Method      string
	Path        string
	Body        any
	ContentType string
	Header      map[string]string
}

// Do sends req and returns the response after checking it against the contract. It fails the
// test when no response comes.
func (c *Client) Do(req Request) *Response {
	c.t.Helper()
	resp, err := c.Try(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// Try is Do for goroutines other than the test's: it returns the error when no response
// comes (the connection failed, or the client's timeout of 30 s passed) instead of ending
// the test. A response that breaks the contract still fails the test (t.Errorf).
func (c *Client) Try(req Request) (*Response, error) {
	c.t.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		c.secrets.addJSON([]byte(b))
		body = strings.NewReader(b)
	case []byte:
		c.secrets.addJSON(b)
		body = bytes.NewReader(b)
	case io.Reader:
		body = b // streamed, without a Content-Length
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		c.secrets.addJSON(raw)
		body = bytes.NewReader(raw)
	}
	httpReq, err := http.NewRequestWithContext(context.Background(), req.Method, c.base+req.Path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		httpReq.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range req.Header {
		httpReq.Header.Set(k, v)
	}
	httpResp, err := c.http.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.Path, err)
	}
	defer httpResp.Body.Close()
	raw, err := io.ReadAll(httpResp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the body: %w", req.Method, req.Path, err)
	}
	resp := &Response{Status: httpResp.StatusCode, Header: httpResp.Header, Body: raw}
	if isJSON(httpResp.Header.Get("Content-Type")) {
		c.secrets.addJSON(raw)
	}
	if err := c.check(httpReq, resp); err != nil {
		c.t.Errorf("%s %s -> %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.Path, resp.Status, err, raw)
	}
	return resp, nil
}

// Get sends a GET with header.
func (c *Client) Get(path string, header map[string]string) *Response {
	c.t.Helper()
	return c.Do(Request{Method: http.MethodGet, Path: path, Header: header})
}

// Post sends body as JSON.
func (c *Client) Post(path string, body any) *Response {
	c.t.Helper()
	return c.Do(Request{Method: http.MethodPost, Path: path, Body: body})
}

// Patch sends a JSON merge patch with If-Match set to ifMatch (none when empty).
func (c *Client) Patch(path, ifMatch string, patch any) *Response {
	c.t.Helper()
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return c.Do(Request{Method: http.MethodPatch, Path: path, Body: patch, ContentType: "application/merge-patch+json", Header: h})
}

// Delete sends a DELETE with If-Match set to ifMatch (none when empty).
func (c *Client) Delete(path, ifMatch string) *Response {
	c.t.Helper()
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return c.Do(Request{Method: http.MethodDelete, Path: path, Header: h})
}

// check validates resp: against its operation when the contract has one, and as a problem
// body whenever it claims to be application/problem+json.
func (c *Client) check(req *http.Request, resp *Response) error {
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return nil // health checks and documentation are not part of the contract
	}
	route, pathParams, err := c.router.FindRoute(req)
	if err != nil {
		if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
			return c.checkProblem(resp)
		}
		return err
	}
	if resp.Status >= 400 {
		if err := c.checkProblem(resp); err != nil {
			return err
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route},
		Status:                 resp.Status,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !isJSON(ct) {
		// A file (CSV, NDJSON) is a string to the contract, which says nothing a schema could
		// check: its content type must be one the answer declares, and tests parse the body.
		in.Options.ExcludeResponseBody = true
		if r := route.Operation.Responses.Status(resp.Status); r != nil && r.Value != nil && len(r.Value.Content) > 0 &&
			r.Value.Content.Get(ct) == nil {
			return fmt.Errorf("content type %q is not one the contract declares for %d", ct, resp.Status)
		}
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// isJSON reports whether media type ct is JSON (application/json or a +json type), whose
// bodies are checked against their schema.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return true // let the validator report it
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func (c *Client) checkProblem(resp *Response) error {
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		return errors.New("an error answer must be application/problem+json, not " + ct)
	}
	var v any
	if err := json.Unmarshal(resp.Body, &v); err != nil {
		return err
	}
	if err := c.problem.VisitJSON(v); err != nil {
		return err
	}
	p := v.(map[string]any)
	if int(p["status"].(float64)) != resp.Status {
		return errors.New("the problem's status differs from the response's")
	}
	if p["requestId"] != resp.Header.Get("X-Request-Id") {
		return errors.New("the problem's requestId differs from X-Request-Id")
	}
	return nil
}
