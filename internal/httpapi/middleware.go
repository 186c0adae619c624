package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/searchindex"
)

// validRequestID accepts the ids load balancers and tracing systems send; anything else is
// replaced, so a client cannot inject text into logs.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// withRequestID takes a sane incoming X-Request-ID or makes one, returns it in the response
// and puts it in the request's context for logs and problem bodies.
func withRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		ctx := context.WithValue(c.Request().Context(), requestIDKey{}, id)
		// The request reads the writes committed before it arrived, and its reads of the
		// search index share one sync.
		ctx = searchindex.AsOf(ctx, time.Now())
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// accessLog writes one line per request, at a level chosen from the status code, with the
// request id and the signed-in user's id. It logs the path without the query string, which may
// carry personal data.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // write the problem now, so the status below is the one sent
			}
			status := c.Response().Status
			level := slog.LevelInfo
			switch {
			case status >= 500 && status != http.StatusServiceUnavailable:
				level = slog.LevelError
			case status >= 400: // a 503 (busy, or the database is unreachable) is expected under load
				level = slog.LevelWarn
			}
			req := c.Request()
			attrs := []slog.Attr{slog.String("request_id", requestID(req.Context()))}
			if p, ok := auth.PrincipalFrom(req.Context()); ok {
				attrs = append(attrs, slog.String("user_id", p.UserID))
			}
			log.LogAttrs(req.Context(), level, "request", append(attrs,
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.String("route", c.Path()),
				slog.Int("status", status),
				slog.Int64("bytes", c.Response().Size),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote_ip", c.RealIP()),
			)...)
			return nil
		}
	}
}

// apiHeaders marks API answers as not cacheable by shared caches and not to be sniffed.
func apiHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		return next(c)
	}
}
