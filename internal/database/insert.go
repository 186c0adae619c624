package database

import (
	"context"
	"fmt"
	"strings"

	"github.com/alumnid/alumnid/gen/db"
)

// Multi-row INSERTs: sqlc writes one-row statements only; bulk writers (the write path's
// degrees, tags and search words, the counters, audit events, staged import rows, the seed)
// write many rows per statement with an Inserter. Only the fixed table and column names and
// placeholders go into a statement's text.

// Bounds of one statement: under the server's limit of 65,535 parameters, and small enough
// that a statement's values stay well below max_allowed_packet (16 MiB by default on MariaDB
// and 64 MiB on MySQL 8).
const (
	maxPlaceholders = 60000
	maxBytes        = 4 << 20
)

// Inserter writes rows into one table with multi-row INSERTs: Add collects a row and sends a
// statement when it holds as many rows as the parameter limit allows, or about 4 MiB of
// values, or the row limit set with MaxRows; Flush sends what is left.
type Inserter struct {
	exec    db.DBTX
	table   string
	columns []string
	suffix  string
	maxRows int
	args    []any
	rows    int
	bytes   int
}

// NewInserter returns an Inserter into the columns of table through exec.
func NewInserter(exec db.DBTX, table string, columns []string) *Inserter {
	return &Inserter{exec: exec, table: table, columns: columns, maxRows: max(maxPlaceholders/len(columns), 1)}
}

// MaxRows lowers the rows one statement holds to n (at least one) and returns in.
func (in *Inserter) MaxRows(n int) *Inserter {
	in.maxRows = max(min(n, in.maxRows), 1)
	return in
}

// AddCounts makes every statement add the value of column counter to the stored one for rows
// whose key exists (a counter table), and returns in.
func (in *Inserter) AddCounts(counter string) *Inserter {
	in.suffix = " ON DUPLICATE KEY UPDATE " + counter + " = " + counter + " + VALUES(" + counter + ")"
	return in
}

// Upsert makes every statement replace the named columns of rows whose key exists with the
// values sent, and returns in.
func (in *Inserter) Upsert(columns ...string) *Inserter {
	set := make([]string, len(columns))
	for i, c := range columns {
		set[i] = c + " = VALUES(" + c + ")"
	}
	in.suffix = " ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
	return in
}

// Add collects one row (a value per column) and sends the statement when it is full. It
// returns the database's error.
func (in *Inserter) Add(ctx context.Context, values ...any) error {
	if len(values) != len(in.columns) {
		return fmt.Errorf("insert into %s: %d values for %d columns", in.table, len(values), len(in.columns))
	}
	in.args = append(in.args, values...)
	in.rows++
	for _, v := range values {
		in.bytes += valueSize(v)
	}
	if in.rows >= in.maxRows || in.bytes >= maxBytes {
		return in.Flush(ctx)
	}
	return nil
}

// Flush sends the rows collected and not yet sent, if any. It returns the database's error.
func (in *Inserter) Flush(ctx context.Context) error {
	if in.rows == 0 {
		return nil
	}
	if _, err := in.exec.ExecContext(ctx, insertStatement(in.table, in.columns, in.rows)+in.suffix, in.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	in.args, in.rows, in.bytes = in.args[:0], 0, 0
	return nil
}

// valueSize is about how many bytes v takes in a statement.
func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v) + 3
	case *string:
		if v != nil {
			return len(*v) + 3
		}
	case []byte:
		return len(v) + 3
	}
	return 8
}

// InsertRows writes rows (each holding one value per column) into table with multi-row
// INSERTs (an Inserter). It returns the database's error.
func InsertRows(ctx context.Context, exec db.DBTX, table string, columns []string, rows [][]any) error {
	return insertAll(ctx, NewInserter(exec, table, columns), rows)
}

// UpsertAdd inserts rows into table and, for rows whose key exists, adds the value of column
// counter to the stored one (a counter table). Rows are written in the order given, which the
// caller keeps sorted by key so that concurrent writers lock counters in the same order.
func UpsertAdd(ctx context.Context, exec db.DBTX, table string, columns []string, counter string, rows [][]any) error {
	return insertAll(ctx, NewInserter(exec, table, columns).AddCounts(counter), rows)
}

// UpsertRows inserts rows into table and, for rows whose key exists, replaces the columns
// named in replace with the values sent. Rows are written in the order given, which the caller
// keeps sorted by key so that concurrent writers lock rows in the same order.
func UpsertRows(ctx context.Context, exec db.DBTX, table string, columns, replace []string, rows [][]any) error {
	return insertAll(ctx, NewInserter(exec, table, columns).Upsert(replace...), rows)
}

func insertAll(ctx context.Context, in *Inserter, rows [][]any) error {
	for _, r := range rows {
		if err := in.Add(ctx, r...); err != nil {
			return err
		}
	}
	return in.Flush(ctx)
}

// Placeholders returns n placeholders separated by commas, for an IN list or a row of values.
func Placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// insertStatement is the text of an INSERT of rows rows into table.
func insertStatement(table string, columns []string, rows int) string {
	one := "(" + Placeholders(len(columns)) + ")"
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
