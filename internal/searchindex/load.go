package searchindex

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
)

// loadBatch is how many records Load reads per statement.
const loadBatch = 5000

// Load fills x with every record of the database, batch by batch in key order.
func (x *Index) Load(ctx context.Context, sqlDB *sql.DB) error {
	q := db.New(sqlDB)
	var after int64
	for {
		rows, err := q.ListAlumniByKey(ctx, db.ListAlumniByKeyParams{After: after, Limit: loadBatch})
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
		docs := make([]*Doc, len(rows))
		for i, r := range rows {
			docs[i] = x.NewDoc(uint32(r.ID), records[i]) //nolint:gosec // keys are below 2^32 (checked in docs/SEARCH.md)
		}
		x.Put(docs...)
		after = rows[len(rows)-1].ID
	}
}
