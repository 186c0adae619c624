package backup

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alumnid/alumnid/internal/database"
)

// ErrNotEmpty is returned when the target of a restore already holds rows.
var ErrNotEmpty = errors.New("the database is not empty")

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// BatchBytes bounds one INSERT statement (default 4 MiB, under the servers' default
	// max_allowed_packet of 16 MiB).
	BatchBytes int
	// TxRows is how many rows one transaction writes (default 50,000).
	TxRows int
	// Workers is how many connections insert at once (default 2, at most 3): one decodes the
	// file while they insert, batches of the same table spread over them.
	Workers int
	Log     *slog.Logger
}

// Restore loads the backup that open returns (it is called twice: the file is read twice)
// into the empty database of dsn and returns the manifest. In order:
//
//  1. The whole file is read and checked (Check). A damaged or truncated file, or one made by
//     a newer schema than this binary knows, is refused here, before anything is written.
//  2. The database must be empty: no table but schema_migrations may hold a row, and its
//     schema must not be dirty or newer than the backup's. Otherwise ErrNotEmpty.
//  3. The embedded migrations bring the schema to the backup's version.
//  4. The secondary indexes no foreign key needs are dropped (indexes.go).
//  5. Rows are inserted with multi-row INSERTs on a few connections, foreign key and unique
//     checks off for those sessions only, TxRows rows per transaction; the file is checked
//     again as it is read.
//  6. The dropped indexes are built again, one ALTER TABLE per table (a unique index refuses
//     duplicate rows here).
//  7. Every table is read back in primary-key order and its row count and SHA-256 compared
//     with the manifest.
//
// An error after step 3 leaves a partly restored database: drop it and create it again.
func Restore(ctx context.Context, dsn string, open func() (io.ReadCloser, error), opts RestoreOptions) (Manifest, error) {
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 4 << 20
	}
	if opts.TxRows <= 0 {
		opts.TxRows = 50000
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	opts.Workers = min(opts.Workers, 3) // the pool of Open has 4 connections
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	log := opts.Log
	start := time.Now()
	m, err := checkFile(open)
	if err != nil {
		return Manifest{}, err
	}
	log.Info("restore: the backup file checked out", slog.Uint64("schema_version", uint64(m.SchemaVersion)),
		slog.Time("created_at", m.CreatedAt), slog.Int("tables", len(m.Tables)), slog.Int64("rows", m.Rows()), slog.Duration("took", time.Since(start)))
	if m.SchemaVersion > database.ExpectedVersion {
		return Manifest{}, fmt.Errorf("the backup has schema version %d; this alumnid knows only up to %d: restore with a newer alumnid", m.SchemaVersion, database.ExpectedVersion)
	}
	sqlDB, err := Open(ctx, dsn)
	if err != nil {
		return Manifest{}, err
	}
	defer sqlDB.Close()
	if err := checkEmpty(ctx, sqlDB, m.SchemaVersion); err != nil {
		return Manifest{}, err
	}
	mg, err := database.NewMigrator(dsn)
	if err != nil {
		return Manifest{}, err
	}
	err = mg.To(m.SchemaVersion)
	_ = mg.Close()
	if err != nil {
		return Manifest{}, err
	}
	tables, err := describe(ctx, sqlDB)
	if err != nil {
		return Manifest{}, err
	}
	if err := sameTables(tables, m); err != nil {
		return Manifest{}, err
	}
	deferred, err := secondaryIndexes(ctx, sqlDB)
	if err != nil {
		return Manifest{}, err
	}
	const partial = "(the database now holds part of the backup: drop it and create it again)"
	if err := alterIndexes(ctx, sqlDB, deferred, false); err != nil {
		return Manifest{}, fmt.Errorf("%w %s", err, partial)
	}
	loadStart := time.Now()
	if err := load(ctx, sqlDB, open, tables, opts); err != nil {
		return Manifest{}, fmt.Errorf("%w %s", err, partial)
	}
	log.Info("restore: rows loaded", slog.Int64("rows", m.Rows()), slog.Duration("took", time.Since(loadStart)))
	indexStart := time.Now()
	if err := alterIndexes(ctx, sqlDB, deferred, true); err != nil {
		return Manifest{}, fmt.Errorf("%w %s", err, partial)
	}
	log.Info("restore: secondary indexes built", slog.Int("indexes", len(deferred)), slog.Duration("took", time.Since(indexStart)))
	verifyStart := time.Now()
	if err := Compare(ctx, sqlDB, m); err != nil {
		return Manifest{}, err
	}
	log.Info("restore: every table matches the manifest", slog.Duration("took", time.Since(verifyStart)))
	return m, nil
}

func checkFile(open func() (io.ReadCloser, error)) (Manifest, error) {
	r, err := open()
	if err != nil {
		return Manifest{}, err
	}
	defer r.Close()
	return Check(r)
}

