// Package domain builds the domain services one replica of alumnid runs, from its
// configuration: `alumnid serve` wires them and hands them to internal/httpapi, and the tests
// wire them the same way.
package domain

import (
	"database/sql"
	"errors"
	"log/slog"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/duplicates"
	"github.com/alumnid/alumnid/internal/events"
	"github.com/alumnid/alumnid/internal/export"
	"github.com/alumnid/alumnid/internal/idempotency"
	"github.com/alumnid/alumnid/internal/importer"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/password"
	"github.com/alumnid/alumnid/internal/searchindex"
	"github.com/alumnid/alumnid/internal/settings"
	"github.com/alumnid/alumnid/internal/sso"
	"github.com/alumnid/alumnid/internal/token"
)

// Config is the domain's part of a replica's configuration.
type Config struct {
	// Keys sign and verify access tokens; Issuer and Audience are their iss and aud.
	Keys             *token.KeySet
	Issuer, Audience string
	// PasswordHashes bounds how many password hashes run at once (each takes 19 MiB);
	// 0 means one per CPU.
	PasswordHashes int
	// ExportChunk is the number of records an export reads per query (0:
	// listing.DefaultExportChunk).
	ExportChunk int
	// ImportLimits bound the rows and cells of one import (zero values: the defaults).
	ImportLimits importer.Limits
	// TOTPKeys seal TOTP secrets at rest (auth.ParseTOTPKeys), oldest first; none stores
	// them unsealed.
	TOTPKeys [][]byte
	// SSOProviders are the OpenID Connect providers people may sign in with (none: only
	// passwords). PublicURL is where browsers reach the service (the providers' redirect URIs
	// hang under it); SSOReturnOrigins are the app origins a sign-in may return to.
	SSOProviders     []sso.ProviderConfig
	PublicURL        string
	SSOReturnOrigins []string
}

// Services are the domain services of one replica, on one database.
type Services struct {
	DB          *sql.DB
	Keys        *token.KeySet
	Settings    *settings.Store
	Auth        *auth.Service
	Alumni      *alumni.Store
	Listing     *listing.Reader
	Exports     *export.Exporter
	Imports     *importer.Service
	Idempotency *idempotency.Store
	// Events is the real-time feed; the caller makes it and runs it (nil: none).
	Events *events.Feed
	// SSO signs people in through OpenID Connect providers.
	SSO *sso.Service
	// PublicURL is where browsers reach the service ("" when not configured).
	PublicURL string
	// Search keeps this replica's search index current; the caller starts it (Start loads
	// every record) and runs it (docs/SEARCH.md).
	Search *searchindex.Follower
	// Duplicates is the queue of likely duplicates; the caller runs its worker
	// (Duplicates.Run), which scores the pairs of changed records on every replica.
	Duplicates *duplicates.Store
}

// New wires the services on sqlDB. It returns an error when cfg names no signing keys.
func New(sqlDB *sql.DB, cfg Config, log *slog.Logger) (*Services, error) {
	if cfg.Keys == nil {
		return nil, errors.New("no token signing keys configured")
	}
	st := settings.NewStore(sqlDB)
	tokens := token.NewAuthority(cfg.Keys, token.Config{Issuer: cfg.Issuer, Audience: cfg.Audience})
	search := searchindex.NewFollower(sqlDB, searchindex.New(), searchindex.FollowConfig{})
	reader := listing.NewReader(sqlDB, search)
	reader.SetExportChunk(cfg.ExportChunk)
	accounts := auth.New(sqlDB, tokens, password.NewHasher(password.DefaultParams, cfg.PasswordHashes), st, log)
	if err := accounts.UseTOTPKeys(cfg.TOTPKeys); err != nil {
		return nil, err
	}
	// Passkeys take the relying party from the public URL (off without one, or with an IP
	// address, which browsers refuse as an RP id).
	if on, err := accounts.UsePasskeys(cfg.PublicURL, cfg.SSOReturnOrigins); err != nil {
		return nil, err
	} else if !on && cfg.PublicURL != "" {
		log.Warn("passkeys are off: the public URL's host is an IP address, which browsers refuse as a WebAuthn relying party id", "public_url", cfg.PublicURL)
	}
	return &Services{
		Search:      search,
		Duplicates:  duplicates.NewStore(sqlDB),
		DB:          sqlDB,
		Keys:        cfg.Keys,
		Settings:    st,
		Auth:        accounts,
		SSO:         sso.New(sqlDB, accounts, cfg.SSOProviders, sso.Config{PublicURL: cfg.PublicURL, ReturnOrigins: cfg.SSOReturnOrigins}, log),
		PublicURL:   cfg.PublicURL,
		Alumni:      alumni.NewStore(sqlDB),
		Listing:     reader,
		Exports:     export.New(reader, sqlDB),
		Imports:     importer.NewService(sqlDB, cfg.ImportLimits),
		Idempotency: idempotency.NewStore(sqlDB),
	}, nil
}
