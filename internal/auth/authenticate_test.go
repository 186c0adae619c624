package auth_test

import (
	"context"
	"testing"

	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/auth"
)

// BenchmarkAuthenticate measures the check every authenticated request makes: the token's
// signature and claims, then its session and user in the database (one primary-key query).
//
//	go test ./internal/auth/ -run '^$' -bench Authenticate -benchtime 5s
func BenchmarkAuthenticate(b *testing.B) {
	sqlDB, _ := apitest.OpenDatabase(b)
	svc := apitest.NewAuthService(sqlDB, apitest.DefaultConfig())
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "bench@example.org", Role: auth.RoleStaff, Password: apitest.TestPassword, Enabled: true}); err != nil {
		b.Fatal(err)
	}
	tok, err := svc.Login(ctx, "bench@example.org", apitest.TestPassword, "192.0.2.1")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Authenticate(ctx, tok.Tokens.AccessToken); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
