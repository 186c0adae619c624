package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/backup"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/schema"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

// TestServeEndToEnd starts the real command on port 0 against an empty database, migrates at
// start, serves a request, and shuts down cleanly when its context ends.
func TestServeEndToEnd(t *testing.T) {
	dsn := apitest.NewEmptyDatabase(t)
	keyFile := filepath.Join(t.TempDir(), "keys", "jwt.pem")
	if out, err := runCmd(t, "keygen", "--out", keyFile); err != nil || !strings.Contains(out, "created key") {
		t.Fatalf("keygen: %v %s", err, out)
	}
	if out, err := runCmd(t, "keygen", "--out", keyFile); err != nil || !strings.Contains(out, "kept existing key") {
		t.Fatalf("keygen again: %v %s", err, out)
	}
	backupDir := t.TempDir()
	addr, metricsAddr := make(chan string, 1), make(chan string, 1)
	listening = func(a string) { addr <- a }
	listeningMetrics = func(a string) { metricsAddr <- a }
	t.Cleanup(func() { listening, listeningMetrics = nil, nil })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--db-dsn", dsn, "serve", "--http-addr", "127.0.0.1:0", "--migrate", "--shutdown-timeout", "5s", "--jwt-key-file", keyFile, "--import-poll-interval", "50ms",
			"--metrics-addr", "127.0.0.1:0",
			"--backup-dir", backupDir, "--backup-interval", "1h", "--backup-keep", "2"}, &logs, &logs)
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz: %d", resp.StatusCode)
	}
	// Bootstrap an admin from the command line, the password on stdin, and sign in.
	const pw = "violet kestrel sings over quiet harbours"
	stdin = strings.NewReader(pw + "\n")
	t.Cleanup(func() { stdin = os.Stdin })
	if out, err := runCmd(t, "--db-dsn", dsn, "user", "create", "--email", "Root@Example.org", "--role", "admin"); err != nil || !strings.Contains(out, "created admin user root@example.org") {
		t.Fatalf("user create: %v %s", err, out)
	}
	c := apitest.NewClient(t, base)
	if r := c.Post("/api/v1/alumni", map[string]any{"firstName": "Ada", "lastName": "King"}); r.Status != 401 {
		t.Fatalf("create without a token: %d %s", r.Status, r.Body)
	}
	// An admin's first sign-in sets up the TOTP second factor (adminsRequireTotp is on).
	c, tok, _ := c.EnrolAtSignIn(t, "root@example.org", pw)
	if r := c.Post("/api/v1/alumni", map[string]any{"firstName": "Ada", "lastName": "King"}); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	// The import worker runs in serve.
	upload := c.Upload("/api/v1/alumni/imports", apitest.Field("mode", "apply"),
		apitest.File("a.csv", strings.NewReader("Student ID,First name,Last name\nS1,Grace,Hopper\n")))
	if upload.Status != 202 {
		t.Fatalf("import: %d %s", upload.Status, upload.Body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := c.Get(upload.Header.Get("Location"), nil)
		if strings.Contains(string(r.Body), `"status":"succeeded"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %s", r.Body)
		}
	}

	// The scheduler takes its first backup at start.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if files, _ := backup.ScheduledFiles(backupDir); len(files) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduled backup in %s:\n%s", backupDir, logs.String())
		}
	}

	// Metrics are on their own address, not on the API's (no token configured).
	metricsURL := "http://" + <-metricsAddr + "/metrics"
	metrics := scrape(t, metricsURL)
	// The backup's result is counted just after its file appears.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(metrics, `alumnid_backup_runs_total{outcome="success"} 1`) &&
		time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		metrics = scrape(t, metricsURL)
	}
	for _, want := range []string{
		`alumnid_http_requests_total{code="201",method="POST",route="/api/v1/alumni"} 1`,
		`alumnid_http_requests_total{code="401",method="POST",route="/api/v1/alumni"} 1`,
		`alumnid_import_rows_total{mode="apply",outcome="created"} 1`,
		`go_sql_max_open_connections{db_name="alumnid"} 16`,
		`alumnid_http_requests_in_flight 0`,
		`process_resident_memory_bytes `,
		`alumnid_backup_runs_total{outcome="success"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if r := c.Get("/metrics", nil); r.Status != http.StatusNotFound {
		t.Errorf("/metrics on the API's address without a metrics token: %d, want 404", r.Status)
	}
	// Go's profiles are served only when asked for (--profiling), and never on the API's address.
	pprofURL := strings.TrimSuffix(metricsURL, "/metrics") + "/debug/pprof/"
	if resp, err := http.Get(pprofURL); err != nil || resp.StatusCode != http.StatusNotFound { //nolint:noctx // a local test server
		t.Errorf("profiles without --profiling: %v %v", resp, err)
	} else {
		_ = resp.Body.Close()
	}
	if r := c.Get("/debug/pprof/", nil); r.Status != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the API's address: %d, want 404", r.Status)
	}

	// A request in flight when shutdown starts still completes: its body is half sent when
	// the signal comes, and the rest follows after.
	body, writer := io.Pipe()
	inFlight := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/api/v1/alumni", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inFlight <- 0
			return
		}
		_ = resp.Body.Close()
		inFlight <- resp.StatusCode
	}()
	_, _ = writer.Write([]byte(`{"firstName": "Grace", `))
	time.Sleep(200 * time.Millisecond) // the server is now reading the request
	cancel()
	time.Sleep(200 * time.Millisecond) // shutdown has begun and waits for the request
	_, _ = writer.Write([]byte(`"lastName": "Hopper"}`))
	_ = writer.Close()
	if status := <-inFlight; status != http.StatusCreated {
		t.Errorf("the request in flight at shutdown got %d, want 201", status)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), tok.AccessToken) {
		t.Errorf("logs contain the password or the token")
	}
}