// checkEmpty fails with ErrNotEmpty unless every table but schema_migrations is empty and the
// schema is clean and not newer than version.
func checkEmpty(ctx context.Context, sqlDB *sql.DB, version uint) error {
	current, dirty, err := database.SchemaVersion(ctx, sqlDB)
	if err != nil {
		return err
	}
	if dirty {
		return fmt.Errorf("%w: its schema (version %d) is dirty", ErrNotEmpty, current)
	}
	if current > version {
		return fmt.Errorf("%w: its schema is at version %d, newer than the backup's %d; restore into a new database", ErrNotEmpty, current, version)
	}
	names, err := tableNames(ctx, sqlDB)
	if err != nil {
		return err
	}
	for _, n := range names {
		var one int
		err := sqlDB.QueryRowContext(ctx, "SELECT 1 FROM "+quote(n)+" LIMIT 1").Scan(&one) //nolint:gosec // a name from information_schema, quoted
		if err == nil {
			return fmt.Errorf("%w: table %s holds rows; restore only into an empty database", ErrNotEmpty, n)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("check table %s: %w", n, err)
		}
	}
	return nil
}

// tableNames lists the base tables of the database but schema_migrations.
func tableNames(ctx context.Context, sqlDB *sql.DB) ([]string, error) {
	rows, err := sqlDB.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> 'schema_migrations' ORDER BY TABLE_NAME`)
	if err != nil {
		return nil, fmt.Errorf("list the tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list the tables: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the tables: %w", err)
	}
	return names, nil
}

// sameTables fails unless the database's tables are those of the manifest.
func sameTables(tables []TableHeader, m Manifest) error {
	var have, want []string
	for _, t := range tables {
		have = append(have, t.Table)
	}
	for _, t := range m.Tables {
		want = append(want, t.Name)
	}
	if !slices.Equal(have, want) {
		return fmt.Errorf("the schema at version %d has tables %v, the backup %v", m.SchemaVersion, have, want)
	}
	return nil
}

// batch is one INSERT ready to run.
type batch struct {
	table string
	sql   string
	args  []any
	rows  int
}

// load reads the file again and inserts its rows: a goroutine decodes the file into
// statements while opts.Workers connections run them, so the client's work overlaps the
// server's and the server uses more than one core. The first error stops all of them.
func load(ctx context.Context, sqlDB *sql.DB, open func() (io.ReadCloser, error), tables []TableHeader, opts RestoreOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 2*opts.Workers)
	errs := make([]error, opts.Workers+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(batches)
		if errs[0] = decodeBatches(ctx, open, tables, opts, batches); errs[0] != nil {
			cancel()
		}
	})
	for i := 1; i <= opts.Workers; i++ {
		wg.Go(func() {
			if errs[i] = execBatches(ctx, sqlDB, batches, opts.TxRows); errs[i] != nil {
				cancel()
			}
			for range batches { // let the decoder finish
			}
		})
	}
	wg.Wait()
	for _, err := range errs { // the first cause, not the cancellations it caused
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// execBatches runs batches on a connection of its own, TxRows rows per transaction, with
// foreign key and unique checks off for that session.
func execBatches(ctx context.Context, sqlDB *sql.DB, batches <-chan batch, txRows int) error {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// The session's checks go back to normal however this ends: the connection is closed
	// (Raw discards it on ErrBadConn), not returned to the pool.
	defer func() { _ = conn.Raw(func(any) error { return driver.ErrBadConn }) }()
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0, unique_checks = 0"); err != nil {
		return fmt.Errorf("disable the load's checks: %w", err)
	}
	// failed is err, or the cancellation when the restore was cancelled meanwhile (another
	// worker failed, or the caller gave up): database/sql then rolls back the transaction
	// itself, and its "transaction has already been committed or rolled back" must not be
	// taken for the cause.
	failed := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	var tx *sql.Tx
	inTx := 0
	commit := func() error {
		if tx == nil {
			return nil
		}
		err := tx.Commit()
		tx, inTx = nil, 0
		if err != nil {
			return failed(fmt.Errorf("commit: %w", err))
		}
		return nil
	}
	defer func() {
		if tx != nil {
			_ = tx.Rollback()
		}
	}()
	for b := range batches {
		if tx == nil {
			var err error
			if tx, err = conn.BeginTx(ctx, nil); err != nil {
				return fmt.Errorf("begin: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, b.sql, b.args...); err != nil {
			return failed(fmt.Errorf("insert into %s: %w", b.table, err))
		}
		if inTx += b.rows; inTx >= txRows {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return commit()
}

// decodeBatches reads the file and sends one batch per INSERT. It fails when the file does not
// match the tables or its checksums.
func decodeBatches(ctx context.Context, open func() (io.ReadCloser, error), tables []TableHeader, opts RestoreOptions, out chan<- batch) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	fr, err := newFileReader(r)
	if err != nil {
		return err
	}
	start := time.Now()
	var (
		dec     rowDecoder
		cols    []Column
		prefix  string
		one     string
		b       batch
		size    int
		perStmt int
		next    int
	)
	send := func() error {
		if b.rows == 0 {
			return nil
		}
		var sb strings.Builder
		sb.Grow(len(prefix) + b.rows*(len(one)+1))
		sb.WriteString(prefix)
		for i := range b.rows {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(one)
		}
		b.sql = sb.String()
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = batch{table: b.table, args: make([]any, 0, cap(b.args))}
		size = 0
		return nil
	}
	for {
		ev, line, err := fr.next()
		if err != nil {
			return err
		}
		switch ev {
		case evTable:
			t := fr.current
			if next >= len(tables) || tables[next].Table != t.Table {
				return fmt.Errorf("%w: table %s is not the next table of the schema", ErrDamaged, t.Table)
			}
			if !sameColumns(tables[next].Columns, t.Columns) {
				return fmt.Errorf("table %s: the backup's columns differ from the schema's at version %d", t.Table, fr.header.SchemaVersion)
			}
			next++
			cols = t.Columns
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = quote(c.Name)
			}
			prefix = "INSERT INTO " + quote(t.Table) + " (" + strings.Join(names, ", ") + ") VALUES "
			one = "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
			perStmt = max(60000/len(cols), 1)
			b = batch{table: t.Table, args: make([]any, 0, min(perStmt, 2000)*len(cols))}
		case evRow:
			vals, err := dec.decode(line, cols)
			if err != nil {
				return damaged("table %s, line %d: %w", b.table, fr.lineNo, err)
			}
			for i, v := range vals {
				a, err := arg(cols[i].Kind, v)
				if err != nil {
					return damaged("table %s, line %d, column %s: %w", b.table, fr.lineNo, cols[i].Name, err)
				}
				b.args = append(b.args, a)
			}
			b.rows++
			size += len(line) + len(one)
			if b.rows >= perStmt || size >= opts.BatchBytes {
				if err := send(); err != nil {
					return err
				}
			}
		case evEnd:
			if err := send(); err != nil {
				return err
			}
			opts.Log.Debug("restore: table read", slog.String("table", b.table), slog.Int64("rows", fr.rows), slog.Duration("since_start", time.Since(start)))
		case evDone:
			return nil
		}
	}
}

// arg turns a decoded value into the INSERT argument that stores it exactly: an integer, the
// bytes of a binary column (never nil: nil would be NULL), or the text.
func arg(kind Kind, v value) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case KindInt:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n, nil
		}
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not a 64-bit integer: %s", v)
		}
		return n, nil
	case KindBytes:
		out := make([]byte, base64.StdEncoding.DecodedLen(len(v)))
		n, err := base64.StdEncoding.Decode(out, v)
		if err != nil {
			return nil, fmt.Errorf("bad base64: %w", err)
		}
		return out[:n], nil
	}
	return string(v), nil
}

func sameColumns(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Kind != b[i].Kind {
			return false
		}
	}
	return true
}

// Compare reads every table of the database of sqlDB (a pool from Open) in primary-key order,
// encodes it as a backup would and checks its row count and SHA-256 against m. It returns an
// error naming the first table that differs, or the database's error.
func Compare(ctx context.Context, sqlDB *sql.DB, m Manifest) error {
	tables, err := describe(ctx, sqlDB)
	if err != nil {
		return err
	}
	if err := sameTables(tables, m); err != nil {
		return err
	}
	sums, err := Sums(ctx, sqlDB, tables)
	if err != nil {
		return err
	}
	for i, s := range sums {
		if s != m.Tables[i] {
			return fmt.Errorf("after the restore table %s has %d rows with checksum %.12s…, the backup %d rows with %.12s…",
				s.Name, s.Rows, s.SHA256, m.Tables[i].Rows, m.Tables[i].SHA256)
		}
	}
	return nil
}

// Sums reads each of tables in primary-key order and returns its row count and the SHA-256 of
// its rows as a backup encodes them. Reads are not in one snapshot: use it on a database
// nothing else writes.
func Sums(ctx context.Context, sqlDB *sql.DB, tables []TableHeader) ([]TableSum, error) {
	out := make([]TableSum, 0, len(tables))
	var line, scratch []byte
	for _, t := range tables {
		h := newHash()
		var n int64
		err := scanTable(ctx, sqlDB, t, func(cols []Column, values [][]byte) error {
			var err error
			if line, err = appendRow(line[:0], &scratch, cols, values); err != nil {
				return fmt.Errorf("table %s: %w", t.Table, err)
			}
			h.Write(line)
			n++
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, TableSum{Name: t.Table, Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}
