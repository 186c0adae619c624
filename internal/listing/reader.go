// Package listing reads alumni records many at a time: lists and searches, facets, reports
// and exports. The search index (internal/searchindex) finds the records of a filter, in order;
// the database gives their current values. What a caller may see of each record and may
// filter on is decided by the read rules of internal/alumni (access.go).
package listing

import (
	"context"
	"database/sql"

	"github.com/alumnid/alumnid/internal/searchindex"
)

// Reader lists, searches and counts alumni records.
type Reader struct {
	db          *sql.DB
	exportChunk int // records an export reads per query
	// index answers which records match a filter, in order; follower keeps it current and
	// brings it up to date before each request's first read (docs/SEARCH.md).
	index    *searchindex.Index
	follower *searchindex.Follower
}

// NewReader returns a Reader on the pool sqlDB that finds records with the index search
// keeps current. The reader answers Unavailable until search has loaded the index (Start).
func NewReader(sqlDB *sql.DB, search *searchindex.Follower) *Reader {
	return &Reader{db: sqlDB, exportChunk: DefaultExportChunk, index: search.Index(), follower: search}
}

// sync brings the index up to date with the changes committed before the request arrived
// (searchindex.AsOf), or returns Unavailable while it is loading.
func (s *Reader) sync(ctx context.Context) error { return s.follower.Sync(ctx) }
