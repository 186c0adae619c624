package importer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/metrics"
)

// RunnerConfig tunes a worker. Zero values mean the defaults.
type RunnerConfig struct {
	// PollInterval is how often an idle worker looks for jobs (default 2s).
	PollInterval time.Duration
	// Lease is how long a job stays with its worker without news from it (default 2m); a
	// worker renews it with every batch, and after it runs out another worker takes the job.
	Lease time.Duration
	// BatchSize is the rows of one batch, one transaction (default 500).
	BatchSize int
	// MaxAttempts is how many batches of a job may fail with an error before the job is given
	// up as failed (default 5). A worker that stops (a deploy) does not count.
	MaxAttempts int
	// PurgeInterval is how often the worker deletes what old imports left (default 10m).
	PurgeInterval time.Duration
	// Metrics, when set, counts the rows processed.
	Metrics *metrics.Metrics
	// Owner names the worker in leases (default host name, process id and a random suffix).
	Owner string
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.PurgeInterval <= 0 {
		c.PurgeInterval = 10 * time.Minute
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.Owner = fmt.Sprintf("%.60s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	return c
}

// Runner is the import worker of one process. Every replica runs one: each claims queued jobs
// (and jobs whose worker's lease ran out) with an atomic UPDATE, so a job runs on one worker
// at a time, and works through its staged rows in batches.
type Runner struct {
	db    *sql.DB
	store *alumni.Store
	cfg   RunnerConfig
	log   *slog.Logger
	now   func() time.Time
}

// NewRunner returns a worker on sqlDB.
func NewRunner(sqlDB *sql.DB, cfg RunnerConfig, log *slog.Logger) *Runner {
	return &Runner{
		db: sqlDB, store: alumni.NewStore(sqlDB),
		cfg: cfg.withDefaults(), log: log, now: time.Now,
	}
}

// Run works on imports until ctx ends, then returns once the batch in progress is rolled back
// and the job's lease released, so that another worker can take it up at once.
func (r *Runner) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	lastPurge := r.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if r.now().Sub(lastPurge) >= r.cfg.PurgeInterval {
			lastPurge = r.now()
			if err := Purge(ctx, r.db, lastPurge); err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "import purge failed", slog.String("error", err.Error()))
			}
		}
		worked, err := r.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "import batch failed", slog.String("error", err.Error()))
		}
		wait := r.cfg.PollInterval
		if worked && err == nil {
			wait = 0 // there may be more
		}
		timer.Reset(wait)
	}
}

// RunOnce claims one job, if any is waiting, and works on it until it is finished, the lease
// is lost or ctx ends. It reports whether it found a job, and the error that stopped it (the
// job is then released, to be taken up again).
func (r *Runner) RunOnce(ctx context.Context) (bool, error) {
	id, ok, err := r.claim(ctx)
	if err != nil || !ok {
		return false, err
	}
	retries := 0
	for {
		done, failure, err := r.batch(ctx, id)
		if err == nil && done {
			// The staged rows go first, so that a finished job has none; a worker that stops
			// in between leaves a job that finishes at once when it is taken up again.
			if err = r.cleanUp(ctx, id); err == nil {
				err = r.finish(ctx, id, failure)
			}
		}
		switch {
		case errors.Is(err, errLeaseLost):
			r.log.WarnContext(ctx, "import taken over by another worker", slog.Int64("import", id))
			return true, nil
		case err != nil && database.Unavailable(err) && ctx.Err() == nil && retries < maxRetries:
			// A deadlock or lock wait with an edit made meanwhile: the batch was rolled back
			// whole; try it again without giving the job up.
			retries++
			r.log.WarnContext(ctx, "import batch retried", slog.Int64("import", id), slog.String("error", err.Error()))
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(retries) * 100 * time.Millisecond):
			}
		case err != nil:
			r.release(ctx, id, ctx.Err() == nil) // stopping is not failing
			return true, err
		case done:
			return true, nil
		default:
			retries = 0
		}
	}
}

// maxRetries is how many times in a row a batch is tried again after a transient database
// error (a deadlock, a lock wait timeout) before the job is released.
const maxRetries = 3

