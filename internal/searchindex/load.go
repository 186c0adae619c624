package searchindex

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
)

// loadBatch is how many records Load reads per statement.
const loadBatch = 5000

// Load fills x with every record of the database: one goroutine reads batches in key order
// while others turn the batches read into docs.
func (x *Index) Load(ctx context.Context, sqlDB *sql.DB) error {
	type batch struct {
		rows    []db.Alumni
		records []alumni.Alumnus
	}
	batches := make(chan batch, 2)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(batches)
		q := db.New(sqlDB)
		var after int64
		for {
			rows, err := q.ReadAlumniAfter(ctx, db.ReadAlumniAfterParams{After: after, Limit: loadBatch})
			if err != nil {
				return fmt.Errorf("load search index: %w", err)
			}
			if len(rows) == 0 {
				return nil
			}
			records, err := alumni.WithChildren(ctx, q, rows)
			if err != nil {
				return fmt.Errorf("load search index: %w", err)
			}
			select {
			case batches <- batch{rows, records}:
			case <-ctx.Done():
				return ctx.Err()
			}
			after = rows[len(rows)-1].ID
		}
	})
	for range max(runtime.GOMAXPROCS(0), 1) {
		g.Go(func() error {
			for b := range batches {
				docs := make([]*Doc, len(b.rows))
				for i, r := range b.rows {
					docs[i] = x.NewDoc(uint32(r.ID), b.records[i]) //nolint:gosec // keys are below 2^32 (docs/SEARCH.md)
				}
				x.Put(docs...)
			}
			return nil
		})
	}
	return g.Wait()
}
