package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/metrics"
)

// observe counts every request in flight and, once answered, by its route template (never
// the path itself, which holds ids), method and status.
func observe(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if m == nil {
			return next
		}
		return func(c echo.Context) error {
			done := m.RequestStarted()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" || route == "/*" {
				route = "unmatched" // bounded label values: no path a client made up
			}
			method := c.Request().Method
			switch method {
			case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
			default:
				method = "other"
			}
			done(route, method, c.Response().Status)
			return nil
		}
	}
}

// requireToken serves next only to requests bearing token; it compares digests in constant
// time, so the comparison reveals neither the token nor its length.
func requireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the metrics token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