// claim takes a queued or abandoned job for this worker.
func (r *Runner) claim(ctx context.Context) (int64, bool, error) {
	q := db.New(r.db)
	now := r.timestamp()
	ids, err := q.ListClaimableImportJobs(ctx, &now)
	if err != nil {
		return 0, false, fmt.Errorf("find import jobs: %w", err)
	}
	for _, id := range ids {
		expires := now.Add(r.cfg.Lease)
		n, err := q.ClaimImportJob(ctx, db.ClaimImportJobParams{
			Owner: &r.cfg.Owner, LeaseExpiresAt: &expires, StartedAt: &now, Now: now, ID: id, ExpiredBefore: &now,
		})
		if err != nil {
			return 0, false, fmt.Errorf("claim import job: %w", err)
		}
		if n == 1 {
			return id, true, nil
		}
	}
	return 0, false, nil
}

// release lets another worker take the job at once, counting a failed attempt when failed;
// it works also after ctx ended.
func (r *Runner) release(ctx context.Context, id int64, failed bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := r.timestamp()
	var failures int32
	if failed {
		failures = 1
	}
	err := db.New(r.db).ReleaseImportJob(ctx, db.ReleaseImportJobParams{LeaseExpiresAt: &now, Failed: failures, ID: id, LeaseOwner: &r.cfg.Owner})
	if err != nil {
		r.log.WarnContext(ctx, "release import job", slog.Int64("import", id), slog.String("error", err.Error()))
	}
}

var errLeaseLost = errors.New("the import's lease passed to another worker")

// batch processes the next batch of job id in one transaction, which also records the
// progress, the counts and the problems of the batch, and renews the lease. It reports whether
// the job is done, and why it failed when it is given up.
func (r *Runner) batch(ctx context.Context, id int64) (done bool, failure string, err error) {
	var (
		mode   string
		counts Counts
	)
	defer func() {
		// A bug met by one job's data must not stop the replica: it is that batch's failure.
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "import batch panicked", slog.Int64("import", id), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			done, failure, err = false, "", fmt.Errorf("import batch panicked: %v", p)
		}
	}()
	err = database.Transact(ctx, r.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		job, err := r.lock(ctx, q, id)
		if err != nil {
			return err
		}
		if int(job.FailedAttempts) >= r.cfg.MaxAttempts {
			done, failure = true, fmt.Sprintf("stopped after %d attempts that failed; the server log has the errors", job.FailedAttempts)
			return nil
		}
		rows, err := q.ListImportRows(ctx, db.ListImportRowsParams{ImportID: id, RowNo: job.NextRow, Limit: int32Of(r.cfg.BatchSize)})
		if err != nil {
			return fmt.Errorf("read staged rows: %w", err)
		}
		if len(rows) > 0 {
			before := job
			if err := r.apply(actorContext(ctx, job), tx, &job, rows); err != nil {
				return err
			}
			mode = "apply"
			if job.DryRun {
				mode = "dry_run"
			}
			counts = Counts{
				Created: int(job.CreatedCount - before.CreatedCount), Updated: int(job.UpdatedCount - before.UpdatedCount),
				Unchanged: int(job.UnchangedCount - before.UnchangedCount), Rejected: int(job.RejectedCount - before.RejectedCount),
			}
		}
		done = len(rows) < r.cfg.BatchSize
		return nil
	})
	if err == nil { // counted once committed
		m := r.cfg.Metrics
		m.ImportRows(mode, "created", counts.Created)
		m.ImportRows(mode, "updated", counts.Updated)
		m.ImportRows(mode, "unchanged", counts.Unchanged)
		m.ImportRows(mode, "rejected", counts.Rejected)
	}
	return done, failure, err
}

// lock locks job id, which must still be this worker's.
func (r *Runner) lock(ctx context.Context, q *db.Queries, id int64) (db.ImportJob, error) {
	job, err := q.LockImportJob(ctx, id)
	if err != nil {
		return db.ImportJob{}, fmt.Errorf("lock import job: %w", err)
	}
	if job.Status != StatusRunning || ptr.Deref(job.LeaseOwner) != r.cfg.Owner {
		return db.ImportJob{}, errLeaseLost
	}
	return job, nil
}

// actorContext returns ctx with the uploader of job as the actor of audit events.
func actorContext(ctx context.Context, job db.ImportJob) context.Context {
	return audit.WithActor(ctx, audit.Actor{
		UserID: ptr.Deref(job.ActorID), Role: ptr.Deref(job.ActorRole),
		RequestID: ptr.Deref(job.RequestID), ClientIP: ptr.Deref(job.ClientIp),
	})
}

