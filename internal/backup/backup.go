package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/alumnid/alumnid/internal/database"
)

// Open returns a small pool on dsn for backups and restores. It differs from the service's
// pool in two ways: times are read as the server's text (not parsed), so that they are copied
// byte for byte, and no statement timeout applies, as reading a large table takes minutes.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := database.Config(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ParseTime = false
	return database.OpenConfig(ctx, cfg, database.PoolConfig{MaxOpen: 4, MaxIdle: 2, MaxIdleTime: time.Minute})
}

// Options tune Write.
type Options struct {
	// Level is the gzip level, 1 (fastest, the default) to 9 (smallest).
	Level int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// ErrNotAlumnid is returned when the database has no schema version to record.
var ErrNotAlumnid = errors.New("the database has no alumnid schema (no schema_migrations)")

// Write writes a consistent snapshot of every table of the database of sqlDB (a pool from
// Open) to w as a backup file (see the package comment) and returns its manifest. All tables
// are read in one read-only REPEATABLE READ transaction started WITH CONSISTENT SNAPSHOT, each
// with one query in primary-key order, and written row by row: memory stays constant however
// large the tables are. It fails when the schema is dirty or missing, a table has no primary
// key or a column type it cannot copy exactly, or the database or w fails.
func Write(ctx context.Context, sqlDB *sql.DB, w io.Writer, opts Options) (m Manifest, err error) {
	if opts.Level == 0 {
		opts.Level = 1
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: connect: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return Manifest{}, fmt.Errorf("backup: isolation level: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return Manifest{}, fmt.Errorf("backup: start the snapshot: %w", err)
	}
	defer func() {
		// Read only: ending it either way changes nothing.
		endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, cErr := conn.ExecContext(endCtx, "COMMIT"); cErr != nil && err == nil {
			err = fmt.Errorf("backup: end the snapshot: %w", cErr)
		}
	}()

	h := Header{Format: Format, Version: FormatVersion, CreatedAt: now().UTC().Truncate(time.Microsecond)}
	var dirty bool
	err = conn.QueryRowContext(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&h.SchemaVersion, &dirty)
	var myErr *mysql.MySQLError
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.As(err, &myErr) && myErr.Number == 1146:
		return Manifest{}, ErrNotAlumnid
	case err != nil:
		return Manifest{}, fmt.Errorf("backup: read the schema version: %w", err)
	case dirty:
		return Manifest{}, fmt.Errorf("backup: the schema (version %d) is dirty: a migration failed half-way; repair it first", h.SchemaVersion)
	}
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&h.Server); err != nil {
		return Manifest{}, fmt.Errorf("backup: read the server version: %w", err)
	}
	tables, err := describe(ctx, conn)
	if err != nil {
		return Manifest{}, err
	}
	fw, err := newFileWriter(w, opts.Level, h)
	if err != nil {
		return Manifest{}, err
	}
	for _, t := range tables {
		if err := fw.beginTable(t); err != nil {
			return Manifest{}, err
		}
		if err := scanTable(ctx, conn, t, fw.row); err != nil {
			return Manifest{}, err
		}
		if err := fw.endTable(); err != nil {
			return Manifest{}, err
		}
	}
	return fw.finish()
}

// queryer is a *sql.Conn or a *sql.DB.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// describe lists the base tables of the current database but schema_migrations, in name
// order, with their columns (generated columns left out: the server computes them) and
// primary keys. It fails when a table has no primary key or a column of a type backups do not
// copy exactly (BIT, FLOAT, DOUBLE, spatial types).
func describe(ctx context.Context, q queryer) ([]TableHeader, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, COALESCE(c.CHARACTER_SET_NAME, '')
		FROM information_schema.COLUMNS c
		JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
		WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_NAME <> 'schema_migrations'
		  AND COALESCE(c.GENERATION_EXPRESSION, '') = ''
		ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`)
	if err != nil {
		return nil, fmt.Errorf("backup: list the columns: %w", err)
	}
	defer rows.Close()
	var tables []TableHeader
	for rows.Next() {
		var table, name, dataType, columnType, charset string
		if err := rows.Scan(&table, &name, &dataType, &columnType, &charset); err != nil {
			return nil, fmt.Errorf("backup: list the columns: %w", err)
		}
		kind, ok := kindOf(strings.ToLower(dataType), charset)
		if !ok {
			return nil, fmt.Errorf("backup: column %s.%s has type %s, which backups cannot copy exactly", table, name, columnType)
		}
		if len(tables) == 0 || tables[len(tables)-1].Table != table {
			tables = append(tables, TableHeader{Table: table})
		}
		t := &tables[len(tables)-1]
		t.Columns = append(t.Columns, Column{Name: name, Kind: kind, Type: columnType})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: list the columns: %w", err)
	}
	keys, err := primaryKeys(ctx, q)
	if err != nil {
		return nil, err
	}
	for i, t := range tables {
		if len(keys[t.Table]) == 0 {
			return nil, fmt.Errorf("backup: table %s has no primary key", t.Table)
		}
		tables[i].PrimaryKey = keys[t.Table]
	}
	return tables, nil
}

func primaryKeys(ctx context.Context, q queryer) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
		WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'PRIMARY'
		ORDER BY TABLE_NAME, ORDINAL_POSITION`)
	if err != nil {
		return nil, fmt.Errorf("backup: list the primary keys: %w", err)
	}
	defer rows.Close()
	keys := map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, fmt.Errorf("backup: list the primary keys: %w", err)
		}
		keys[table] = append(keys[table], column)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: list the primary keys: %w", err)
	}
	return keys, nil
}

// kindOf maps an information_schema DATA_TYPE (MariaDB reports JSON as longtext) to a kind.
func kindOf(dataType, charset string) (Kind, bool) {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return KindInt, true
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return KindBytes, true
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		if charset == "binary" {
			return KindBytes, true
		}
		return KindText, true
	case "date", "datetime", "timestamp", "time", "year":
		return KindTime, true
	case "decimal", "numeric":
		return KindDecimal, true
	case "json":
		return KindJSON, true
	}
	return "", false
}

// quote quotes an identifier read from information_schema.
func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// selectStatement reads every column of t in primary-key order: a scan of the clustered index,
// no sort.
func selectStatement(t TableHeader) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quote(c.Name)
	}
	keys := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keys[i] = quote(k)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + quote(t.Table) + " ORDER BY " + strings.Join(keys, ", ")
}

// scanTable reads t in primary-key order with one query and hands each row's raw values (nil
// for NULL) to fn; the values are valid only during the call.
func scanTable(ctx context.Context, q queryer, t TableHeader, fn func(cols []Column, values [][]byte) error) error {
	rows, err := q.QueryContext(ctx, selectStatement(t))
	if err != nil {
		return fmt.Errorf("read table %s: %w", t.Table, err)
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(t.Columns))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	values := make([][]byte, len(raw))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read table %s: %w", t.Table, err)
		}
		for i, v := range raw {
			if v == nil {
				values[i] = nil
			} else {
				values[i] = v
			}
		}
		if err := fn(t.Columns, values); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table %s: %w", t.Table, err)
	}
	return nil
}
