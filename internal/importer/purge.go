package importer

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/gen/db"
)

const (
	// Retention is how long finished imports (with their problems) are kept.
	Retention = 30 * 24 * time.Hour
	// abandonedAfter is how long an upload may go without a staged batch before it counts as
	// abandoned (its replica stopped while receiving it).
	abandonedAfter = time.Hour
)

// Purge deletes what imports no longer need: uploads that stopped arriving (with their staged
// rows), and jobs (with their problems) finished more than Retention ago. It
// deletes in chunks, so it never holds locks for long, and it is safe to run on every replica
// at once.
func Purge(ctx context.Context, sqlDB *sql.DB, now time.Time) error {
	now = now.UTC()
	q := db.New(sqlDB)
	abandoned := now.Add(-abandonedAfter)
	old := now.Add(-Retention)
	steps := []struct {
		what  string
		chunk int64
		run   func() (int64, error)
	}{
		{"staged rows of abandoned uploads", 5000, func() (int64, error) { return q.PurgeAbandonedUploadRows(ctx, abandoned) }},
		{"abandoned uploads", 100, func() (int64, error) { return q.PurgeAbandonedUploads(ctx, abandoned) }},
		{"problems of old imports", 5000, func() (int64, error) { return q.PurgeOldImportErrors(ctx, &old) }},
		{"old imports", 1000, func() (int64, error) { return q.PurgeOldImportJobs(ctx, &old) }},
	}
	for _, step := range steps {
		for {
			n, err := step.run()
			if err != nil {
				return fmt.Errorf("purge %s: %w", step.what, err)
			}
			if n < step.chunk {
				break
			}
		}
	}
	return nil
}