// apply upserts the staged rows of one batch and records the outcome in job and the database.
func (r *Runner) apply(ctx context.Context, tx *sql.Tx, job *db.ImportJob, rows []db.ListImportRowsRow) error {
	q := db.New(tx)
	var columns []Column
	if err := json.Unmarshal(job.ColumnMap, &columns); err != nil {
		return fmt.Errorf("decode columns of import %d: %w", job.ID, err)
	}
	b := newBatchReport(columns)
	var upserts []alumni.UpsertRow
	var upserted []db.ListImportRowsRow
	for _, row := range rows {
		ch, problems := r.readRow(row, columns, job.FieldDelimiter)
		if len(problems) > 0 {
			b.reject(row, problems)
			continue
		}
		sid, email := ch.keys()
		upserts = append(upserts, alumni.UpsertRow{StudentID: sid, Email: email, Edit: ch.edit})
		upserted = append(upserted, row)
	}
	if len(upserts) > 0 {
		results, err := r.store.Upsert(ctx, tx, upserts, job.DryRun)
		if err != nil {
			return err
		}
		for i, res := range results {
			b.outcome(upserted[i], res)
		}
	}
	slices.SortStableFunc(b.errors, func(x, y RowError) int { return x.Row - y.Row })
	for _, e := range b.errors {
		if err := q.CreateImportError(ctx, db.CreateImportErrorParams{
			ImportID: job.ID, RowNo: int32Of(e.Row), LineNo: int32Of(e.Line), ColumnName: ptr.NonZero(truncate(e.Column, maxHeaderChars)),
			Field: ptr.NonZero(e.Field), Message: truncate(e.Message, 500),
		}); err != nil {
			return fmt.Errorf("record import error: %w", err)
		}
	}
	now := r.timestamp()
	expires := now.Add(r.cfg.Lease)
	job.NextRow = rows[len(rows)-1].RowNo + 1
	job.ProcessedRows += int32Of(len(rows))
	job.CreatedCount += int32Of(b.counts.Created)
	job.UpdatedCount += int32Of(b.counts.Updated)
	job.UnchangedCount += int32Of(b.counts.Unchanged)
	job.RejectedCount += int32Of(b.counts.Rejected)
	job.ErrorCount += int32Of(len(b.errors))
	err := q.SaveImportProgress(ctx, db.SaveImportProgressParams{
		NextRow: job.NextRow, ProcessedRows: job.ProcessedRows, CreatedCount: job.CreatedCount, UpdatedCount: job.UpdatedCount,
		UnchangedCount: job.UnchangedCount, RejectedCount: job.RejectedCount, ErrorCount: job.ErrorCount,
		LeaseExpiresAt: &expires, UpdatedAt: now, ID: job.ID,
	})
	if err != nil {
		return fmt.Errorf("save import progress: %w", err)
	}
	// The batch's progress joins the audit trail, which feeds real-time subscribers.
	return audit.Record(ctx, q, audit.Event{Action: "import.progress", EntityType: "import", EntityID: job.PublicID,
		Changes: progressChanges(*job, StatusRunning)}, now)
}

// readRow turns a staged row into a change, or the problems that reject it before the
// database is asked: it could not be read, it has no key, or an earlier row has its key.
func (r *Runner) readRow(row db.ListImportRowsRow, columns []Column, delim string) (change, []Problem) {
	if row.Problem != nil {
		return change{}, []Problem{{Column: ptr.Deref(row.ProblemColumn), Message: *row.Problem}}
	}
	ch := change{columns: columns, delim: ','}
	if delim == ";" {
		ch.delim = ';'
	}
	if err := json.Unmarshal(row.Data, &ch.cells); err != nil || len(ch.cells) != len(columns) {
		return change{}, []Problem{{Message: "could not be read back from staging"}}
	}
	sid, email := ch.keys()
	var problems []Problem
	if sid == "" && email == "" {
		problems = append(problems, Problem{Field: fieldStudentID, Message: "has no student id and no email, so it cannot be matched"})
	}
	if row.FirstStudentRow != nil {
		problems = append(problems, Problem{Field: fieldStudentID, Message: fmt.Sprintf(
			"is the same as in row %d; only the first row with a student id is imported", *row.FirstStudentRow)})
	}
	if row.FirstEmailRow != nil {
		problems = append(problems, Problem{Field: fieldEmail, Message: fmt.Sprintf(
			"is the same as in row %d; only the first row with an email is imported", *row.FirstEmailRow)})
	}
	return ch, problems
}

