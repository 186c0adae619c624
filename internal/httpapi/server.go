// Package httpapi serves the contract: it implements the generated strict server interface,
// validates requests against openapi.yaml and turns every failure into problem+json.
package httpapi

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/alumnid/alumnid"
	"github.com/alumnid/alumnid/gen/api"
	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/events"
	"github.com/alumnid/alumnid/internal/export"
	"github.com/alumnid/alumnid/internal/idempotency"
	"github.com/alumnid/alumnid/internal/importer"
	"github.com/alumnid/alumnid/internal/listing"
	"github.com/alumnid/alumnid/internal/metrics"
	"github.com/alumnid/alumnid/internal/password"
	"github.com/alumnid/alumnid/internal/settings"
	"github.com/alumnid/alumnid/internal/token"
)

// Config is what the HTTP layer needs to know about its deployment.
type Config struct {
	// AllowedOrigins may call the API from a browser (CORS); empty allows none.
	AllowedOrigins []string
	// TrustedProxies are the networks whose X-Forwarded-For is believed; the client address
	// of any other peer is the peer itself.
	TrustedProxies []*net.IPNet
	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64
	// RequestTimeout bounds the work, including database queries, of one request.
	RequestTimeout time.Duration
	// Keys sign and verify access tokens.
	Keys *token.KeySet
	// Issuer and Audience are the iss and aud of access tokens.
	Issuer, Audience string
	// PasswordHashes bounds how many password hashes run at once (each takes 19 MiB);
	// 0 means one per CPU.
	PasswordHashes int
	// ExportTimeout bounds one export instead of RequestTimeout (0: DefaultExportTimeout);
	// ExportStallTimeout is how long an export waits for a client that stopped reading
	// (0: DefaultExportStallTimeout); ExportChunk is the number of records it reads per query
	// (0: alumni.DefaultExportChunk).
	ExportTimeout      time.Duration
	ExportStallTimeout time.Duration
	ExportChunk        int
	// ImportMaxBytes is the largest CSV upload accepted, in bytes (0: DefaultImportMaxBytes);
	// BodyLimit does not apply to uploads.
	ImportMaxBytes int64
	// ImportTimeout bounds receiving one upload (0: DefaultImportTimeout); RequestTimeout does
	// not apply to uploads.
	ImportTimeout time.Duration
	// ImportLimits bound the rows and cells of one import (zero values: the defaults).
	ImportLimits importer.Limits
	// Metrics, when set, records requests, sign-in failures and exported rows.
	Metrics *metrics.Metrics
	// Events is the real-time feed behind GET /api/v1/events (503 without one).
	Events *events.Feed
	// CountCacheTTL is how long filtered facets and analytics counts are remembered; 0 turns
	// the cache off.
	CountCacheTTL time.Duration
	// MaxCounts is how many statements of filtered facets and analytics run at once, with the
	// count cache on (0: DefaultMaxCounts).
	MaxCounts int
	// Admission bounds the requests worked on and waiting (zero values: the defaults).
	Admission Admission
	// MetricsToken, when set (with Metrics), serves the metrics at /metrics to requests that
	// bear it (Authorization: Bearer …). Without it /metrics is not served here; the
	// operator serves metrics on a separate address instead, or not at all.
	MetricsToken string
}

// Server implements every operation of the contract by embedding one handler set per resource.
type Server struct {
	alumniHandlers
	analyticsHandlers
	authHandlers
	userHandlers
	adminHandlers
	exportHandlers
	importHandlers
}

var _ api.StrictServerInterface = (*Server)(nil)

