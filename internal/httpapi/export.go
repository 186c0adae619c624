package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/export"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/metrics"
)

// Exports stream for as long as the client keeps reading, past the request timeout and the
// server's read and write timeouts, within limits of their own.
const (
	// DefaultExportTimeout bounds one export from start to end.
	DefaultExportTimeout = time.Hour
	// DefaultExportStallTimeout is how long one write of an export may wait for a client that
	// does not read before the export is dropped.
	DefaultExportStallTimeout = 30 * time.Second
)

// exportPath is the route of the export, which has its own deadline (see New).
const exportPath = "/api/v1/alumni/export"

func isExport(c echo.Context) bool { return c.Path() == exportPath }

// exportHandlers implements the export operation.
type exportHandlers struct {
	stream  func(ctx context.Context, p auth.Principal, r export.Request, out export.Output) (export.Result, error) // export.Exporter.Stream
	stall   time.Duration
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics.Metrics
}

// ExportAlumni checks the columns and hands a streaming answer to the strict server: the
// export itself starts when the answer is written (VisitExportAlumniResponse), so that a bad
// filter found by its first query is still a problem answer.
func (h exportHandlers) ExportAlumni(ctx context.Context, req api.ExportAlumniRequestObject) (api.ExportAlumniResponseObject, error) {
	p := principal(ctx)
	var names []string
	for _, c := range ptr.Deref(req.Params.Columns) {
		names = append(names, string(c))
	}
	cols, err := export.Columns(p, names)
	if err != nil {
		return nil, err
	}
	format := export.Format(ptr.Deref(req.Params.Format))
	if format == "" {
		format = export.CSV
	}
	return exportStream{ctx: ctx, h: h, p: p, req: export.Request{
		Format: format, Columns: cols, Filter: exportFilter(req.Params), Params: exportParams(req.Params),
	}}, nil
}

// exportFilter is the filter of an export request (the list's filter parameters).
func exportFilter(p api.ExportAlumniParams) listing.Filter {
	return toFilter(api.ListAlumniParams{
		Q: p.Q, GraduationYearFrom: p.GraduationYearFrom, GraduationYearTo: p.GraduationYearTo,
		Degree: p.Degree, Program: p.Program, Faculty: p.Faculty, Country: p.Country, City: p.City,
		Industry: p.Industry, Employer: p.Employer, Status: p.Status, Tag: p.Tag,
		DirectoryConsent: p.DirectoryConsent, UpdatedSince: p.UpdatedSince, Deleted: p.Deleted,
	})
}

// exportParams are the filter parameters given, by their query names, for the audit trail.
func exportParams(p api.ExportAlumniParams) map[string]any {
	p.Format, p.Columns = nil, nil // recorded on their own
	b, err := json.Marshal(p)
	out := map[string]any{}
	if err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// exportStream is the answer of an export: it streams the file as it is read.
type exportStream struct {
	ctx context.Context
	h   exportHandlers
	p   auth.Principal
	req export.Request
}

// VisitExportAlumniResponse streams the export to w. An error before the first byte is
// returned, and becomes a problem answer; after it the status has been sent, so a failure
// aborts the connection (the client sees a truncated body) and is logged with the request id.
// A client that went away or stopped reading ends the export quietly.
func (s exportStream) VisitExportAlumniResponse(w http.ResponseWriter) error {
	out := &httpOutput{w: w, rc: http.NewResponseController(w), stall: s.h.stall, format: s.req.Format, now: s.h.now()}
	res, err := s.h.stream(s.ctx, s.p, s.req, out)
	s.h.metrics.ExportRows(string(s.req.Format), res.Rows)
	if err == nil || !res.Started {
		return err
	}
	attrs := []slog.Attr{
		slog.String("request_id", requestID(s.ctx)), slog.Int("rows", res.Rows), slog.String("error", err.Error()),
	}
	var we export.WriteError
	if errors.Is(err, context.Canceled) || errors.As(err, &we) {
		s.h.log.LogAttrs(s.ctx, slog.LevelInfo, "export cut short by the client", attrs...)
		return nil
	}
	s.h.log.LogAttrs(s.ctx, slog.LevelError, "export failed after the download started; connection aborted", attrs...)
	panic(http.ErrAbortHandler) // the only way to tell an HTTP client that the body is incomplete
}

// httpOutput writes an export to the response, giving each write its own deadline.
type httpOutput struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	stall  time.Duration
	format export.Format
	now    time.Time
}

// Start sends the headers. (The server's read timeout does not cut an export: net/http lifts
// the read deadline once the request is read, to watch for the client going away.)
func (o *httpOutput) Start() {
	// The name is ASCII letters, digits, "-" and ".": the same quoted (RFC 6266) and as an
	// RFC 5987 extended value, which needs no percent-encoding for these characters.
	name := export.Filename(o.format, o.now)
	h := o.w.Header()
	h.Set(echo.HeaderContentType, o.format.ContentType())
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"; filename*=UTF-8''`+name)
	o.w.WriteHeader(http.StatusOK)
}

// Write gives the client stall to take p: a client that stops reading is dropped then,
// while one that keeps reading may take as long as the export lasts (the server's write
// timeout would cut it at a fixed time from the start).
func (o *httpOutput) Write(p []byte) (int, error) {
	if err := o.deadline(o.rc.SetWriteDeadline(time.Now().Add(o.stall))); err != nil {
		return 0, err
	}
	return o.w.Write(p)
}

func (o *httpOutput) Flush() error {
	return o.deadline(o.rc.Flush())
}

// deadline ignores ErrNotSupported: a writer without deadlines (a test recorder) has none to
// extend.
func (o *httpOutput) deadline(err error) error {
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}
