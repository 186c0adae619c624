package backup_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/backup"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/seed"
)

// tableState is what the test knows of a table, computed without the package under test.
type tableState struct {
	Rows     int64
	Checksum string // CHECKSUM TABLE, computed by the server
	Digest   string // SHA-256 of the sorted SHA-256s of the rows (order does not matter)
}

// state reads every table but schema_migrations of the database of dsn.
// indexes describes every index of the database of dsn, one line per column of an index.
func indexes(t *testing.T, dsn string) []string {
	t.Helper()
	sqlDB, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var out []string
	query(t, sqlDB, `SELECT CONCAT_WS(' ', TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE, SEQ_IN_INDEX, COLUMN_NAME,
		COALESCE(SUB_PART, 0), COALESCE(COLLATION, '-')) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
		ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
		func(raw []sql.RawBytes) { out = append(out, string(raw[0])) })
	return out
}

func state(t *testing.T, dsn string) map[string]tableState {
	t.Helper()
	sqlDB, err := sql.Open("mysql", dsn) // no parseTime: times are read as the server's text
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	ctx := context.Background()
	var tables []string
	query(t, sqlDB, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> 'schema_migrations'",
		func(raw []sql.RawBytes) { tables = append(tables, string(raw[0])) })
	out := map[string]tableState{}
	for _, table := range tables {
		var s tableState
		var name string
		if err := sqlDB.QueryRowContext(ctx, "CHECKSUM TABLE `"+table+"`").Scan(&name, &s.Checksum); err != nil {
			t.Fatal(err)
		}
		var sums []string
		query(t, sqlDB, "SELECT * FROM `"+table+"`", func(raw []sql.RawBytes) {
			h := sha256.New()
			for _, v := range raw {
				if v == nil {
					h.Write([]byte{0})
					continue
				}
				h.Write([]byte{1, byte(len(v) >> 24), byte(len(v) >> 16), byte(len(v) >> 8), byte(len(v))})
				h.Write(v)
			}
			sums = append(sums, hex.EncodeToString(h.Sum(nil)))
		})
		slices.Sort(sums)
		d := sha256.Sum256([]byte(strings.Join(sums, "")))
		s.Rows, s.Digest = int64(len(sums)), hex.EncodeToString(d[:])
		out[table] = s
	}
	return out
}

// query runs q and calls fn with the raw values of each row.
func query(t *testing.T, sqlDB *sql.DB, q string, fn func([]sql.RawBytes)) {
	t.Helper()
	rows, err := sqlDB.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	raw := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raw {
		dest[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		fn(raw)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// seeded returns the DSN of a fresh database with synthetic alumni and rows that exercise
// every column type and the awkward values: NULL and empty strings, emoji, quotes,
// backslashes and control characters, binary bytes of every value, JSON, microseconds.
func seeded(t *testing.T, alumni int) string {
	t.Helper()
	sqlDB, dsn := apitest.OpenDatabase(t)
	ctx := context.Background()
	if _, err := seed.Run(ctx, sqlDB, seed.Options{Count: alumni, RandSeed: 7, BatchSize: 200}); err != nil {
		t.Fatal(err)
	}
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	awkward := "line\none\ttab \x01\x1f ctl \"double\" 'single' back\\slash 😀 Ünïcode ` %_ \u2028"
	stmts := []struct {
		q    string
		args []any
	}{
		{"UPDATE alumni SET notes = ?, preferred_name = '', deleted_at = '2025-02-28 23:59:59.999999' WHERE id = 1", []any{awkward}},
		{"UPDATE alumni SET first_name = '👩‍🎓', last_name = 'Ødegård-O''Brien' WHERE id = 2", nil},
		{`INSERT INTO users (public_id, email, password_hash, role, enabled, alumnus_id, created_at, updated_at, password_changed_at, last_login_at)
			VALUES ('01JD3M5X7V8Q9R2S4T6W8Y0Z1A', 'emoji😀@example.org', '$argon2id$v=19$m=19456,t=2,p=1$abc$def', 'alumnus', TRUE, 1,
			'2024-02-29 23:59:59.999999', '2024-01-01 00:00:00.000001', '2024-01-01 00:00:00', NULL)`, nil},
		{`INSERT INTO sessions (public_id, user_id, created_at, refreshed_at, idle_expires_at, expires_at, ended_at, end_reason, client_ip)
			SELECT '01JD3M5X7V8Q9R2S4T6W8Y0Z1B', id, NOW(6), NOW(6), NOW(6), NOW(6), NULL, NULL, '2001:db8::1' FROM users`, nil},
		{`INSERT INTO refresh_tokens (token_hash, session_id, issued_at, used_at) SELECT ?, id, '2024-05-05 05:05:05.050505', NULL FROM sessions`, []any{allBytes[:32]}},
		{`INSERT INTO refresh_tokens (token_hash, session_id, issued_at, used_at) SELECT ?, id, NOW(6), NOW(6) FROM sessions`, []any{allBytes[224:]}},
		{`INSERT INTO login_throttle (bucket, window_start, failures, pending) VALUES (?, NOW(6), -1, 2147483647)`, []any{bytes.Repeat([]byte{0}, 32)}},
		{`INSERT INTO settings (name, value, updated_at, updated_by) VALUES ('organization', ?, NOW(6), NULL)`,
			[]any{`{"name": "Université 😀 \"q\" \\ \n", "n": 1.50, "big": 12345678901234567890, "a": [true, null, {}]}`}},
		{`INSERT INTO audit_events (occurred_at, actor_id, actor_role, action, entity_type, entity_id, changes, request_id, client_ip)
			VALUES (NOW(6), NULL, NULL, 'alumnus.update', 'alumnus', '01JD3M5X7V8Q9R2S4T6W8Y0Z1A', ?, NULL, '203.0.113.7')`,
			[]any{mustJSON(t, []map[string]any{{"field": "notes", "before": awkward, "after": nil}})}},
	}
	for _, s := range stmts {
		if _, err := sqlDB.ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("%s: %v", s.q, err)
		}
	}
	return dsn
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openFile(path string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

func backupTo(t *testing.T, dsn, path string) backup.Result {
	t.Helper()
	sqlDB, err := backup.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	res, err := backup.ToFile(context.Background(), sqlDB, path, backup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBackupRestoreRoundTrip backs up a seeded database, restores it into a new one and
// compares every table, counted and checksummed by the server and by the test itself.
func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	src := seeded(t, 300)
	want := state(t, src) // before the backup, which adds its own audit event
	path := filepath.Join(t.TempDir(), "a.backup.gz")
	res := backupTo(t, src, path)
	if res.Tables != len(want) {
		t.Errorf("backed up %d tables, the database has %d", res.Tables, len(want))
	}
	for _, ts := range res.Manifest.Tables {
		if ts.Rows != want[ts.Name].Rows {
			t.Errorf("manifest: table %s has %d rows, the database %d", ts.Name, ts.Rows, want[ts.Name].Rows)
		}
	}
	if res.Manifest.SchemaVersion != database.ExpectedVersion {
		t.Errorf("schema version %d, want %d", res.Manifest.SchemaVersion, database.ExpectedVersion)
	}

	dst := apitest.NewEmptyDatabase(t)
	m, err := backup.Restore(context.Background(), dst, openFile(path), backup.RestoreOptions{TxRows: 500, BatchBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Manifest, m); diff != "" {
		t.Errorf("restore's manifest differs (-backup +restore):\n%s", diff)
	}
	if diff := cmp.Diff(want, state(t, dst)); diff != "" {
		t.Errorf("restored tables differ (-source +restored):\n%s", diff)
	}
	// The indexes the restore dropped before loading the rows are all back, as they were.
	if diff := cmp.Diff(indexes(t, src), indexes(t, dst)); diff != "" || len(indexes(t, src)) < 40 {
		t.Errorf("restored indexes differ (-source +restored):\n%s", diff)
	}
	// The restored database is at the backup's version and clean.
	mg, err := database.NewMigrator(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer mg.Close()
	if v, dirty, err := mg.Version(); err != nil || dirty || v != m.SchemaVersion {
		t.Errorf("restored schema: version %d dirty %v err %v", v, dirty, err)
	}

	// A backup of the restored database is the same, table for table.
	again := backupTo(t, dst, filepath.Join(t.TempDir(), "b.backup.gz"))
	if diff := cmp.Diff(res.Manifest.Tables, again.Manifest.Tables); diff != "" {
		t.Errorf("backup of the restored database differs (-first +second):\n%s", diff)
	}

	// Restoring into a database that holds rows is refused, and changes nothing.
	before := state(t, dst)
	_, err = backup.Restore(context.Background(), dst, openFile(path), backup.RestoreOptions{})
	if !errors.Is(err, backup.ErrNotEmpty) {
		t.Errorf("restore into a database with rows: %v, want ErrNotEmpty", err)
	}
	if diff := cmp.Diff(before, state(t, dst)); diff != "" {
		t.Errorf("the refused restore changed the database:\n%s", diff)
	}
}

// TestRestoreIntoMigratedEmptyDatabase: a database migrated to the current version but empty
// is a valid target.
func TestRestoreIntoMigratedEmptyDatabase(t *testing.T) {
	t.Parallel()
	src := seeded(t, 20)
	path := filepath.Join(t.TempDir(), "a.backup.gz")
	res := backupTo(t, src, path)
	dst := apitest.NewDatabase(t)
	if _, err := backup.Restore(context.Background(), dst, openFile(path), backup.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	sums := state(t, dst)
	for _, ts := range res.Manifest.Tables {
		if sums[ts.Name].Rows != ts.Rows {
			t.Errorf("table %s: %d rows, want %d", ts.Name, sums[ts.Name].Rows, ts.Rows)
		}
	}
}

// TestRestoreRefusesDamagedFiles: a flipped byte, a truncated file, an edited row (gzip still
// valid) and a file that is not a backup are refused with ErrDamaged before anything is
// written: the target database stays without a single table.
func TestRestoreRefusesDamagedFiles(t *testing.T) {
	t.Parallel()
	src := seeded(t, 200)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.backup.gz")
	backupTo(t, src, good)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x40
	edited := recompress(t, data, func(s string) string {
		i := strings.Index(s, `"Ødegård-O'Brien"`)
		if i < 0 {
			t.Fatal("the awkward name is not in the backup")
		}
		return s[:i] + `"Odegard-O'Brien"` + s[i+len(`"Ødegård-O'Brien"`):]
	})
	noManifest := recompress(t, data, func(s string) string {
		return s[:strings.LastIndex(s, `{"manifest":`)]
	})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"flipped byte", flipped, "damaged"},
		{"truncated", data[:len(data)/2], "ends"},
		{"edited row", edited, "table alumni"},
		{"no manifest", noManifest, "before its manifest"},
		{"not gzip", []byte("hello"), "not a gzip stream"},
		{"empty", nil, "not a gzip stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := backup.Check(bytes.NewReader(tt.data)); !errors.Is(err, backup.ErrDamaged) {
				t.Errorf("Check: %v, want ErrDamaged", err)
			}
			dst := apitest.NewEmptyDatabase(t)
			_, err := backup.Restore(context.Background(), dst, openFile(path), backup.RestoreOptions{})
			t.Log(err)
			if !errors.Is(err, backup.ErrDamaged) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Restore: %v, want ErrDamaged saying %q", err, tt.want)
			}
			if s := state(t, dst); len(s) != 0 {
				t.Errorf("the refused restore created tables: %v", s)
			}
		})
	}
}

// recompress decompresses a backup, edits its text and compresses it again.
func recompress(t *testing.T, data []byte, edit func(string) string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, _ = zw.Write([]byte(edit(string(plain))))
	_ = zw.Close()
	return out.Bytes()
}

func newScheduler(t *testing.T, dsn string, cfg backup.ScheduleConfig) *backup.Scheduler {
	t.Helper()
	sqlDB, err := backup.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	s, err := backup.NewScheduler(sqlDB, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func countBackupEvents(t *testing.T, dsn string) int {
	t.Helper()
	sqlDB, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var n int
	if err := sqlDB.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM audit_events WHERE action = 'backup.create' AND entity_type = 'backup' AND actor_id IS NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSchedulerKeepsTheNewest: every tick is due (a 1ns interval); old scheduled files beyond
// the retention count are deleted, other files are not; each backup is audited.
func TestSchedulerKeepsTheNewest(t *testing.T) {
	t.Parallel()
	dsn := seeded(t, 10)
	dir := t.TempDir()
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newScheduler(t, dsn, backup.ScheduleConfig{Dir: dir, Interval: time.Nanosecond, Keep: 2})
	var mu sync.Mutex
	var hooked []backup.Result
	s.OnResult(func(r backup.Result) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, r)
	})
	var made []string
	for range 4 {
		res := s.RunOnce(context.Background())
		if res.Err != nil || res.Skipped != "" || res.File == "" || res.Bytes == 0 || res.Rows == 0 {
			t.Fatalf("tick: %+v", res)
		}
		made = append(made, res.File)
	}
	files, err := backup.ScheduledFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(made[2:], files); diff != "" {
		t.Errorf("kept files (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file was deleted: %v", err)
	}
	if n := countBackupEvents(t, dsn); n != 4 {
		t.Errorf("%d backup.create events, want 4", n)
	}
	if len(hooked) != 4 {
		t.Errorf("the hook saw %d results, want 4", len(hooked))
	}
	if _, err := backup.Check(mustOpen(t, files[1])); err != nil {
		t.Errorf("the newest scheduled backup: %v", err)
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// TestSchedulerOneReplicaPerInterval runs two schedulers (two replicas) on one database: while
// the lock is held elsewhere neither backs up; then exactly one backup is made per interval
// however the ticks interleave.
func TestSchedulerOneReplicaPerInterval(t *testing.T) {
	t.Parallel()
	dsn := seeded(t, 10)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := newScheduler(t, dsn, backup.ScheduleConfig{Dir: dirA, Interval: time.Hour, Keep: 3})
	b := newScheduler(t, dsn, backup.ScheduleConfig{Dir: dirB, Interval: time.Hour, Keep: 3})

	// A third party holds the lock: both skip.
	holder, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	ctx := context.Background()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(CONCAT('alumnid_backup_', MD5(DATABASE())), 0)").Scan(&got); err != nil || got != 1 {
		t.Fatalf("take the lock: %v %d", err, got)
	}
	for _, s := range []*backup.Scheduler{a, b} {
		if res := s.RunOnce(ctx); res.Skipped != "locked" || res.Err != nil {
			t.Errorf("tick while locked: %+v", res)
		}
	}
	if _, err := conn.ExecContext(ctx, "DO RELEASE_LOCK(CONCAT('alumnid_backup_', MD5(DATABASE())))"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()

	// Both tick at once, three times over: one backup in all.
	var wg sync.WaitGroup
	results := make(chan backup.Result, 6)
	for range 3 {
		for _, s := range []*backup.Scheduler{a, b} {
			wg.Go(func() { results <- s.RunOnce(ctx) })
		}
	}
	wg.Wait()
	close(results)
	made := 0
	for r := range results {
		switch {
		case r.Err != nil:
			t.Errorf("tick failed: %v", r.Err)
		case r.Skipped == "":
			made++
		case r.Skipped != "locked" && r.Skipped != "not due":
			t.Errorf("skipped for %q", r.Skipped)
		}
	}
	filesA, _ := backup.ScheduledFiles(dirA)
	filesB, _ := backup.ScheduledFiles(dirB)
	if made != 1 || len(filesA)+len(filesB) != 1 || countBackupEvents(t, dsn) != 1 {
		t.Errorf("%d backups made, files %v %v, %d audited; want exactly one", made, filesA, filesB, countBackupEvents(t, dsn))
	}
}

func TestNewSchedulerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []backup.ScheduleConfig{
		{Dir: t.TempDir(), Interval: 0, Keep: 1},
		{Dir: "", Interval: time.Hour, Keep: 1},
		{Dir: t.TempDir(), Interval: time.Hour, Keep: 0},
	} {
		if _, err := backup.NewScheduler(nil, cfg, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
