package export

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"io"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/listing"
)

// Format is the file format of an export (the contract's format parameter).
type Format string

// The formats.
const (
	CSV    Format = "csv"
	JSON   Format = "json"
	NDJSON Format = "ndjson"
)

// ContentType is the media type of f.
func (f Format) ContentType() string {
	switch f {
	case JSON:
		return "application/json"
	case NDJSON:
		return "application/x-ndjson"
	}
	return "text/csv; charset=utf-8"
}

// Filename is the name of an export in format f made at now: alumni-2026-11-26.csv (the
// date in UTC).
func Filename(f Format, now time.Time) string {
	return "alumni-" + now.UTC().Format(time.DateOnly) + "." + string(f)
}

// Request is one export: the records of Filter, in Format, with Columns.
type Request struct {
	Format  Format
	Columns []Column
	Filter  listing.Filter
	// Params are the filter's query parameters as the caller gave them, for the audit trail.
	Params map[string]any
}

// Output is where an export goes.
type Output interface {
	// Start is called once, before the first byte, when the export has found its first
	// records (or found none): from then on it cannot fail with a clean error answer.
	Start()
	// Write takes the file's bytes, a chunk of records at a time.
	io.Writer
	// Flush sends what was written so far.
	Flush() error
}

// Result is what happened to an export.
type Result struct {
	Started  bool // Output.Start was called: bytes may have been sent
	Rows     int  // records written and flushed to the Output
	Complete bool
}

// Exporter streams exports read by a listing.Reader and audits them.
type Exporter struct {
	reader *listing.Reader
	db     *sql.DB
	now    func() time.Time
}

// New returns an Exporter of the records reader reads, writing audit events to sqlDB.
func New(reader *listing.Reader, sqlDB *sql.DB) *Exporter {
	return &Exporter{reader: reader, db: sqlDB, now: time.Now}
}

// bufferSize is how much of the file is gathered before it is written to the Output.
const bufferSize = 64 << 10

// WriteError is a failure to write to the Output: the client went away or stopped reading.
type WriteError struct{ Err error }

func (e WriteError) Error() string { return "write export: " + e.Err.Error() }
func (e WriteError) Unwrap() error { return e.Err }

// outputWriter marks the errors of an Output as WriteErrors.
type outputWriter struct{ out Output }

func (w outputWriter) Write(p []byte) (int, error) {
	n, err := w.out.Write(p)
	if err != nil {
		return n, WriteError{err}
	}
	return n, nil
}

// Stream writes the records of r that p may read to out, a chunk at a time, flushing after
// each, and audits the export once it has started, however it ends. It returns the
// store's errors (Forbidden, Malformed, a database error), ctx's, or a WriteError. When
// Result.Started is false nothing was written and the caller may still answer with an error.
func (e *Exporter) Stream(ctx context.Context, p auth.Principal, r Request, out Output) (Result, error) {
	res, err := e.stream(ctx, p, r, out)
	if !res.Started {
		return res, err
	}
	if aerr := e.record(ctx, r, res, err); aerr != nil {
		return res, errors.Join(err, aerr)
	}
	return res, err
}

// stream is Stream without the audit event.
func (e *Exporter) stream(ctx context.Context, p auth.Principal, r Request, out Output) (Result, error) {
	bw := bufio.NewWriterSize(outputWriter{out}, bufferSize)
	enc := newEncoder(r.Format, bw, r.Columns)
	var res Result
	start := func() error {
		res.Started = true
		out.Start()
		return enc.begin()
	}
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return WriteError{err}
		}
		return nil
	}
	n, err := e.reader.Export(ctx, p, r.Filter, func(items []alumni.Alumnus) error {
		if !res.Started {
			if err := start(); err != nil {
				return err
			}
		}
		if err := enc.rows(items); err != nil {
			return err
		}
		return flush()
	})
	res.Rows = n
	if err == nil {
		if !res.Started {
			err = start()
		}
		if err == nil {
			err = enc.end()
		}
		if err == nil {
			err = flush()
		}
	}
	res.Complete = res.Started && err == nil
	return res, err
}

// record writes the audit event of an export, in a short transaction of its own, also when ctx
// has ended (the client went away).
func (e *Exporter) record(ctx context.Context, r Request, res Result, failure error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	names := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		names[i] = c.Name
	}
	params := r.Params
	if params == nil {
		params = map[string]any{}
	}
	changes := []audit.Change{
		{Field: "format", After: string(r.Format)},
		{Field: "columns", After: names},
		{Field: "filter", After: params},
		{Field: "rows", After: res.Rows},
		{Field: "complete", After: res.Complete},
	}
	if failure != nil {
		changes = append(changes, audit.Change{Field: "cutShort", After: reason(failure)})
	}
	now := e.now()
	return database.Transact(ctx, e.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		return audit.Record(ctx, q, audit.Event{Action: "alumni.export", EntityType: "alumnus", Changes: changes}, now)
	})
}

// reason says why an export ended early, in words for the audit trail.
func reason(err error) string {
	var we WriteError
	switch {
	case errors.Is(err, context.Canceled):
		return "the client went away"
	case errors.Is(err, context.DeadlineExceeded):
		return "the export ran out of time"
	case errors.As(err, &we):
		return "the client went away or stopped reading"
	}
	return "server error"
}