// finish ends job id: succeeded, or failed for the reason failure.
func (r *Runner) finish(ctx context.Context, id int64, failure string) error {
	return database.Transact(ctx, r.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		job, err := r.lock(ctx, q, id)
		if err != nil {
			return err
		}
		status := StatusSucceeded
		if failure != "" {
			status = StatusFailed
		}
		return r.record(actorContext(ctx, job), q, job, status, failure)
	})
}

// record writes the end of job and its audit event.
func (r *Runner) record(ctx context.Context, q *db.Queries, job db.ImportJob, status, failure string) error {
	now := r.timestamp()
	if err := q.FinishImportJob(ctx, db.FinishImportJobParams{
		Status: status, Failure: ptr.NonZero(failure), FinishedAt: &now, UpdatedAt: now, ID: job.ID,
	}); err != nil {
		return fmt.Errorf("finish import job: %w", err)
	}
	changes := progressChanges(job, status)
	if failure != "" {
		changes = append(changes, audit.Change{Field: "failure", After: failure})
	}
	return audit.Record(ctx, q, audit.Event{Action: "import.complete", EntityType: "import", EntityID: job.PublicID, Changes: changes}, now)
}

// progressChanges are the state of job with status, as its audit events (and the real-time
// feed) record it.
func progressChanges(job db.ImportJob, status string) []audit.Change {
	mode := ModeApply
	if job.DryRun {
		mode = ModeDryRun
	}
	return []audit.Change{
		{Field: "status", After: status},
		{Field: "mode", After: mode},
		{Field: "processedRows", After: job.ProcessedRows},
		{Field: "created", After: job.CreatedCount},
		{Field: "updated", After: job.UpdatedCount},
		{Field: "unchanged", After: job.UnchangedCount},
		{Field: "rejected", After: job.RejectedCount},
	}
}

// cleanUp deletes the staged rows of a job that is done, a chunk at a time.
func (r *Runner) cleanUp(ctx context.Context, id int64) error {
	q := db.New(r.db)
	for {
		n, err := q.DeleteImportRows(ctx, id)
		if err != nil {
			return fmt.Errorf("delete staged rows: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// timestamp is the current time as the database keeps it.
func (r *Runner) timestamp() time.Time {
	return r.now().UTC().Truncate(time.Microsecond)
}

// batchReport collects the outcome of one batch.
type batchReport struct {
	columns map[string]string // header by field
	degree  string            // a degree column's header, for errors about the degrees as a whole
	counts  Counts
	errors  []RowError
}

func newBatchReport(columns []Column) *batchReport {
	b := &batchReport{columns: map[string]string{}}
	for _, c := range columns {
		b.columns[c.Field] = c.Header
		switch c.Field {
		case fieldDegree, fieldProgram, fieldFaculty, fieldGraduationYear, fieldPreferredClassYear:
			if b.degree == "" {
				b.degree = c.Header
			}
		}
	}
	return b
}

// column returns the header of the column that sets field.
func (b *batchReport) column(field string) string {
	if h, ok := b.columns[field]; ok {
		return h
	}
	switch field {
	case fieldDegree, fieldProgram, fieldFaculty, fieldGraduationYear, fieldPreferredClassYear:
		return b.degree
	}
	return ""
}

func (b *batchReport) reject(row db.ListImportRowsRow, problems []Problem) {
	b.counts.Rejected++
	for _, p := range problems {
		column := p.Column
		if column == "" && p.Field != "" {
			column = b.column(p.Field)
		}
		b.errors = append(b.errors, RowError{Row: int(row.RowNo), Line: int(row.LineNo), Column: column, Field: p.Field, Message: p.Message})
	}
}

func (b *batchReport) outcome(row db.ListImportRowsRow, res alumni.UpsertResult) {
	switch res.Outcome {
	case alumni.Created:
		b.counts.Created++
	case alumni.Updated:
		b.counts.Updated++
	case alumni.Unchanged:
		b.counts.Unchanged++
	default:
		var problems []Problem
		if d := derrors.As(res.Err); d != nil && len(d.Fields) > 0 {
			for _, f := range d.Fields {
				problems = append(problems, Problem{Field: importField(f.Field), Message: f.Message})
			}
		} else if d != nil {
			problems = append(problems, Problem{Message: d.Detail})
		} else {
			problems = append(problems, Problem{Message: "could not be imported"})
		}
		b.reject(row, problems)
	}
}
