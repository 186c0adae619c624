package auth_test

import (
	"context"
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/password"
)

// A password hashed with weaker parameters than today's is hashed again at the next
// successful sign-in, and still signs in afterwards.
func TestLoginRehashesWeakHashes(t *testing.T) {
	t.Parallel()
	sqlDB, _ := apitest.OpenDatabase(t)
	ctx := context.Background()
	svc := apitest.NewAuthService(sqlDB, apitest.DefaultConfig())
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "old@example.org", Role: auth.RoleStaff, Password: apitest.TestPassword, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	weak := password.DefaultParams
	weak.Memory, weak.Iterations = 8*1024, 1
	old, err := password.NewHasher(weak, 1).Hash(ctx, apitest.TestPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE email = 'old@example.org'", old); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "old@example.org", apitest.TestPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var now string
	if err := sqlDB.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE email = 'old@example.org'").Scan(&now); err != nil {
		t.Fatal(err)
	}
	if now == old || password.NewHasher(password.DefaultParams, 1).NeedsRehash(now) {
		t.Errorf("the weak hash was not replaced by one with today's parameters: %s", now)
	}
	if _, err := svc.Login(ctx, "old@example.org", apitest.TestPassword, "192.0.2.1"); err != nil {
		t.Errorf("sign-in after the rehash: %v", err)
	}
}