func TestServeRefusesAnOldSchema(t *testing.T) {
	dsn := apitest.NewEmptyDatabase(t)
	out, err := runCmd(t, "--db-dsn", dsn, "serve", "--http-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("serve on an empty database: %v\n%s", err, out)
	}
}

func TestServeRejectsBadSettings(t *testing.T) {
	tests := [][]string{
		{"serve", "--trusted-proxies", "not-a-network"},
		{"serve", "--request-timeout", "0s"},
		{"serve", "--import-timeout", "0s"},
		{"serve", "--import-batch-size", "0"},
		{"serve", "--backup-interval", "1h"},
		{"serve", "--backup-interval", "1h", "--backup-dir", "/tmp", "--backup-keep", "0"},
		{"serve", "--log-format", "xml"},
		{"serve", "--totp-keys", "c2hvcnQta2V5"},
		{"serve", "--totp-key-file", "/nonexistent/totp.key"},
		{"nonsense"},
	}
	for _, args := range tests {
		out, err := runCmd(t, args...)
		if err == nil {
			t.Errorf("%v accepted:\n%s", args, out)
		} else if strings.Contains(err.Error()+out, "c2hvcnQta2V5") {
			t.Errorf("%v: the error shows the key: %v", args, err)
		}
	}
}

func TestMigrateCommands(t *testing.T) {
	dsn := apitest.NewEmptyDatabase(t)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"migrate", "version"}, "schema version 0 (clean)"},
		{[]string{"migrate", "up", "--create-database"}, fmt.Sprintf("schema version %d (clean); this binary needs %[1]d", database.ExpectedVersion)},
		{[]string{"migrate", "down", strconv.Itoa(migrations(t) - 1)}, "schema version 1 (clean)"},
		{[]string{"migrate", "up"}, fmt.Sprintf("schema version %d (clean)", database.ExpectedVersion)},
	}
	for _, s := range steps {
		out, err := runCmd(t, append([]string{"--db-dsn", dsn}, s.args...)...)
		if err != nil || !strings.Contains(out, s.want) {
			t.Fatalf("%v: %v\n%s", s.args, err, out)
		}
	}
	if _, err := runCmd(t, "--db-dsn", dsn, "migrate", "down", "0"); err == nil {
		t.Error("migrate down 0 accepted")
	}
}

