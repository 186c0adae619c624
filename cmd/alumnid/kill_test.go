package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/backup"
	"github.com/alumnid/alumnid/internal/database"
)

// The kill tests (docs/RELIABILITY.md, "Faults") run the real binary as a child process and
// end it with SIGKILL in the middle of an import, an export and a backup, then check what it
// left behind and that a restarted process carries on. Every wait is a hang guard.

const killGuard = 3 * time.Minute

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		_ = os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// binary builds alumnid once for the test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "alumnid-kill-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "alumnid")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// child is a running alumnid process.
type child struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *apitest.SyncBuffer
	done chan struct{}
}

// start runs the binary with args; the process is killed when the test ends.
func start(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{t: t, logs: &apitest.SyncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(binary(t), args...) //nolint:gosec // the binary this test built
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	return c
}

// kill sends SIGKILL and waits until the process is gone.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// exited reports whether the process ended by itself.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// serve starts `alumnid serve` on dsn on a free port and returns it with its base URL once it
// is ready.
func serve(t *testing.T, dsn string, keyFile string, args ...string) (*child, string) {
	t.Helper()
	c := start(t, append([]string{"--db-dsn", dsn, "serve", "--http-addr", "127.0.0.1:0", "--jwt-key-file", keyFile}, args...)...)
	var base string
	waitFor(t, "alumnid serve listens", func() bool {
		if c.exited() {
			t.Fatalf("serve stopped:\n%s", c.logs.String())
		}
		sc := bufio.NewScanner(strings.NewReader(c.logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
				base = "http://" + line.Addr
				return true
			}
		}
		return false
	})
	// Ready as a load balancer sees it: the search index has loaded.
	waitFor(t, "alumnid serve is ready", func() bool {
		if c.exited() {
			t.Fatalf("serve stopped:\n%s", c.logs.String())
		}
		resp, err := http.Get(base + "/readyz") //nolint:noctx // bounded by waitFor
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c, base
}

// waitFor polls cond every 20 ms until it holds, failing the test (naming what) after
// killGuard.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(killGuard); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

// killFixture is a fresh, migrated database with an admin and a signing key.
type killFixture struct {
	dsn     string
	keyFile string
	db      *sql.DB
}

const killPassword = "violet kestrel sings over quiet harbours"

func newKillFixture(t *testing.T) *killFixture {
	t.Helper()
	f := &killFixture{dsn: apitest.NewDatabase(t), keyFile: filepath.Join(t.TempDir(), "jwt.pem")}
	for _, args := range [][]string{{"keygen", "--out", f.keyFile}} {
		if out, err := exec.Command(binary(t), args...).CombinedOutput(); err != nil { //nolint:gosec // the binary this test built
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(binary(t), "--db-dsn", f.dsn, "user", "create", "--email", "root@example.org", "--role", "admin") //nolint:gosec // the binary this test built
	cmd.Stdin = strings.NewReader(killPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	var err error
	f.db, err = database.Open(context.Background(), f.dsn, database.PoolConfig{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.db.Close() })
	apitest.SetAdminsRequireTOTP(t, f.db, false) // signs in again after each restart: a password alone
	return f
}

// login signs the admin in at base and returns a contract-checking client.
func login(t *testing.T, base string) *apitest.Client {
	t.Helper()
	c := apitest.NewClient(t, base)
	r := c.Post("/api/v1/auth/login", map[string]string{"email": "root@example.org", "password": killPassword})
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	var tok struct{ AccessToken string }
	r.JSON(t, &tok)
	return c.WithToken(tok.AccessToken)
}

// importCSV returns a CSV of n people with student ids, emails and cities, the same for the
// same n.
func importCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Student ID,First name,Last name,Email,City\n")
	for i := range n {
		fmt.Fprintf(&b, "K%06d,First%d,Last%d,person%d@example.org,City %d\n", i, i, i%997, i, i%113)
	}
	return b.Bytes()
}

// importJob is an import's state as the database holds it.
type importJob struct {
	Status                                string
	Processed, Created, Updated, Rejected int
	LeaseOwner                            sql.NullString
}

func readImportJob(t *testing.T, sqlDB *sql.DB) importJob {
	t.Helper()
	var j importJob
	err := sqlDB.QueryRow(`SELECT status, processed_rows, created_count, updated_count, rejected_count, lease_owner
		FROM import_jobs ORDER BY id DESC LIMIT 1`).Scan(&j.Status, &j.Processed, &j.Created, &j.Updated, &j.Rejected, &j.LeaseOwner)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// alumniDigest returns the number of records and a SHA-256 of the imported columns of every
// record, in student id order.
func alumniDigest(t *testing.T, sqlDB *sql.DB) (int, string) {
	t.Helper()
	rows, err := sqlDB.Query(`SELECT student_id, first_name, last_name, COALESCE(email, ''), COALESCE(city, ''), version
		FROM alumni WHERE deleted_at IS NULL ORDER BY student_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	n := 0
	for rows.Next() {
		var sid, first, last, email, city string
		var version int
		if err := rows.Scan(&sid, &first, &last, &email, &city, &version); err != nil {
			t.Fatal(err)
		}
		_, _ = fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%d\n", sid, first, last, email, city, version) // a hash does not fail
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// upload starts an apply import of csv at base.
func upload(t *testing.T, c *apitest.Client, csv []byte) {
	t.Helper()
	r := c.Upload("/api/v1/alumni/imports", apitest.Field("mode", "apply"), apitest.File("people.csv", bytes.NewReader(csv)))
	if r.Status != http.StatusAccepted {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
}

// TestKillDuringImport kills the service while its worker applies a 20,000-row import. The
// database then holds whole batches only (the records match the job's counts), the job stays
// running until its lease runs out, and a restarted service takes it up and finishes it with
// the same records as an import of the same file that nobody interrupted.
func TestKillDuringImport(t *testing.T) {
	t.Parallel()
	const rows, batch = 10000, 250
	csv := importCSV(rows)
	workerArgs := []string{"--import-lease", "2s", "--import-poll-interval", "100ms", "--import-batch-size", fmt.Sprint(batch)}

	// The control imports the same file, not interrupted, at the same time.
	control := newKillFixture(t)
	_, controlBase := serve(t, control.dsn, control.keyFile, workerArgs...)
	f := newKillFixture(t)
	first, base := serve(t, f.dsn, f.keyFile, workerArgs...)
	upload(t, login(t, controlBase), csv)
	upload(t, login(t, base), csv)
	waitFor(t, "the worker has applied a few batches", func() bool {
		j := readImportJob(t, f.db)
		if j.Status == "succeeded" {
			t.Fatal("the import finished before the kill; make the file larger")
		}
		return j.Processed >= 4*batch
	})
	first.kill()

	// Whole batches only: every record the job counts, and no other.
	j := readImportJob(t, f.db)
	n, _ := alumniDigest(t, f.db)
	t.Logf("killed with the job %s at %d of %d rows", j.Status, j.Processed, rows)
	if j.Status != "running" || j.Processed%batch != 0 || n != j.Created {
		t.Errorf("after the kill: job %+v with %d records; want a running job of whole batches of %d and one record per created row", j, n, batch)
	}

	// A new process takes the job over once the lease has run out, and finishes it.
	_, _ = serve(t, f.dsn, f.keyFile, workerArgs...)
	restarted := time.Now()
	waitFor(t, "the restarted service finishes the import", func() bool {
		s := readImportJob(t, f.db).Status
		if s == "failed" {
			t.Fatalf("the import failed: %+v", readImportJob(t, f.db))
		}
		return s == "succeeded"
	})
	t.Logf("figures: the restarted service (lease 2s) finished the import %s after it started", time.Since(restarted).Round(time.Millisecond))
	waitFor(t, "the control import finishes", func() bool { return readImportJob(t, control.db).Status == "succeeded" })
	want := readImportJob(t, control.db)
	wantN, wantSum := alumniDigest(t, control.db)
	got := readImportJob(t, f.db)
	got.LeaseOwner, want.LeaseOwner = sql.NullString{}, sql.NullString{}
	if got != want {
		t.Errorf("resumed import: %+v; uninterrupted: %+v", got, want)
	}
	if n, sum := alumniDigest(t, f.db); n != wantN || sum != wantSum {
		t.Errorf("records after the resumed import: %d, digest %s; after the uninterrupted one: %d, %s", n, sum, wantN, wantSum)
	}
	var staged, stuck int
	if err := f.db.QueryRow("SELECT (SELECT COUNT(*) FROM import_rows), (SELECT COUNT(*) FROM import_jobs WHERE status IN ('receiving', 'queued', 'running'))").
		Scan(&staged, &stuck); err != nil {
		t.Fatal(err)
	}
	if staged != 0 || stuck != 0 {
		t.Errorf("after the import: %d staged rows and %d unfinished jobs left", staged, stuck)
	}
}

// connectionsTo counts the server's connections to the database of f other than those of
// f's own pool (which nothing else uses meanwhile).
func connectionsTo(t *testing.T, f *killFixture) int {
	t.Helper()
	cfg, err := mysql.ParseDSN(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE db = ?", cfg.DBName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n - f.db.Stats().OpenConnections
}

// seedAlumni fills the database of f with n generated records.
func seedAlumni(t *testing.T, f *killFixture, n int) {
	t.Helper()
	if out, err := exec.Command(binary(t), "--db-dsn", f.dsn, "seed", "--alumni", fmt.Sprint(n)).CombinedOutput(); err != nil { //nolint:gosec // the binary this test built
		t.Fatalf("seed: %v\n%s", err, out)
	}
}

// TestKillDuringExport kills the service while it streams an export (its database reached
// through a proxy that limits the bandwidth, so that the export is certainly mid-stream).
// The client sees a cut stream, nothing of the export stays on the database server (its
// connections go with the process), and a restarted service serves a complete export.
func TestKillDuringExport(t *testing.T) {
	t.Parallel()
	f := newKillFixture(t)
	seedAlumni(t, f, 3000)
	proxy := apitest.NewProxy(t)
	first, base := serve(t, proxy.DSN(f.dsn), f.keyFile, "--export-chunk", "50")
	c := login(t, base)
	proxy.AddToxic(apitest.Toxic{Name: "narrow", Type: "bandwidth", Attributes: map[string]any{"rate": 32}})

	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/api/v1/alumni/export?format=csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := (&http.Client{Timeout: killGuard}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	first.kill()
	proxy.RemoveToxics()
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Error("the export of a killed process ended cleanly; want a cut stream (no final chunk)")
	}
	waitFor(t, "the killed process's database connections are gone", func() bool { return connectionsTo(t, f) == 0 })

	_, base = serve(t, f.dsn, f.keyFile)
	r := login(t, base).Get("/api/v1/alumni/export?format=csv", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("export after the restart: %d %s", r.Status, r.Body)
	}
	var records int
	if err := f.db.QueryRow("SELECT COUNT(*) FROM alumni WHERE deleted_at IS NULL").Scan(&records); err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(r.Body, []byte("\n")); lines < records+1 {
		t.Errorf("the export after the restart has %d lines for %d records", lines, records)
	}
}

// holdTable locks table for writing on a connection of its own, so that a backup, which
// reads the tables in name order, waits when it reaches it, with the tables before written
// to its partial file. It returns the function that unlocks.
func holdTable(t *testing.T, f *killFixture, table string) (release func()) {
	t.Helper()
	conn, err := f.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "LOCK TABLES "+table+" WRITE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			_, _ = conn.ExecContext(context.Background(), "UNLOCK TABLES")
			_ = conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// backupWaiting reports whether a connection to the database of f waits for a table lock.
func backupWaiting(t *testing.T, f *killFixture) bool {
	t.Helper()
	cfg, err := mysql.ParseDSN(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = f.db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE db = ? AND state LIKE 'Waiting for table%lock'", cfg.DBName).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestKillDuringBackup kills `alumnid backup` half-way (while it waits for a table the test
// holds): no file is presented under the backup's name, and the same command then succeeds.
// It kills `alumnid serve` during a scheduled backup the same way: the backup lock
// (GET_LOCK) goes with the process's connection, no partial file counts as a scheduled backup,
// and the restarted service takes the backup and removes the partial file.
func TestKillDuringBackup(t *testing.T) {
	t.Parallel()
	f := newKillFixture(t)
	seedAlumni(t, f, 2000)
	dir := t.TempDir()
	out := filepath.Join(dir, "manual.backup.gz")
	partials := func(pattern string) []string {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	release := holdTable(t, f, "settings")
	cmd := start(t, "--db-dsn", f.dsn, "backup", "--out", out)
	waitFor(t, "the backup is half-way", func() bool {
		if cmd.exited() {
			t.Fatalf("the backup ended:\n%s", cmd.logs.String())
		}
		return backupWaiting(t, f) && len(partials(out+".*.partial")) == 1
	})
	cmd.kill()
	release()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a killed backup left %s (%v)", out, err)
	}

	// A scheduled backup, in serve.
	sched := filepath.Join(dir, "scheduled")
	args := []string{"--backup-dir", sched, "--backup-interval", "1h", "--backup-keep", "2"}
	release = holdTable(t, f, "settings")
	first, _ := serve(t, f.dsn, f.keyFile, args...)
	waitFor(t, "the scheduled backup is half-way", func() bool {
		return backupWaiting(t, f) && len(partials(filepath.Join(sched, backup.FilePrefix+"*.partial"))) == 1
	})
	lockFree := func() bool {
		var free sql.NullInt64
		if err := f.db.QueryRow("SELECT IS_FREE_LOCK(CONCAT('alumnid_backup_', MD5(DATABASE())))").Scan(&free); err != nil {
			t.Fatal(err)
		}
		return free.Int64 == 1
	}
	if lockFree() {
		t.Error("the backup lock is free while a scheduled backup runs")
	}
	first.kill()
	waitFor(t, "the dead process's backup lock is released", lockFree)
	release()
	if files, err := backup.ScheduledFiles(sched); err != nil || len(files) != 0 {
		t.Errorf("after the kill, scheduled backups %v (%v); want none", files, err)
	}

	_, _ = serve(t, f.dsn, f.keyFile, args...)
	var files []string
	waitFor(t, "the restarted service takes the scheduled backup", func() bool {
		files, _ = backup.ScheduledFiles(sched)
		return len(files) == 1
	})
	waitFor(t, "the partial file of the killed scheduled backup is removed", func() bool {
		return len(partials(filepath.Join(sched, "*.partial"))) == 0
	})
	if o, err := exec.Command(binary(t), "restore", "--check", "--in", files[0]).CombinedOutput(); err != nil { //nolint:gosec // the binary this test built
		t.Fatalf("restore --check of the scheduled backup: %v\n%s", err, o)
	}

	// The command line's backup to the same name as the killed one.
	if o, err := exec.Command(binary(t), "--db-dsn", f.dsn, "backup", "--out", out).CombinedOutput(); err != nil { //nolint:gosec // the binary this test built
		t.Fatalf("backup after a killed one: %v\n%s", err, o)
	}
	if o, err := exec.Command(binary(t), "restore", "--check", "--in", out).CombinedOutput(); err != nil { //nolint:gosec // the binary this test built
		t.Fatalf("restore --check: %v\n%s", err, o)
	}
}

// TestProfiling: with --profiling, Go's profiles are served beside the metrics, on the metrics
// address only.
func TestProfiling(t *testing.T) {
	t.Parallel()
	f := newKillFixture(t)
	c, _ := serve(t, f.dsn, f.keyFile, "--metrics-addr", "127.0.0.1:0", "--profiling")
	var addr string
	waitFor(t, "the metrics address is logged", func() bool {
		sc := bufio.NewScanner(strings.NewReader(c.logs.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving metrics" {
				addr = line.Addr
				return true
			}
		}
		return false
	})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get("http://" + addr + path) //nolint:noctx // a local test server
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}
