package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

func TestPurge(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	svc := apitest.NewAuthService(sqlDB, apitest.DefaultConfig())
	ctx := context.Background()
	_, err := svc.CreateUser(ctx, auth.NewUser{Email: "old@example.org", Role: auth.RoleStaff, Password: apitest.TestPassword, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := svc.Login(ctx, "old@example.org", apitest.TestPassword, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Login(ctx, "old@example.org", "wrong password here", "192.0.2.2"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	count := func(table string) int {
		var n int
		if err := sqlDB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// One session ended long ago, the other is live; the throttle counts are from past windows.
	exec := func(q string) {
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE sessions SET ended_at = UTC_TIMESTAMP(6) - INTERVAL 8 DAY ORDER BY id LIMIT 1")
	exec("UPDATE login_throttle SET window_start = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR")
	exec("UPDATE login_known_clients SET last_success_at = UTC_TIMESTAMP(6) - INTERVAL 91 DAY")
	before := map[string]int{"sessions": count("sessions"), "refresh_tokens": count("refresh_tokens"), "login_throttle": count("login_throttle")}
	if before["sessions"] != 2 || before["refresh_tokens"] != 2 || before["login_throttle"] < 3 {
		t.Fatalf("setup: %v", before)
	}
	if err := auth.Purge(ctx, sqlDB, time.Now()); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"sessions": 1, "refresh_tokens": 1, "login_throttle": 0, "login_known_clients": 0} {
		if got := count(table); got != want {
			t.Errorf("%s: %d rows after purge, want %d", table, got, want)
		}
	}
}
