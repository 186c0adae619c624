package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/alumni"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/emailaddr"
)

var registerFormats sync.Once

// RegisterFormats makes kin-openapi check the string formats the contract uses with the
// domain's own rules, so a bad email or URL is a 400 naming the field before any handler runs.
func RegisterFormats() {
	registerFormats.Do(func() {
		openapi3.DefineStringFormatValidator("email", openapi3.NewCallbackValidator(func(s string) error {
			if !emailaddr.Valid(strings.ToLower(s)) {
				return errors.New("must be an email address like name@example.org")
			}
			return nil
		}))
		openapi3.DefineStringFormatValidator("uri", openapi3.NewCallbackValidator(func(s string) error {
			if !alumni.ValidWebURL(s) {
				return errors.New("must be an http or https URL")
			}
			return nil
		}))
	})
}

// LoadSpec parses and validates the contract.
func LoadSpec(raw []byte) (*openapi3.T, error) {
	RegisterFormats()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid: %w", err)
	}
	return doc, nil
}

// operationKey names, in the Echo context, the contract's operation of a request that the
// contract middleware let through.
const operationKey = "openapi.operation"

// operationOf returns the contract's operation of c, or nil outside the contract.
func operationOf(c echo.Context) *openapi3.Operation {
	op, _ := c.Get(operationKey).(*openapi3.Operation)
	return op
}

// enforceContract runs the contract before a handler: it finds the operation, authenticates
// the caller and checks the operation's x-roles (see security.go), then checks the request
// against the contract: parameters (including unknown query parameters, which kin-openapi
// lets through), the Content-Type and the body (read strictly first: jsonbody.go). Requests
// for paths or methods the contract does not have pass on to Echo, which answers 404 or 405.
func enforceContract(doc *openapi3.T, guard *guard) (echo.MiddlewareFunc, error) {
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	opts := &openapi3filter.Options{
		MultiError:         true,
		KeepValidatedValue: true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
	streamOpts := *opts
	streamOpts.ExcludeRequestBody = true
	// The guard has checked the caller. kin-openapi's own security check would only call the
	// no-op AuthenticationFunc, after reading the whole body into memory (it does so for every
	// operation with a security requirement, ExcludeRequestBody or not): requests are validated
	// against copies of the operations without one.
	withoutSecurity := map[*openapi3.Operation]*openapi3.Operation{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			cp := *op
			cp.Security = &openapi3.SecurityRequirements{}
			withoutSecurity[op] = &cp
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/api/") && !strings.HasPrefix(req.URL.Path, "/.well-known/") {
				return next(c)
			}
			route, pathParams, err := router.FindRoute(req)
			if err != nil {
				if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
					return next(c)
				}
				return err
			}
			if err := guard.admit(c, route.Operation); err != nil {
				return err
			}
			req = c.Request() // admit puts the caller in the request's context
			unknown := unknownQueryParams(route, req.URL.Query())
			validated := *route
			if op, ok := withoutSecurity[route.Operation]; ok {
				validated.Operation = op
			}
			in := &openapi3filter.RequestValidationInput{
				Request: req, PathParams: pathParams, Route: &validated, Options: opts,
			}
			if streamed(route.Operation) {
				if err := streamedContentType(req.Header.Get(echo.HeaderContentType), route.Operation); err != nil {
					return err
				}
				in.Options = &streamOpts
			}
			if !streamed(route.Operation) {
				if err := checkJSONBody(req); err != nil {
					return err
				}
			}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil || len(unknown) > 0 {
				return requestProblem(err, unknown)
			}
			c.Set(operationKey, route.Operation) // for the middleware after this one
			return next(c)
		}
	}, nil
}

// streamed reports whether op takes a multipart/form-data body (a file upload). The validator
// would read such a body whole into memory; it is left to the handler, which reads the parts
// as they arrive and checks them itself. Only the Content-Type is checked here.
func streamed(op *openapi3.Operation) bool {
	return op.RequestBody != nil && op.RequestBody.Value != nil && op.RequestBody.Value.Content.Get("multipart/form-data") != nil
}

