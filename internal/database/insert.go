package database

import (
	"context"
	"fmt"
	"strings"

	"github.com/alumnid/alumnid/gen/db"
)

// maxPlaceholders keeps a multi-row INSERT under the server's limit of 65,535 parameters.
const maxPlaceholders = 60000

// InsertRows writes rows (each holding one value per column) into table with multi-row
// INSERTs, as many rows per statement as the parameter limit allows. sqlc writes one-row
// statements only; bulk writers (seed, search index, imports) use this. Only the fixed table
// and column names and placeholders go into the statement text.
func InsertRows(ctx context.Context, exec db.DBTX, table string, columns []string, rows [][]any) error {
	return insertChunks(ctx, exec, table, columns, rows, "")
}

// insertChunks writes rows with statements of as many rows as the parameter limit allows,
// each ending in suffix.
func insertChunks(ctx context.Context, exec db.DBTX, table string, columns []string, rows [][]any, suffix string) error {
	per := max(maxPlaceholders/len(columns), 1)
	for len(rows) > 0 {
		n := min(per, len(rows))
		args := make([]any, 0, n*len(columns))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := exec.ExecContext(ctx, InsertStatement(table, columns, n)+suffix, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}

// InsertStatement is the text of an INSERT of rows rows into table: only the fixed table and
// column names and placeholders go into it.
func InsertStatement(table string, columns []string, rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	var b strings.Builder
	b.Grow(len(one)*rows + 100)
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// UpsertAdd inserts rows into table and, for rows whose key exists, adds the value of column
// counter to the stored one (a counter table). Rows are written in the order given, which the
// caller keeps sorted by key so that concurrent writers lock counters in the same order.
func UpsertAdd(ctx context.Context, exec db.DBTX, table string, columns []string, counter string, rows [][]any) error {
	return insertChunks(ctx, exec, table, columns, rows, " ON DUPLICATE KEY UPDATE "+counter+" = "+counter+" + VALUES("+counter+")")
}