// New returns the HTTP handler of the service: middleware, the API, health checks, the
// contract and its documentation.
func New(cfg Config, sqlDB *sql.DB, log *slog.Logger) (*echo.Echo, error) {
	doc, err := LoadSpec(alumnid.OpenAPI)
	if err != nil {
		return nil, err
	}
	if cfg.Keys == nil {
		return nil, errors.New("no token signing keys configured")
	}
	st := settings.NewStore(sqlDB)
	tokens := token.NewAuthority(cfg.Keys, token.Config{Issuer: cfg.Issuer, Audience: cfg.Audience})
	authSvc := auth.New(sqlDB, tokens, password.NewHasher(password.DefaultParams, cfg.PasswordHashes), st, log)
	contract, err := enforceContract(doc, newGuard(doc, authSvc, log))
	if err != nil {
		return nil, err
	}
	authH, err := newAuthHandlers(authSvc, cfg.Keys)
	if err != nil {
		return nil, err
	}
	authH.metrics = cfg.Metrics
	docs, err := newDocs(doc)
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.JSONSerializer = strictSerializer{}
	e.HTTPErrorHandler = errorHandler(log)
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)

	e.Use(
		withRequestID,
		observe(cfg.Metrics),
		accessLog(log),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisablePrintStack: true,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				log.ErrorContext(c.Request().Context(), "panic", slog.String("request_id", requestID(c.Request().Context())),
					slog.String("error", err.Error()), slog.String("stack", string(stack)))
				return err
			},
		}),
		apiHeaders,
		// Browser apps read ETag (for If-Match), Content-Disposition (an export's file name) and
		// Idempotent-Replayed, and send Idempotency-Key.
		middleware.CORSWithConfig(middleware.CORSConfig{
			// Echo allows every origin ("*") when AllowOrigins is empty: the origins are
			// matched here instead, so that none configured means none allowed.
			AllowOriginFunc: func(origin string) (bool, error) { return configuredOrigin(cfg.AllowedOrigins, origin), nil },
			AllowMethods:    []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete},
			AllowHeaders: []string{echo.HeaderAuthorization, echo.HeaderContentType, "If-Match", "If-None-Match", echo.HeaderXRequestID,
				headerIdempotencyKey},
			ExposeHeaders: []string{"ETag", echo.HeaderLocation, echo.HeaderXRequestID, "Retry-After", echo.HeaderContentDisposition,
				headerIdempotentReplayed},
			MaxAge: 600,
		}),
		uploadLimits(cmp.Or(cfg.ImportMaxBytes, DefaultImportMaxBytes), cmp.Or(cfg.ImportTimeout, DefaultImportTimeout)),
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Skipper: isUpload, Limit: fmt.Sprintf("%dB", cfg.BodyLimit)}),
		// Exports and uploads run longer than other requests, each on its own budget.
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{
			Skipper: func(c echo.Context) bool { return isExport(c) || isUpload(c) || isEvents(c) }, Timeout: cfg.RequestTimeout,
		}),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{
			Skipper: func(c echo.Context) bool { return !isUpload(c) }, Timeout: cmp.Or(cfg.ImportTimeout, DefaultImportTimeout),
		}),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{
			Skipper: func(c echo.Context) bool { return !isExport(c) }, Timeout: cmp.Or(cfg.ExportTimeout, DefaultExportTimeout),
		}),
		admission(cfg.Admission, cfg.Metrics),
		withActor,
		contract,
		newIdempotencyKeys(doc, idempotency.NewStore(sqlDB), log).middleware,
	)

	store := alumni.NewStore(sqlDB)
	reader := listing.NewReader(sqlDB)
	reader.SetExportChunk(cfg.ExportChunk)
	reader.SetCountCache(cfg.CountCacheTTL, cmp.Or(cfg.MaxCounts, DefaultMaxCounts))
	server := &Server{
		alumniHandlers:    alumniHandlers{store: store, reader: reader},
		analyticsHandlers: analyticsHandlers{reader: reader},
		authHandlers:      authH,
		userHandlers:      userHandlers{auth: authSvc},
		adminHandlers:     adminHandlers{db: sqlDB, settings: st},
		exportHandlers: exportHandlers{stream: export.New(reader, sqlDB).Stream, log: log, now: time.Now, metrics: cfg.Metrics,
			stall: cmp.Or(cfg.ExportStallTimeout, DefaultExportStallTimeout)},
		importHandlers: importHandlers{imports: importer.NewService(sqlDB, cfg.ImportLimits)},
	}
	api.RegisterHandlers(e, api.NewStrictHandler(server, nil))
	e.GET(EventsPath, eventsHandler{feed: cfg.Events, auth: authSvc, origins: cfg.AllowedOrigins, log: log}.serve)

	health := healthChecks{db: sqlDB}
	e.GET("/healthz", health.live)
	e.GET("/readyz", health.ready)
	docs.register(e)
	if cfg.Metrics != nil && cfg.MetricsToken != "" {
		e.GET("/metrics", echo.WrapHandler(requireToken(cfg.MetricsToken, cfg.Metrics.Handler())))
	}
	return e, nil
}

// configuredOrigin reports whether origin is one of origins (compared without regard to case).
func configuredOrigin(origins []string, origin string) bool {
	return slices.ContainsFunc(origins, func(o string) bool { return strings.EqualFold(o, origin) })
}

// ipExtractor believes X-Forwarded-For only from trusted proxies.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
