package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"

	"github.com/alumnid/alumnid"
)

// docs serves the contract as written (YAML), as JSON, and Swagger UI with embedded assets.
type docs struct {
	json []byte
	ui   http.Handler
}

func newDocs(doc *openapi3.T) (docs, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return docs{}, err
	}
	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       doc.Info.Title,
		SwaggerJSON: "/openapi.json",
		BasePath:    "/docs/",
		SettingsUI:  map[string]string{"persistAuthorization": "true", "displayRequestDuration": "true"},
	})
	return docs{json: b, ui: ui}, nil
}

func (d docs) register(e *echo.Echo) {
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", alumnid.OpenAPI)
	})
	e.GET("/openapi.json", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, d.json)
	})
	e.GET("/docs", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/docs/")
	})
	e.GET("/docs/*", echo.WrapHandler(d.ui))
}
