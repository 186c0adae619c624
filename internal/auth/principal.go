// Package auth signs people in and keeps their accounts: users and roles, sessions with
// access and rotating refresh tokens, sign-in throttling, and invitations for alumni to claim
// their record.
package auth

import (
	"context"
	"time"
)

// Role is what a user may do; the contract lists the roles of each operation in x-roles.
type Role string

// The roles.
const (
	RoleAdmin   Role = "admin"
	RoleStaff   Role = "staff"
	RoleViewer  Role = "viewer"
	RoleAlumnus Role = "alumnus"
)

// Roles are all roles, most powerful first.
var Roles = []Role{RoleAdmin, RoleStaff, RoleViewer, RoleAlumnus}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleStaff, RoleViewer, RoleAlumnus:
		return true
	}
	return false
}

// Office reports whether r works in the alumni office and so may read every field of every
// record.
func (r Role) Office() bool { return r == RoleAdmin || r == RoleStaff }

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID    string // public id
	Role      Role
	SessionID string // public id
	// AlumnusID is the public id of the caller's own alumni record, for role alumnus.
	AlumnusID string
	// TokenExpiresAt is when the access token that authenticated the caller expires (zero
	// when not authenticated by a token).
	TokenExpiresAt time.Time

	sessionKey int64
	userKey    int64
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller in ctx; ok is false for anonymous requests.
func PrincipalFrom(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(Principal)
	return p, ok
}
