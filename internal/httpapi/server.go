// Package httpapi serves the contract: it implements the generated strict server interface,
// validates requests against openapi.yaml and turns every failure into problem+json.
package httpapi

import (
	"cmp"
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
	"github.com/alumnid/alumnid/internal/domain"
	"github.com/alumnid/alumnid/internal/metrics"
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
	// ExportTimeout bounds one export instead of RequestTimeout (0: DefaultExportTimeout);
	// ExportStallTimeout is how long an export waits for a client that stopped reading
	// (0: DefaultExportStallTimeout).
	ExportTimeout      time.Duration
	ExportStallTimeout time.Duration
	// ImportMaxBytes is the largest CSV upload accepted, in bytes (0: DefaultImportMaxBytes);
	// BodyLimit does not apply to uploads.
	ImportMaxBytes int64
	// ImportTimeout bounds receiving one upload (0: DefaultImportTimeout); RequestTimeout does
	// not apply to uploads.
	ImportTimeout time.Duration
	// Metrics, when set, records requests, sign-in failures and exported rows.
	Metrics *metrics.Metrics
	// Admission bounds the requests worked on and waiting (zero values: the defaults).
	Admission Admission
	// MetricsToken, when set (with Metrics), serves the metrics at /metrics to requests that
	// bear it (Authorization: Bearer …). Without it /metrics is not served here; the
	// operator serves metrics on a separate address instead, or not at all.
	MetricsToken string
	// Events are the timings of an events connection (zero values: the defaults).
	Events EventsTimings
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
	ssoHandlers
	duplicatesHandlers
	subjectHandlers
}

var _ api.StrictServerInterface = (*Server)(nil)

// New returns the HTTP handler of the service on the domain services d: middleware, the API,
// health checks, the contract and its documentation. The events WebSocket answers 503 while
// d has no feed.
func New(cfg Config, d *domain.Services, log *slog.Logger) (*echo.Echo, error) {
	doc, err := LoadSpec(alumnid.OpenAPI)
	if err != nil {
		return nil, err
	}
	contract, err := enforceContract(doc, newGuard(doc, d.Auth, log))
	if err != nil {
		return nil, err
	}
	authH, err := newAuthHandlers(d.Auth, d.Keys)
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
		newIdempotencyKeys(doc, d.Idempotency, log).middleware,
	)

	server := &Server{
		alumniHandlers:    alumniHandlers{store: d.Alumni, reader: d.Listing, duplicates: duplicatesHandlers{duplicates: d.Duplicates, log: log}},
		analyticsHandlers: analyticsHandlers{reader: d.Listing},
		authHandlers:      authH,
		userHandlers:      userHandlers{auth: d.Auth},
		adminHandlers:     adminHandlers{db: d.DB, settings: d.Settings},
		exportHandlers: exportHandlers{stream: d.Exports.Stream, log: log, now: time.Now, metrics: cfg.Metrics,
			stall: cmp.Or(cfg.ExportStallTimeout, DefaultExportStallTimeout)},
		importHandlers:     importHandlers{imports: d.Imports},
		ssoHandlers:        ssoHandlers{sso: d.SSO, secure: strings.HasPrefix(d.PublicURL, "https://")},
		duplicatesHandlers: duplicatesHandlers{duplicates: d.Duplicates, log: log},
		subjectHandlers:    subjectHandlers{db: d.DB},
	}
	api.RegisterHandlers(e, api.NewStrictHandler(server, nil))
	e.GET(EventsPath, eventsHandler{feed: d.Events, auth: d.Auth, origins: cfg.AllowedOrigins, log: log, timings: cfg.Events.withDefaults()}.serve)

	health := healthChecks{db: d.DB, search: d.Search}
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
