package httpapi

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/database"
)

type healthChecks struct {
	db     *sql.DB
	search interface{ Ready() bool } // nil: no search index
}

type healthStatus struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// live answers 200 while the process serves requests.
func (healthChecks) live(c echo.Context) error {
	return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
}

// ready answers 200 when the database answers, its schema is at least the version this
// binary expects and the search index is loaded, 503 otherwise. A newer schema is fine: migrations are backward compatible
// (expand, then contract in a later release), so during a rolling deploy the replicas still
// on the old binary stay in the load balancer after the first new one has migrated.
func (h healthChecks) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	version, dirty, err := database.SchemaVersion(ctx, h.db)
	switch {
	case err != nil:
		return c.JSON(http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Detail: "database unreachable"})
	case dirty || version < database.ExpectedVersion:
		return c.JSON(http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Detail: "database schema is not at the expected version"})
	case h.search != nil && !h.search.Ready():
		return c.JSON(http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Detail: "search index loading"})
	}
	return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
}
