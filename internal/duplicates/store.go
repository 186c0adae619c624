package duplicates

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/alumni"
)

// Store keeps the office's queue of likely duplicate pairs (duplicate_pairs) and finds the
// likely duplicates of one record from the duplicate keys the write path stores
// (docs/STEWARDSHIP.md).
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// NewStore returns the store on sqlDB.
func NewStore(sqlDB *sql.DB) *Store {
	return &Store{db: sqlDB, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// record is a live record with its internal key and what the score compares of it.
type record struct {
	key int64
	alumni.Alumnus
	profile
}

// scored is a likely pair of records by internal key, the lower first.
type scored struct {
	low, high int64
	score     float64
	reasons   []Reason
}

// chunk bounds the ids of one IN list.
const chunk = 5000

// load reads the live records among ids.
func load(ctx context.Context, q *db.Queries, ids []int64) (map[int64]*record, error) {
	out := make(map[int64]*record, len(ids))
	for part := range slices.Chunk(ids, chunk) {
		rows, err := q.ListAlumniByIDs(ctx, part)
		if err != nil {
			return nil, fmt.Errorf("read alumni: %w", err)
		}
		rows = slices.DeleteFunc(rows, func(r db.Alumni) bool { return r.DeletedAt != nil })
		list, err := alumni.WithChildren(ctx, q, rows)
		if err != nil {
			return nil, err
		}
		for i, a := range list {
			out[rows[i].ID] = &record{key: rows[i].ID, Alumnus: a, profile: newProfile(a.Fields)}
		}
	}
	return out, nil
}

// groupLimit is the number of holders above which a key brings no candidates.
func groupLimit(k alumni.DuplicateKey) int {
	if k.Kind == alumni.KeyBlock {
		return maxBlockGroup
	}
	return maxKeyGroup
}

// candidates returns, for each subject, the keys of the records sharing a duplicate key with
// it (live or not: load tells), keys held by more records than their limit aside.
func candidates(ctx context.Context, q *db.Queries, subjects []*record) (map[int64][]int64, error) {
	byKind := map[string]map[string]bool{}
	for _, s := range subjects {
		for _, k := range s.keys {
			if byKind[k.Kind] == nil {
				byKind[k.Kind] = map[string]bool{}
			}
			byKind[k.Kind][k.Key] = true
		}
	}
	holders := map[alumni.DuplicateKey][]int64{}
	lastNames := map[int64]string{} // of block keys' holders, loose
	for kind, values := range byKind {
		for part := range slices.Chunk(setList(values), chunk) {
			if kind == alumni.KeyBlock {
				rows, err := q.ListBlockKeyHolders(ctx, part)
				if err != nil {
					return nil, fmt.Errorf("read duplicate keys: %w", err)
				}
				for _, r := range rows {
					k := alumni.DuplicateKey{Kind: kind, Key: r.DupKey}
					holders[k] = append(holders[k], r.AlumnusID)
					lastNames[r.AlumnusID] = alumni.LooseName(r.LastName)
				}
				continue
			}
			rows, err := q.ListDuplicateKeyHolders(ctx, db.ListDuplicateKeyHoldersParams{Kind: kind, DupKeys: part})
			if err != nil {
				return nil, fmt.Errorf("read duplicate keys: %w", err)
			}
			for _, r := range rows {
				k := alumni.DuplicateKey{Kind: kind, Key: r.DupKey}
				holders[k] = append(holders[k], r.AlumnusID)
			}
		}
	}
	out := make(map[int64][]int64, len(subjects))
	for _, s := range subjects {
		var ids []int64
		for _, k := range s.keys {
			g := holders[k]
			if len(g) > groupLimit(k) {
				continue
			}
			if k.Kind != alumni.KeyBlock {
				ids = append(ids, g...)
				continue
			}
			// In a block, only a last name a typo away can make a pair (NameTypo); the same
			// last name shares the name key too.
			for _, id := range g {
				if last := lastNames[id]; last == s.last || typo(s.last, last) {
					ids = append(ids, id)
				}
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		out[s.key] = slices.DeleteFunc(ids, func(id int64) bool { return id == s.key })
	}
	return out, nil
}

func setList(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// likely scores each subject against its candidates and returns the likely pairs (each once,
// by key) and every record read, subjects included.
func likely(ctx context.Context, q *db.Queries, subjects []*record) ([]scored, map[int64]*record, error) {
	found, err := candidates(ctx, q, subjects)
	if err != nil {
		return nil, nil, err
	}
	records := make(map[int64]*record, len(subjects))
	for _, s := range subjects {
		records[s.key] = s
	}
	var missing []int64
	for _, ids := range found {
		for _, id := range ids {
			if records[id] == nil {
				missing = append(missing, id)
			}
		}
	}
	slices.Sort(missing)
	more, err := load(ctx, q, slices.Compact(missing))
	if err != nil {
		return nil, nil, err
	}
	for id, r := range more {
		records[id] = r
	}
	seen := map[[2]int64]bool{}
	var out []scored
	for _, s := range subjects {
		for _, id := range found[s.key] {
			other := records[id]
			if other == nil {
				continue // in the trash
			}
			low, high := min(s.key, id), max(s.key, id)
			if seen[[2]int64{low, high}] {
				continue
			}
			seen[[2]int64{low, high}] = true
			if v, reasons := score(s.profile, other.profile); v >= Likely {
				out = append(out, scored{low: low, high: high, score: v, reasons: reasons})
			}
		}
	}
	// In key order: concurrent writers lock pairs in the same order.
	slices.SortFunc(out, func(a, b scored) int { return cmp.Or(cmp.Compare(a.low, b.low), cmp.Compare(a.high, b.high)) })
	return out, records, nil
}

// Stored forms of a score and its reasons.
func storedScore(v float64) int16 { return int16(math.Round(v * 1000)) }

func scoreOf(stored int16) float64 { return float64(stored) / 1000 }

func storedReasons(rs []Reason) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func reasonsOf(stored string) []Reason {
	if stored == "" {
		return []Reason{}
	}
	parts := strings.Split(stored, ",")
	out := make([]Reason, len(parts))
	for i, p := range parts {
		out[i] = Reason(p)
	}
	return out
}
