package domain_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/apitest"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/domain"
	"github.com/alumnid/alumnid/internal/idempotency"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/settings"
)

// Every operation of every domain service reports a database it cannot reach as
// derrors.Unavailable, classified where the SQL runs, so that the API answers 503 with
// Retry-After and never 500, whichever operation met the outage first.
func TestEveryOperationClassifiesAnUnreachableDatabase(t *testing.T) {
	t.Parallel()
	dsn := apitest.NewDatabase(t)
	proxy := apitest.NewProxy(t)
	sqlDB, err := database.Open(context.Background(), proxy.DSN(dsn), database.PoolConfig{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sqlDB.Close() })
	cfg := apitest.DefaultConfig().Domain
	svc, err := domain.New(sqlDB, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Search.Start(t.Context()); err != nil { // loaded while the database answered
		t.Fatal(err)
	}
	proxy.Disable()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	office := auth.Principal{UserID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1C", Role: auth.RoleAdmin, SessionID: "01JD3M5X7V8Q9R2S4T6W8Y0Z1D"}
	const id = "01JD3M5X7V8Q9R2S4T6W8Y0Z1A"
	everyone := func(int) bool { return true }
	ops := map[string]func() error{
		"settings.Get": func() error { _, err := svc.Settings.Get(ctx); return err },
		"settings.Put": func() error {
			_, err := svc.Settings.Put(ctx, settings.Defaults(), func(string) bool { return true })
			return err
		},
		"auth.Authenticate": func() error {
			_, err := svc.Auth.Authenticate(ctx, apitest.SignedToken(t, office.SessionID, "admin", time.Minute))
			return err
		},
		"auth.Login":   func() error { _, err := svc.Auth.Login(ctx, "a@example.org", "a password", "192.0.2.1"); return err },
		"auth.Refresh": func() error { _, err := svc.Auth.Refresh(ctx, "a-refresh-token", "192.0.2.1"); return err },
		"auth.Me":      func() error { _, _, err := svc.Auth.Me(ctx, office); return err },
		"auth.Logout":  func() error { return svc.Auth.Logout(ctx, office) },
		"auth.ChangePassword": func() error {
			return svc.Auth.ChangePassword(ctx, office, apitest.TestPassword, "copper kettles hum beneath winter stars", "192.0.2.1")
		},
		"auth.CreateUser": func() error {
			_, err := svc.Auth.CreateUser(ctx, auth.NewUser{Email: "new@example.org", Role: auth.RoleStaff, Password: apitest.TestPassword, Enabled: true})
			return err
		},
		"auth.GetUser":   func() error { _, err := svc.Auth.GetUser(ctx, id); return err },
		"auth.ListUsers": func() error { _, err := svc.Auth.ListUsers(ctx, auth.UserFilter{}, "", 10); return err },
		"auth.UpdateUser": func() error {
			_, err := svc.Auth.UpdateUser(ctx, id, everyone, auth.UserChange{})
			return err
		},
		"auth.CompleteLogin": func() error {
			_, err := svc.Auth.CompleteLogin(ctx, "a-challenge", "123456", "", "192.0.2.1")
			return err
		},
		"auth.StartLoginEnrolment": func() error { _, err := svc.Auth.StartLoginEnrolment(ctx, "a-challenge"); return err },
		"auth.StartTOTP":           func() error { _, err := svc.Auth.StartTOTP(ctx, office); return err },
		"auth.ConfirmTOTP":         func() error { _, err := svc.Auth.ConfirmTOTP(ctx, office, "123456", "192.0.2.1"); return err },
		"auth.DisableTOTP":         func() error { return svc.Auth.DisableTOTP(ctx, office, "123456", "192.0.2.1") },
		"auth.TOTPStatus":          func() error { _, err := svc.Auth.TOTPStatus(ctx, office); return err },
		"auth.ResetTOTP":           func() error { _, err := svc.Auth.ResetTOTP(ctx, "a@example.org"); return err },
		"auth.ResetUserTOTP":       func() error { return svc.Auth.ResetUserTOTP(ctx, id) },
		"auth.Passkeys":            func() error { _, err := svc.Auth.Passkeys(ctx, office); return err },
		"auth.DeletePasskey":       func() error { return svc.Auth.DeletePasskey(ctx, office, id) },
		"auth.ResetUserPasskeys":   func() error { return svc.Auth.ResetUserPasskeys(ctx, id) },
		"auth.ResolveExternal": func() error {
			_, err := svc.Auth.ResolveExternal(ctx, auth.ExternalIdentity{Provider: "uni", Issuer: "https://login.example.org", Subject: "s", Role: auth.RoleStaff})
			return err
		},
		"auth.OpenExternalSession": func() error { _, err := svc.Auth.OpenExternalSession(ctx, 1, "uni", "192.0.2.1"); return err },
		"sso.Redeem":               func() error { _, err := svc.SSO.Redeem(ctx, "a-ticket", "192.0.2.1"); return err },
		"auth.LinkIdentity": func() error {
			_, err := svc.Auth.LinkIdentity(ctx, "a@example.org", "https://login.example.org", "s")
			return err
		},
		"auth.DeleteUser":    func() error { return svc.Auth.DeleteUser(ctx, id) },
		"auth.ResetPassword": func() error { _, err := svc.Auth.ResetPassword(ctx, "a@example.org", apitest.TestPassword); return err },
		"auth.CreateInvite":  func() error { _, err := svc.Auth.CreateInvite(ctx, id, ""); return err },
		"auth.AcceptInvite": func() error {
			_, err := svc.Auth.AcceptInvite(ctx, "an-invitation", apitest.TestPassword, "192.0.2.1")
			return err
		},
		"auth.DemoAlumnus": func() error { _, err := svc.Auth.DemoAlumnus(ctx); return err },
		"alumni.Create": func() error {
			_, err := svc.Alumni.Create(ctx, alumni.NewRecord{Fields: alumni.Fields{FirstName: "Ada", LastName: "King"}})
			return err
		},
		"alumni.Get": func() error { _, err := svc.Alumni.Get(ctx, office, id); return err },
		"alumni.Update": func() error {
			_, err := svc.Alumni.Update(ctx, office, id, func(alumni.Alumnus) bool { return true },
				func(cur alumni.Alumnus) (alumni.Fields, error) { return cur.Fields, nil })
			return err
		},
		"alumni.Delete":  func() error { return svc.Alumni.Delete(ctx, id, nil) },
		"alumni.Restore": func() error { _, err := svc.Alumni.Restore(ctx, id); return err },
		"listing.List": func() error {
			_, err := svc.Listing.List(ctx, office, listing.Filter{Q: "mar"}, listing.ListOptions{Limit: 10, IncludeTotal: true})
			return err
		},
		"listing.Facets":   func() error { _, err := svc.Listing.Facets(ctx, office, listing.Filter{}); return err },
		"listing.Overview": func() error { _, err := svc.Listing.Overview(ctx, office, listing.Filter{Country: "DE"}); return err },
		"listing.GraduationYears": func() error {
			_, err := svc.Listing.GraduationYears(ctx, office, listing.Filter{})
			return err
		},
		"listing.Programs":    func() error { _, err := svc.Listing.Programs(ctx, office, listing.Filter{}); return err },
		"listing.Geography":   func() error { _, err := svc.Listing.Geography(ctx, office, listing.Filter{}); return err },
		"listing.Employers":   func() error { _, err := svc.Listing.Employers(ctx, office, listing.Filter{}); return err },
		"listing.Activity":    func() error { _, err := svc.Listing.Activity(ctx, office, listing.Filter{}); return err },
		"listing.DataQuality": func() error { _, err := svc.Listing.DataQuality(ctx, office, listing.Filter{}); return err },
		"listing.Export": func() error {
			_, err := svc.Listing.Export(ctx, office, listing.Filter{}, func([]alumni.Alumnus) error { return nil })
			return err
		},
		"importer.Get":        func() error { _, err := svc.Imports.Get(ctx, id); return err },
		"importer.List":       func() error { _, err := svc.Imports.List(ctx, "", 10); return err },
		"importer.ListErrors": func() error { _, err := svc.Imports.ListErrors(ctx, id, "", 10); return err },
		"idempotency.Claim": func() error {
			_, _, err := svc.Idempotency.Claim(ctx, idempotency.Scope{UserID: office.UserID, Operation: "createAlumnus", Key: "k"}, time.Now().Add(time.Minute))
			return err
		},
		"audit.List": func() error { _, err := audit.List(ctx, sqlDB, audit.Filter{}, "", 10); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op()
			if d := derrors.As(err); d == nil || d.Kind != derrors.Unavailable || d.Cause == nil {
				t.Errorf("%s: %v, want derrors.Unavailable with the driver's error as its cause", name, err)
			}
		})
	}
	// A replica whose index never loaded says so, as Unavailable too.
	unloaded := listing.NewReader(sqlDB, searchindex.NewFollower(sqlDB, searchindex.New(), searchindex.FollowConfig{}))
	_, err = unloaded.List(ctx, office, listing.Filter{}, listing.ListOptions{Limit: 10})
	if d := derrors.As(err); d == nil || d.Kind != derrors.Unavailable || d.RetryAfter == 0 {
		t.Errorf("a list before the index loaded: %v, want derrors.Unavailable with a Retry-After", err)
	}
}
