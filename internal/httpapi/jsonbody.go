package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/strictjson"
)

// Every JSON body is read strictly, and the same way, by the contract check and by the
// handler: one document, no repeated member names, valid UTF-8, numbers a float64 can hold
// (strictjson). checkJSONBody runs before the contract check; strictSerializer is Echo's
// decoder for the handlers, so a body that reaches a handler by another route is held to the
// same rules.

// isJSON reports whether the media type of a Content-Type header is JSON (application/json or
// any application/…+json, such as application/merge-patch+json).
func isJSON(header string) bool {
	mediaType, _, err := mime.ParseMediaType(header)
	if err != nil {
		return false
	}
	return mediaType == echo.MIMEApplicationJSON || (strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json"))
}

// checkJSONBody reads a JSON body whole (Echo's body limit has bounded it), refuses it unless
// strictjson accepts it, and puts it back for the validator and the handler. Bodies of other
// types and empty bodies are left to the contract.
func checkJSONBody(req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody || !isJSON(req.Header.Get(echo.HeaderContentType)) {
		return nil
	}
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return err // the body limit's 413, or the client went away
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil // "body is required" comes from the contract
	}
	return jsonProblem(strictjson.Check(data))
}

// jsonProblem turns a strictjson failure into a Malformed error naming the field (nil stays
// nil; other errors are returned as they are).
func jsonProblem(err error) error {
	var je *strictjson.Error
	if !errors.As(err, &je) {
		return err
	}
	field := jsonPath("", je.Path())
	if field == "" {
		field = "body"
	}
	return derrors.New(derrors.Malformed, "The body is not a single, well-formed JSON document.",
		derrors.FieldError{Field: field, Message: je.Reason})
}

// strictSerializer is Echo's JSON serializer with strict decoding.
type strictSerializer struct{ echo.DefaultJSONSerializer }

// Deserialize decodes the request body into v, refusing what strictjson refuses and naming the
// field of a value of the wrong type.
func (strictSerializer) Deserialize(c echo.Context, v any) error {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	err = strictjson.Unmarshal(data, v)
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return derrors.New(derrors.Malformed, "The request does not match the API contract.",
			derrors.FieldError{Field: field, Message: "has the wrong type"})
	}
	return jsonProblem(err)
}
