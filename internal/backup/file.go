package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
)

// Result is what one backup did: for logs, the audit trail and metrics.
type Result struct {
	Start    time.Time
	Duration time.Duration
	File     string // the path written; empty when none was
	Bytes    int64  // the file's size
	Rows     int64  // rows of all tables
	Tables   int
	Manifest Manifest
	// Skipped says why a scheduled backup did not run ("locked": another replica holds the
	// backup lock; "not due": another replica made one within the interval). Err is nil then.
	Skipped string
	Err     error
}

// ToFile writes a backup of the database of sqlDB (a pool from Open) to path: first to a
// temporary file beside it (path's name, a random part and ".partial"), synced, then renamed,
// so that path exists only complete. A process killed half-way leaves only its .partial file,
// which blocks no later backup. It refuses to overwrite path. The backup is recorded in the
// audit trail (action backup.create, no actor: the system). Result.Err holds the error, which
// is also returned.
func ToFile(ctx context.Context, sqlDB *sql.DB, path string, opts Options) (Result, error) {
	res := Result{Start: time.Now()}
	err := toFile(ctx, sqlDB, path, opts, &res)
	res.Duration = time.Since(res.Start)
	if err == nil {
		res.File = path
		err = recordAudit(ctx, sqlDB, res)
	}
	res.Err = err
	return res, err
}

func toFile(ctx context.Context, sqlDB *sql.DB, path string, opts Options, res *Result) (err error) {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; backups never overwrite a file", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*"+partialSuffix) // mode 0600
	if err != nil {
		return fmt.Errorf("create backup file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	m, err := Write(ctx, sqlDB, f, opts)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync backup file: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close backup file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename backup file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	res.Manifest, res.Bytes, res.Rows, res.Tables = m, info.Size(), m.Rows(), len(m.Tables)
	return nil
}

// partialSuffix ends the name of a backup file being written.
const partialSuffix = ".partial"

// recordAudit writes the backup.create event of res.
func recordAudit(ctx context.Context, sqlDB *sql.DB, res Result) error {
	ev := audit.Event{Action: "backup.create", EntityType: "backup", EntityID: filepath.Base(res.File), Changes: []audit.Change{
		{Field: "file", After: res.File},
		{Field: "bytes", After: res.Bytes},
		{Field: "rows", After: res.Rows},
		{Field: "tables", After: res.Tables},
		{Field: "schemaVersion", After: res.Manifest.SchemaVersion},
		{Field: "durationMs", After: res.Duration.Milliseconds()},
	}}
	err := database.Transact(ctx, sqlDB, func(tx *sql.Tx) error { return audit.Record(ctx, db.New(tx), ev, time.Now()) })
	if err != nil {
		return errors.Join(fmt.Errorf("the backup %s is complete, but recording it failed", res.File), err)
	}
	return nil
}
