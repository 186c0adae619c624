package apitest

import (
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/httpapi"
	"github.com/alumnid/alumnid/internal/importer"
)

// Option changes how NewServer starts the service.
type Option func(*serverOptions)

type serverOptions struct {
	noImportWorker bool
	dsn            string            // an existing database, else a fresh one
	proxy          *Proxy            // between the pool and the database, when set
	timeouts       *httpapi.Timeouts // the HTTP server of alumnid serve with these, else httptest's
	adminTOTP      bool              // keep adminsRequireTotp on (WithAdminTOTPRequired)
	localhost      bool              // the public URL names localhost (WithLocalhostURL)
}

// WithHTTPServerTimeouts serves the service with the HTTP server alumnid serve runs
// (httpapi.NewHTTPServer) and timeouts t, instead of httptest's server, which has none.
func WithHTTPServerTimeouts(t httpapi.Timeouts) Option {
	return func(o *serverOptions) { o.timeouts = &t }
}

// OnDatabaseOf starts the server on the database of another server, with a connection pool of
// its own: a second replica.
func OnDatabaseOf(other *Server) Option {
	return func(o *serverOptions) { o.dsn = other.DSN }
}

// WithoutImportWorker starts the server without an import worker: the test runs its own
// (StartImportWorker), or none.
func WithoutImportWorker() Option {
	return func(o *serverOptions) { o.noImportWorker = true }
}

// StartImportWorker runs an import worker with cfg on the server's database (polling every
// 20 ms and with a 10 s lease unless cfg says otherwise) until stop is called or the test ends;
// stop returns once the worker has stopped.
func (s *Server) StartImportWorker(t testing.TB, cfg importer.RunnerConfig) (stop func()) {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.Lease == 0 {
		cfg.Lease = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		importer.NewRunner(s.DB, cfg, slog.New(slog.NewJSONHandler(s.logs, nil))).Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// Part is one part of a multipart/form-data form: a field with its Value, or a file (when
// FileName is set) read from Body as it is sent.
type Part struct {
	Name     string
	Value    string
	FileName string
	Body     io.Reader
}

// Field returns a form field part.
func Field(name, value string) Part {
	return Part{Name: name, Value: value}
}

// File returns a file part named "file".
func File(name string, body io.Reader) Part {
	return Part{Name: "file", FileName: name, Body: body}
}

// Upload posts the parts as multipart/form-data, streamed as they are read (no
// Content-Length), with a timeout of 10 minutes, and returns the response after checking it
// against the contract.
func (c *Client) Upload(path string, parts ...Part) *Response {
	c.t.Helper()
	return c.UploadWithHeader(path, nil, parts...)
}

// UploadWithHeader is Upload with more request headers.
func (c *Client) UploadWithHeader(path string, header map[string]string, parts ...Part) *Response {
	c.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, p := range parts {
				var w io.Writer
				var err error
				if p.FileName != "" {
					w, err = mw.CreateFormFile(p.Name, p.FileName)
				} else {
					w, err = mw.CreateFormField(p.Name)
				}
				if err != nil {
					return err
				}
				body := p.Body
				if body == nil {
					body = strings.NewReader(p.Value)
				}
				if _, err := io.Copy(w, body); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		_ = pw.CloseWithError(err)
	}()
	long := *c // a large upload may take longer than other requests
	long.http = &http.Client{Timeout: 10 * time.Minute}
	return long.Do(Request{Method: http.MethodPost, Path: path, Body: pr, ContentType: mw.FormDataContentType(), Header: header})
}
