package audit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
)

// TestAuditTableIsAppendOnlyWithGrants applies docs/grants.sql to a real database user, runs
// the service as that user, and checks that it works while the audit trail cannot be changed.
func TestAuditTableIsAppendOnlyWithGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rootDB, dsn := apitest.OpenDatabase(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile("../../docs/grants.sql")
	if err != nil {
		t.Fatal(err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	user, pw := "alumnid_"+hex.EncodeToString(suffix[:]), "pw-"+hex.EncodeToString(suffix[:])
	script := strings.NewReplacer("'alumnid'@'%'", "'"+user+"'@'%'", "alumni.", "`"+cfg.DBName+"`.", "'change-me'", "'"+pw+"'").Replace(string(raw))
	t.Cleanup(func() { _, _ = rootDB.ExecContext(context.Background(), "DROP USER IF EXISTS '"+user+"'@'%'") })
	granted := map[string]bool{}
	grantOn := regexp.MustCompile("ON `[^`]+`\\.(\\w+) TO")
	for _, stmt := range strings.Split(stripComments(script), ";") {
		if stmt = strings.TrimSpace(stmt); stmt == "" {
			continue
		}
		if _, err := rootDB.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		if m := grantOn.FindStringSubmatch(stmt); m != nil {
			granted[m[1]] = true
		}
	}
	// Every table of the schema has its grant: a new table must be added to grants.sql.
	rows, err := rootDB.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !granted[name] {
			t.Errorf("docs/grants.sql grants nothing on table %s", name)
		}
	}
	_ = rows.Close()

	// The service, connected as the restricted user, works: sign-in and a change, both audited.
	cfg.User, cfg.Passwd = user, pw
	svcDB, err := database.Open(ctx, cfg.FormatDSN(), database.PoolConfig{MaxOpen: 4, MaxIdle: 4, MaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer svcDB.Close()
	accounts := apitest.NewAuthService(svcDB, apitest.DefaultConfig())
	if _, err := accounts.CreateUser(ctx, auth.NewUser{Email: "admin@example.org", Role: auth.RoleAdmin, Password: apitest.TestPassword, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e := apitest.NewHandler(t, apitest.DefaultConfig(), svcDB, slog.New(slog.DiscardHandler), nil)
	ts := httptest.NewServer(e)
	defer ts.Close()
	anon := apitest.NewClient(t, ts.URL)
	// The admin sets up the second factor adminsRequireTotp asks for (the grants cover its tables).
	admin, _, _ := anon.EnrolAtSignIn(t, "admin@example.org", apitest.TestPassword)
	if r := admin.Post("/api/v1/alumni", map[string]any{"firstName": "Ada", "lastName": "King"}); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}

	// …but it cannot change or remove what the trail holds.
	for _, stmt := range []string{
		"UPDATE audit_events SET action = 'alumnus.nothing'",
		"DELETE FROM audit_events",
		"TRUNCATE TABLE audit_events",
		"DROP TABLE audit_events",
	} {
		_, err := svcDB.ExecContext(ctx, stmt)
		var myErr *mysql.MySQLError
		if !errors.As(err, &myErr) || !slices.Contains([]uint16{1142, 1044}, myErr.Number) {
			t.Errorf("%s as the service's user: %v, want a permission error", stmt, err)
		}
	}
	var n int
	if err := rootDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events WHERE action IN ('user.create', 'session.login', 'alumnus.create')").Scan(&n); err != nil || n != 3 {
		t.Errorf("audit events: %d, %v; want 3", n, err)
	}
}

func stripComments(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
