// Package importer imports CSV files of alumni (registrar and event spreadsheets): it parses
// and maps the columns, stages the rows of an upload in the database as they arrive, and runs
// the jobs in the background — in batches, each one transaction with its progress, on any
// replica, resumable after a crash.
package importer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/internal/database"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/page"
)

// Job statuses the API shows ('receiving' uploads are not shown).
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Job is an import and how far it got.
type Job struct {
	ID             string
	Status         string
	DryRun         bool
	FileName       string
	FileSize       int64
	Delimiter      string
	Columns        []Column
	IgnoredColumns []string
	TotalRows      int
	ProcessedRows  int
	Counts         Counts
	ErrorCount     int
	// Errors are the first problems (FirstErrors at most); only Get fills them.
	Errors     []RowError
	Failure    string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Counts are rows by outcome (in a dry run, what an apply would do).
type Counts struct {
	Created, Updated, Unchanged, Rejected int
}

// RowError is one problem with one row: Row counts data rows from 1, Line is the line of the
// file it starts on; Column (a header) and Field are empty when the problem is the whole row's.
type RowError struct {
	Row, Line     int
	Column, Field string
	Message       string
}

// FirstErrors is how many problems Get returns with a job.
const FirstErrors = 20

var errNoJob = derrors.New(derrors.NotFound, "No import with this id.")

// Get returns the import id with its first problems, or NotFound.
func (s *Service) Get(ctx context.Context, id string) (_ Job, err error) {
	defer database.ClassifyErr(&err)
	q := db.New(s.db)
	row, err := q.GetImportJob(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, errNoJob
	}
	if err != nil {
		return Job{}, fmt.Errorf("get import job: %w", err)
	}
	j, err := fromJobRow(row)
	if err != nil {
		return Job{}, err
	}
	errs, err := q.ListImportErrors(ctx, db.ListImportErrorsParams{ImportID: row.ID, Limit: FirstErrors})
	if err != nil {
		return Job{}, fmt.Errorf("list import errors: %w", err)
	}
	j.Errors = make([]RowError, len(errs))
	for i, e := range errs {
		j.Errors[i] = fromErrorRow(e)
	}
	return j, nil
}

// JobPage is one page of imports, newest first; NextCursor is empty on the last page.
type JobPage struct {
	Items      []Job
	NextCursor string
}

// position is the keyset position after the last item of a page.
type position struct {
	ID int64 `json:"i"`
}

// jobsFilter is what a list of jobs is bound to (nothing yet).
type jobsFilter struct{}

// List returns the page of imports after the cursor after ("" for the newest), without their
// problems. It returns a Malformed error for a bad cursor or limit.
func (s *Service) List(ctx context.Context, after string, limit int) (_ JobPage, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(limit); err != nil {
		return JobPage{}, err
	}
	params := db.ListImportJobsParams{Limit: page.FetchLimit(limit)}
	if after != "" {
		var c position
		if err := page.Decode(after, jobsFilter{}, &c); err != nil {
			return JobPage{}, err
		}
		if c.ID < 1 {
			return JobPage{}, page.Invalid()
		}
		params.BeforeID = c.ID
	}
	rows, err := db.New(s.db).ListImportJobs(ctx, params)
	if err != nil {
		return JobPage{}, fmt.Errorf("list import jobs: %w", err)
	}
	var out JobPage
	rows, out.NextCursor = page.Trim(rows, limit, jobsFilter{}, func(r db.ImportJob) any { return position{ID: r.ID} })
	out.Items = make([]Job, len(rows))
	for i, r := range rows {
		if out.Items[i], err = fromJobRow(r); err != nil {
			return JobPage{}, err
		}
	}
	return out, nil
}

// ErrorPage is one page of an import's problems, in row order.
type ErrorPage struct {
	Items      []RowError
	NextCursor string
}

// errorsFilter binds a cursor of problems to its import.
type errorsFilter struct {
	Import string `json:"import"`
}

// ListErrors returns the page of problems of import id after the cursor after ("" for the
// first). It returns NotFound for an unknown import and a Malformed error for a bad cursor or
// limit.
func (s *Service) ListErrors(ctx context.Context, id, after string, limit int) (_ ErrorPage, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(limit); err != nil {
		return ErrorPage{}, err
	}
	filter := errorsFilter{Import: id}
	var c position
	if after != "" {
		if err := page.Decode(after, filter, &c); err != nil {
			return ErrorPage{}, err
		}
		if c.ID < 1 {
			return ErrorPage{}, page.Invalid()
		}
	}
	q := db.New(s.db)
	job, err := q.GetImportJob(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrorPage{}, errNoJob
	}
	if err != nil {
		return ErrorPage{}, fmt.Errorf("get import job: %w", err)
	}
	rows, err := q.ListImportErrors(ctx, db.ListImportErrorsParams{ImportID: job.ID, ID: c.ID, Limit: page.FetchLimit(limit)})
	if err != nil {
		return ErrorPage{}, fmt.Errorf("list import errors: %w", err)
	}
	var out ErrorPage
	rows, out.NextCursor = page.Trim(rows, limit, filter, func(r db.ImportError) any { return position{ID: r.ID} })
	out.Items = make([]RowError, len(rows))
	for i, r := range rows {
		out.Items[i] = fromErrorRow(r)
	}
	return out, nil
}

func fromJobRow(r db.ImportJob) (Job, error) {
	j := Job{
		ID: r.PublicID, Status: r.Status, DryRun: r.DryRun, FileName: r.FileName, FileSize: r.FileSize,
		Delimiter: r.FieldDelimiter, TotalRows: int(r.TotalRows), ProcessedRows: int(r.ProcessedRows),
		Counts: Counts{
			Created: int(r.CreatedCount), Updated: int(r.UpdatedCount),
			Unchanged: int(r.UnchangedCount), Rejected: int(r.RejectedCount),
		},
		ErrorCount: int(r.ErrorCount), Failure: ptr.Deref(r.Failure), CreatedBy: ptr.Deref(r.ActorID),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
	if err := json.Unmarshal(r.ColumnMap, &j.Columns); err != nil {
		return Job{}, fmt.Errorf("decode columns of import %d: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.IgnoredColumns, &j.IgnoredColumns); err != nil {
		return Job{}, fmt.Errorf("decode ignored columns of import %d: %w", r.ID, err)
	}
	return j, nil
}

func fromErrorRow(e db.ImportError) RowError {
	return RowError{
		Row: int(e.RowNo), Line: int(e.LineNo), Column: ptr.Deref(e.ColumnName), Field: ptr.Deref(e.Field), Message: e.Message,
	}
}