// streamedContentType checks the Content-Type of a streamed body: one op accepts, and a
// multipart one with its boundary.
func streamedContentType(header string, op *openapi3.Operation) error {
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil || op.RequestBody.Value.Content.Get(mediaType) == nil {
		return echo.ErrUnsupportedMediaType
	}
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] == "" {
		return derrors.New(derrors.Malformed, "The request does not match the API contract.",
			derrors.FieldError{Field: "body", Message: "a multipart/form-data body needs the boundary parameter in its Content-Type"})
	}
	return nil
}

// unknownQueryParams names each query parameter the operation does not declare (a typo in a
// filter must not silently return everything) and each whose value is not UTF-8 (it is
// refused as a JSON string would be, not matched as replacement characters).
func unknownQueryParams(route *routers.Route, query url.Values) []derrors.FieldError {
	known := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				known[p.Value.Name] = true
			}
		}
	}
	var fields []derrors.FieldError
	for name, values := range query {
		switch {
		case !known[name]:
			fields = append(fields, derrors.FieldError{Field: name, Message: "is not a parameter of this operation"})
		case slices.ContainsFunc(values, func(v string) bool { return !utf8.ValidString(v) }):
			fields = append(fields, derrors.FieldError{Field: name, Message: "is not valid UTF-8"})
		}
	}
	slices.SortFunc(fields, func(a, b derrors.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return fields
}

// requestProblem turns kin-openapi's validation errors into one answer: 415 for a Content-Type
// the operation does not accept, 413 when the body hit the size limit, 400 naming every field
// otherwise.
func requestProblem(err error, fields []derrors.FieldError) error {
	var me openapi3.MultiError
	if err != nil && !errors.As(err, &me) {
		me = openapi3.MultiError{err}
	}
	for _, e := range me {
		if errors.Is(e, echo.ErrStatusRequestEntityTooLarge) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			fields = append(fields, derrors.FieldError{Field: "request", Message: "does not match the contract"})
			continue
		}
		if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
			return echo.ErrUnsupportedMediaType
		}
		fields = append(fields, requestFieldErrors(re)...)
	}
	return derrors.New(derrors.Malformed, "The request does not match the API contract.", fields...)
}

// requestFieldErrors names the parameter or body field of one request error.
func requestFieldErrors(re *openapi3filter.RequestError) []derrors.FieldError {
	prefix := ""
	if re.Parameter != nil {
		prefix = re.Parameter.Name
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		if re.Parameter != nil {
			return []derrors.FieldError{{Field: prefix, Message: "is required"}}
		}
		return []derrors.FieldError{{Field: "body", Message: "is required"}}
	}
	var schemaErrs openapi3.MultiError
	if !errors.As(re.Err, &schemaErrs) {
		schemaErrs = openapi3.MultiError{re.Err}
	}
	var out []derrors.FieldError
	for _, e := range schemaErrs {
		var se *openapi3.SchemaError
		if !errors.As(e, &se) {
			var pe *openapi3filter.ParseError
			switch {
			case errors.As(e, &pe) && re.Parameter == nil:
				out = append(out, derrors.FieldError{Field: "body", Message: "is not valid JSON"})
			case re.Parameter != nil:
				out = append(out, derrors.FieldError{Field: prefix, Message: "has the wrong type or format"})
			default:
				out = append(out, derrors.FieldError{Field: "body", Message: "could not be read"})
			}
			continue
		}
		pointer := se.JSONPointer()
		if m := namedProperty.FindStringSubmatch(se.Reason); m != nil && (len(pointer) == 0 || pointer[len(pointer)-1] != m[1]) {
			pointer = append(pointer, m[1]) // the missing or unknown property itself
		}
		field := jsonPath(prefix, pointer)
		if field == "" {
			field = "body"
		}
		out = append(out, derrors.FieldError{Field: field, Message: se.Reason})
	}
	if len(out) == 0 {
		field := prefix
		if field == "" {
			field = "body"
		}
		out = append(out, derrors.FieldError{Field: field, Message: "does not match the contract"})
	}
	return out
}

// namedProperty finds the property in kin-openapi's "required" and "additionalProperties"
// reasons, which point at the enclosing object.
var namedProperty = regexp.MustCompile(`^property "([^"]+)" is (?:missing|unsupported)$`)

// jsonPath writes a JSON pointer as a dotted path with indexes: degrees[0].graduationYear.
func jsonPath(prefix string, pointer []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, p := range pointer {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