// migrations counts the embedded migrations (their numbers may have gaps).
func migrations(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(schema.Migrations, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

func TestSeedCommand(t *testing.T) {
	dsn := apitest.NewDatabase(t)
	out, err := runCmd(t, "--db-dsn", dsn, "seed", "--alumni", "40", "--batch", "15")
	if err != nil || !strings.Contains(out, "seeded 40 alumni") {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	out, err = runCmd(t, "--db-dsn", dsn, "seed", "--alumni", "40", "--if-empty")
	if err != nil || !strings.Contains(out, "nothing seeded") {
		t.Fatalf("seed --if-empty: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "--db-dsn", dsn, "seed", "--alumni", "-1"); err == nil {
		t.Error("negative count accepted")
	}
	truth := filepath.Join(t.TempDir(), "truth.csv")
	out, err = runCmd(t, "--db-dsn", dsn, "seed", "--alumni", "600", "--duplicates", "0.1", "--duplicates-truth", truth)
	if err != nil || !strings.Contains(out, "planted duplicates") {
		t.Fatalf("seed --duplicates: %v\n%s", err, out)
	}
	data, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) < 20 || !slices.Equal(rows[0], []string{"original", "duplicate", "variation"}) {
		t.Fatalf("truth file: %v, %d rows: %q", err, len(rows), rows[:min(len(rows), 3)])
	}
	if !strings.Contains(out, fmt.Sprintf("of them %d planted duplicates", len(rows)-1)) {
		t.Errorf("%d pairs in the file; the command said %s", len(rows)-1, out)
	}
	for _, bad := range [][]string{{"--duplicates", "0.9"}, {"--duplicates", "-0.1"}, {"--duplicates-truth", truth}} {
		if _, err := runCmd(t, append([]string{"--db-dsn", dsn, "seed", "--alumni", "1"}, bad...)...); err == nil {
			t.Errorf("seed %v accepted", bad)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	out, err := runCmd(t, "version")
	if err != nil || !strings.Contains(out, fmt.Sprintf("alumnid dev (schema version %d", database.ExpectedVersion)) {
		t.Errorf("version: %v %s", err, out)
	}
	out, err = runCmd(t, "--help")
	if err != nil || !strings.Contains(out, "ALUMNI_DB_DSN") {
		t.Errorf("help: %v %s", err, out)
	}
}

func TestCIDRList(t *testing.T) {
	nets, err := cidrList("10.0.0.0/8, 192.168.1.7 ,::1,")
	if err != nil || len(nets) != 3 || nets[1].String() != "192.168.1.7/32" || nets[2].String() != "::1/128" {
		t.Errorf("cidrList = %v, %v", nets, err)
	}
}

// Every command that needs the database says clearly when it cannot reach it.
func TestCommandsReportAnUnreachableDatabase(t *testing.T) {
	const dsn = "root@tcp(127.0.0.1:1)/alumni?timeout=500ms"
	for _, args := range [][]string{
		{"serve", "--http-addr", "127.0.0.1:0"},
		{"serve", "--http-addr", "127.0.0.1:0", "--migrate"},
		{"migrate", "up"},
		{"migrate", "up", "--create-database"},
		{"migrate", "down", "1"},
		{"migrate", "version"},
		{"seed", "--alumni", "1"},
	} {
		out, err := runCmd(t, append([]string{"--db-dsn", dsn}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
		if strings.Contains(out, "panic") {
			t.Errorf("%v panicked:\n%s", args, out)
		}
	}
}

// The user commands: demo users with fresh passwords on every run, a password reset from
// stdin, and clear refusals.
func TestUserCommands(t *testing.T) {
	dsn := apitest.NewDatabase(t)
	run := func(input string, args ...string) (string, error) {
		stdin = strings.NewReader(input)
		t.Cleanup(func() { stdin = os.Stdin })
		return runCmd(t, append([]string{"--db-dsn", dsn}, args...)...)
	}
	if out, err := run("", "user", "demo"); err == nil || !strings.Contains(err.Error(), "alumnid seed") {
		t.Errorf("demo users without alumni: %v %s", err, out)
	}
	if _, err := run("", "seed", "--alumni", "20"); err != nil {
		t.Fatal(err)
	}
	passwords := func(out string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 3 && strings.Contains(f[1], "@demo.alumnid.test") {
				m[f[0]] = f[2]
			}
		}
		return m
	}
	first, err := run("", "user", "demo")
	second, err2 := run("", "user", "demo")
	p1, p2 := passwords(first), passwords(second)
	if err != nil || err2 != nil || len(p1) != 4 || len(p2) != 4 || p1["admin"] == p2["admin"] {
		t.Fatalf("user demo: %v %v\n%s\n%s", err, err2, first, second)
	}

	const pw = "violet kestrel sings over quiet harbours"
	if out, err := run(pw+"\n", "user", "reset-password", "--email", "viewer@demo.alumnid.test"); err != nil || !strings.Contains(out, "sessions ended") {
		t.Errorf("reset-password: %v %s", err, out)
	}
	link := []string{"user", "link-sso", "--email", "viewer@demo.alumnid.test", "--issuer", "https://login.example.org", "--subject", "u-1"}
	if out, err := run("", link...); err != nil || !strings.Contains(out, "now signs in through https://login.example.org") {
		t.Errorf("link-sso: %v %s", err, out)
	}
	for _, tt := range []struct {
		input string
		args  []string
		want  string
	}{
		{"", link, "already linked"},
		{pw + "\n", []string{"user", "create", "--email", "admin@demo.alumnid.test", "--role", "staff"}, "already has this email"},
		{"password1234\n", []string{"user", "create", "--email", "weak@example.org", "--role", "staff"}, "password"},
		{"", []string{"user", "create", "--email", "nopw@example.org", "--role", "staff"}, "no password on stdin"},
		{pw + "\n", []string{"user", "create", "--email", "x@example.org", "--role", "alumnus"}, "alumnusId"},
		{pw + "\n", []string{"user", "reset-password", "--email", "nobody@example.org"}, "No user"},
		{"", []string{"user", "reset-totp", "--email", "nobody@example.org"}, "No user"},
		{"", []string{"user", "reset-totp", "--email", "viewer@demo.alumnid.test"}, "No second factor"},
		{"", []string{"user", "link-sso", "--email", "nobody@example.org", "--issuer", "https://login.example.org", "--subject", "s"}, "No user"},
		{pw + "\n", []string{"user", "create", "--email", "x@example.org", "--role", "root"}, "must be one of"},
	} {
		out, err := run(tt.input, tt.args...)
		if err == nil || !strings.Contains(err.Error()+out, tt.want) {
			t.Errorf("%v: %v %s, want an error containing %q", tt.args, err, out, tt.want)
		}
		if strings.Contains(out, pw) || (err != nil && strings.Contains(err.Error(), pw)) {
			t.Errorf("%v: the password is echoed", tt.args)
		}
	}
}

// scrape returns the metrics page at url.
func scrape(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestReindexCommand: the summary counts and the duplicate keys that `alumnid reindex` rebuilds
// from the records are exactly those the write path kept up to date, after they were damaged.
func TestReindexCommand(t *testing.T) {
	dsn := apitest.NewDatabase(t)
	if out, err := runCmd(t, "--db-dsn", dsn, "seed", "--alumni", "60"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	sqlDB, err := database.Open(context.Background(), dsn, database.PoolConfig{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	snapshot := func() string {
		var b strings.Builder
		for _, q := range []string{
			"SELECT GROUP_CONCAT(CONCAT_WS(' ', dim, value, deleted, consent, listed, n) ORDER BY dim, value, deleted, consent, listed SEPARATOR '\\n') FROM alumni_stats WHERE n <> 0",
			"SELECT GROUP_CONCAT(CONCAT_WS(' ', alumnus_id, kind, dup_key) ORDER BY alumnus_id, kind, dup_key SEPARATOR '\\n') FROM alumni_duplicate_keys",
		} {
			var part string
			conn, err := sqlDB.Conn(context.Background()) // the session's limit holds for its query
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), "SET SESSION group_concat_max_len = 67108864"); err != nil {
				t.Fatal(err)
			}
			err = conn.QueryRowContext(context.Background(), q).Scan(&part)
			_ = conn.Close()
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(part + "\n")
		}
		return b.String()
	}
	want := snapshot()
	for _, damage := range []string{
		"UPDATE alumni_stats SET n = n + 7 WHERE dim = 'country'",
		"DELETE FROM alumni_stats WHERE dim = 'year'",
		"DELETE FROM alumni_duplicate_keys WHERE kind = 'name'",
		"INSERT INTO alumni_duplicate_keys (alumnus_id, kind, dup_key) SELECT id, 'phone', 'stale' FROM alumni LIMIT 3",
	} {
		if _, err := sqlDB.ExecContext(context.Background(), damage); err != nil {
			t.Fatal(err)
		}
	}
	if snapshot() == want {
		t.Fatal("the damage did not change the counts")
	}
	out, err := runCmd(t, "--db-dsn", dsn, "reindex", "--batch", "7")
	if err != nil || !strings.Contains(out, "analytics summary recounted") || !strings.Contains(out, "duplicate keys written again") {
		t.Fatalf("reindex: %v\n%s", err, out)
	}
	if got := snapshot(); got != want {
		t.Errorf("after reindex the counts or keys differ from what the write path kept")
	}
}
