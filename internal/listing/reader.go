// Package listing reads alumni records many at a time: filters compiled to SQL, lists and
// searches, facets and reports, with a cache of counts. What a caller may see of each record
// and may filter on is decided by the read rules of internal/alumni (access.go).
package listing

import (
	"database/sql"

	"github.com/alumnid/alumnid/internal/searchindex"
)

// Reader lists, searches and counts alumni records.
type Reader struct {
	db          *sql.DB
	probeLimit  int         // see plan
	exportChunk int         // records an export reads per query
	counts      *countCache // nil: live counts are not remembered
	// index answers lists, totals and facets when set (SetIndex), kept current by follower.
	index    *searchindex.Index
	follower *searchindex.Follower
}

// NewReader returns a Reader on the pool sqlDB.
func NewReader(sqlDB *sql.DB) *Reader {
	return &Reader{db: sqlDB, probeLimit: defaultProbeLimit, exportChunk: DefaultExportChunk}
}
