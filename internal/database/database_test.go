package database_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/schema"
)

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewEmptyDatabase(t)
	m, err := database.NewMigrator(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	version := func() uint {
		t.Helper()
		v, dirty, err := m.Version()
		if err != nil || dirty {
			t.Fatalf("version: %v (dirty %v)", err, dirty)
		}
		return v
	}
	if v := version(); v != 0 {
		t.Fatalf("fresh database at version %d", v)
	}
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != database.ExpectedVersion {
		t.Fatalf("after up: %d, want %d", v, database.ExpectedVersion)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up with nothing to do: %v", err)
	}
	files, err := fs.Glob(schema.Migrations, "*.up.sql") // numbers may have gaps: count them
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Down(len(files)); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 0 {
		t.Fatalf("after down to zero: %d", v)
	}
	sqlDB, err := database.Open(context.Background(), dsn, database.PoolConfig{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var tables int
	if err := sqlDB.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("down left %d tables behind", tables)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if v, _, err := database.SchemaVersion(context.Background(), sqlDB); err != nil || v != database.ExpectedVersion {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
	if err := m.Down(0); err == nil {
		t.Error("Down(0) must be refused")
	}
}

func TestSchemaVersionOfEmptyDatabase(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewEmptyDatabase(t)
	sqlDB, err := database.Open(context.Background(), dsn, database.PoolConfig{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	v, dirty, err := database.SchemaVersion(context.Background(), sqlDB)
	if v != 0 || dirty || err != nil {
		t.Errorf("got %d %v %v", v, dirty, err)
	}
}

func TestConnectionSettings(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	var tz, mode, charset string
	if err := sqlDB.QueryRow("SELECT @@session.time_zone, @@session.sql_mode, @@character_set_connection").Scan(&tz, &mode, &charset); err != nil {
		t.Fatal(err)
	}
	if tz != "+00:00" || !strings.Contains(mode, "STRICT_ALL_TABLES") || charset != "utf8mb4" {
		t.Errorf("time_zone %s, sql_mode %s, charset %s", tz, mode, charset)
	}
	// Strict mode: a value too long is an error, not silently truncated.
	_, err := sqlDB.Exec("INSERT INTO alumni (public_id, first_name, last_name, created_at, updated_at) VALUES ('X', ?, 'L', NOW(), NOW())", strings.Repeat("a", 101))
	if err == nil {
		t.Error("an over-long value was accepted")
	}
}

func TestTransact(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	now := time.Now().UTC()
	insert := func(q *db.Queries, id string) error {
		_, err := q.CreateAlumnus(ctx, db.CreateAlumnusParams{PublicID: id, FirstName: "A", LastName: "B", Status: "active", CreatedAt: now, UpdatedAt: now})
		return err
	}
	boom := errors.New("boom")
	err := database.Transact(ctx, sqlDB, func(tx *sql.Tx) error {
		q := db.New(tx)
		if err := insert(q, "ROLLEDBACK"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact returned %v", err)
	}
	if err := database.Transact(ctx, sqlDB, func(tx *sql.Tx) error { return insert(db.New(tx), "COMMITTED") }); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := sqlDB.Query("SELECT public_id FROM alumni ORDER BY public_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "COMMITTED" {
		t.Errorf("rows after Transact: %v", ids)
	}
}

func TestOpenFailsClearly(t *testing.T) {
	t.Parallel()
	_, err := database.Open(context.Background(), "root@tcp(127.0.0.1:1)/nope?timeout=1s", database.PoolConfig{MaxOpen: 1})
	if err == nil || !strings.Contains(err.Error(), "connect to database nope at 127.0.0.1:1") {
		t.Errorf("error %v", err)
	}
	if _, err := database.Open(context.Background(), "not a dsn", database.PoolConfig{}); err == nil {
		t.Error("a bad DSN was accepted")
	}
}

func TestRedact(t *testing.T) {
	got := database.Redact("app:s3cret@tcp(db:3306)/alumni")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "app:") {
		t.Errorf("Redact = %s", got)
	}
	if database.Redact("::bad::") != "(unparseable DSN)" {
		t.Error("unparseable DSN not reported")
	}
}

func TestCreateDatabase(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewEmptyDatabase(t)
	// The database exists already: creating it again is harmless.
	if err := database.CreateDatabase(dsn); err != nil {
		t.Fatal(err)
	}
	if err := database.CreateDatabase("root@tcp(127.0.0.1:3306)/"); err == nil {
		t.Error("a DSN without a database name was accepted")
	}
}

// Several replicas starting with --migrate at once: golang-migrate's database lock lets one
// migrate while the others wait, and all of them succeed.
func TestConcurrentMigrations(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewEmptyDatabase(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			m, err := database.NewMigrator(dsn)
			if err != nil {
				errs <- err
				return
			}
			defer m.Close()
			errs <- m.Up()
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Up: %v", err)
		}
	}
	m, err := database.NewMigrator(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if v, dirty, err := m.Version(); v != database.ExpectedVersion || dirty || err != nil {
		t.Errorf("after concurrent Up: %d %v %v", v, dirty, err)
	}
}

// With a statement timeout the server stops a statement that runs too long, whichever server
// it is (MariaDB: an error; MySQL: SLEEP returns 1, interrupted).
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewEmptyDatabase(t)
	sqlDB, err := database.Open(context.Background(), dsn, database.PoolConfig{MaxOpen: 1, StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var slept int
	err = sqlDB.QueryRow("SELECT SLEEP(5)").Scan(&slept)
	if err == nil && slept != 1 {
		t.Fatalf("SLEEP(5) ran to its end (%d) despite the statement timeout", slept)
	}
}

// TestStatementTimeoutIsUnavailable: a statement the server stops at the statement timeout
// is "try again later" (503), not a bug.
func TestStatementTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewEmptyDatabase(t)
	sqlDB, err := database.Open(context.Background(), dsn, database.PoolConfig{MaxOpen: 1, StatementTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var n int
	err = sqlDB.QueryRow("SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, information_schema.columns c").Scan(&n)
	if err == nil {
		t.Skip("the server ran the statement to its end despite the statement timeout")
	}
	if !database.Unavailable(err) {
		t.Errorf("Unavailable(%v) = false", err)
	}
}

// TestSilentServerDoesNotHangAQuery: a query without a deadline (as background workers run
// them) on a connection whose server went silent — the proxy drops every byte and never
// closes, as a dead host would — fails after the pool's I/O timeout instead of waiting
// forever, and the pool works again once the server answers.
func TestSilentServerDoesNotHangAQuery(t *testing.T) {
	t.Parallel()
	proxy := apitest.NewProxy(t)
	dsn := proxy.DSN(apitest.NewEmptyDatabase(t))
	sqlDB, err := database.Open(context.Background(), dsn, database.PoolConfig{MaxOpen: 2, MaxIdle: 2, StatementTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	proxy.AddToxic(apitest.Toxic{Name: "silent", Type: "timeout", Attributes: map[string]any{"timeout": 0}})
	done := make(chan error, 1)
	go func() {
		var one int
		done <- sqlDB.QueryRowContext(context.Background(), "SELECT 1").Scan(&one)
	}()
	select {
	case err := <-done:
		if !database.Unavailable(err) {
			t.Errorf("a query on a silent server: %v; want an error Unavailable reports", err)
		}
	case <-time.After(database.IOTimeout(500*time.Millisecond) + time.Minute):
		t.Fatal("a query on a silent server hung past the I/O timeout")
	}
	proxy.RemoveToxics()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sqlDB.PingContext(ctx); err != nil {
		t.Errorf("after the server came back: %v", err)
	}
}

// A transaction chosen as a deadlock's victim runs again and succeeds; other errors are not
// retried.
func TestTransactRetriesADeadlockVictim(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	for _, stmt := range []string{
		"CREATE TABLE deadlock_t (id INT PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO deadlock_t VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)",
	} {
		if _, err := sqlDB.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	// The other transaction locks row 2 and writes more rows (so it is the heavier one, and
	// the database picks the retried one as the victim), then waits for row 1.
	other, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id := 2; id <= 5; id++ { // one row at a time: each by its primary key, so only it is locked
		if _, err := other.ExecContext(ctx, "UPDATE deadlock_t SET n = n + 1 WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	attempts := 0
	locked1 := make(chan struct{})
	otherDone := make(chan error, 1)
	err = database.Transact(ctx, sqlDB, func(tx *sql.Tx) error {
		attempts++
		if _, err := tx.ExecContext(ctx, "UPDATE deadlock_t SET n = n + 10 WHERE id = 1"); err != nil {
			return err
		}
		if attempts == 1 {
			close(locked1)
			go func() {
				_, err := other.ExecContext(ctx, "UPDATE deadlock_t SET n = n + 1 WHERE id = 1") // waits for us
				if err == nil {
					err = other.Commit()
				}
				otherDone <- err
			}()
			time.Sleep(200 * time.Millisecond) // let the other transaction queue on row 1 (not an assertion)
		}
		_, err := tx.ExecContext(ctx, "UPDATE deadlock_t SET n = n + 10 WHERE id = 2") // closes the cycle
		return err
	}, database.RetryDeadlocks())
	if err != nil {
		t.Fatalf("Transact: %v (after %d attempts)", err, attempts)
	}
	<-locked1
	if err := <-otherDone; err != nil {
		t.Fatalf("the other transaction: %v", err)
	}
	if attempts != 2 {
		t.Fatalf("%d attempts, want 2 (one deadlock, one success)", attempts)
	}
	var n1, n2 int
	if err := sqlDB.QueryRowContext(ctx, "SELECT (SELECT n FROM deadlock_t WHERE id = 1), (SELECT n FROM deadlock_t WHERE id = 2)").Scan(&n1, &n2); err != nil {
		t.Fatal(err)
	}
	if n1 != 11 || n2 != 11 {
		t.Fatalf("rows 1 and 2 hold %d and %d, want 11 and 11 (both transactions once)", n1, n2)
	}

	attempts = 0
	boom := errors.New("boom")
	if err := database.Transact(ctx, sqlDB, func(*sql.Tx) error { attempts++; return boom }, database.RetryDeadlocks()); !errors.Is(err, boom) || attempts != 1 {
		t.Fatalf("another error: %v after %d attempts, want boom after 1", err, attempts)
	}
}
