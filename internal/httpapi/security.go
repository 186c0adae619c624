package httpapi

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/auth"
	"github.com/alumnid/alumnid/internal/derrors"
)

// guard decides who may call an operation, from the contract alone: an operation whose
// security requirement is empty is public; every other one needs a bearer token of a live
// session, and the caller's role must be listed in the operation's x-roles. This is the only
// place where operations are allowed or refused; object- and field-level rules live in the
// domain packages.
type guard struct {
	auth *auth.Service
	log  *slog.Logger
	// access is read from the contract once: who may call each operation.
	access map[*openapi3.Operation]access
}

// access is who may call one operation: anyone (public), or a signed-in caller whose role is
// one of roles.
type access struct {
	public bool
	roles  []string
}

// newGuard reads the access rules of every operation of doc.
func newGuard(doc *openapi3.T, svc *auth.Service, log *slog.Logger) *guard {
	g := &guard{auth: svc, log: log, access: map[*openapi3.Operation]access{}}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			a := access{public: len(security) == 0}
			list, _ := op.Extensions["x-roles"].([]any)
			for _, r := range list {
				a.roles = append(a.roles, fmt.Sprint(r))
			}
			g.access[op] = a
		}
	}
	return g
}

var errForbidden = derrors.New(derrors.Forbidden, "Your role may not use this operation.")

// admit authenticates the caller of op and checks its role. On success the request's context
// carries the caller (auth.PrincipalFrom) and the audit actor.
func (g *guard) admit(c echo.Context, op *openapi3.Operation) error {
	req := c.Request()
	rules, known := g.access[op]
	if known && rules.public {
		return nil
	}
	raw, ok := bearerToken(req.Header.Get(echo.HeaderAuthorization))
	if !ok {
		return auth.ErrUnauthenticated
	}
	p, err := g.auth.Authenticate(req.Context(), raw)
	if err != nil {
		if derrors.KindOf(err) == derrors.Unauthenticated {
			// The reason (expired, revoked, bad signature...) is for operators, never the client.
			g.log.LogAttrs(req.Context(), slog.LevelInfo, "token refused",
				slog.String("request_id", requestID(req.Context())), slog.String("reason", err.Error()))
		}
		return err
	}
	ctx := auth.WithPrincipal(req.Context(), p)
	actor := audit.ActorFrom(ctx)
	actor.UserID, actor.Role = p.UserID, string(p.Role)
	ctx = audit.WithActor(ctx, actor)
	c.SetRequest(req.WithContext(ctx))
	if !slices.Contains(rules.roles, string(p.Role)) {
		return errForbidden
	}
	return nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header (the scheme is
// case-insensitive, RFC 9110 11.1).
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// withActor puts the request id and client address in the context for the audit trail.
func withActor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		ctx := audit.WithActor(req.Context(), audit.Actor{RequestID: requestID(req.Context()), ClientIP: c.RealIP()})
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}
