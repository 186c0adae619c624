package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
)

// Sign-in through an OpenID Connect provider (internal/sso checks the protocol; this file
// decides who the person is here). A provider's identity is matched by issuer and subject,
// never by email; a new identity creates a user only where the provider's configuration
// allows it; the role comes from the provider's group mapping at every sign-in.

// ExternalIdentity is a person as a provider vouched for them in a verified ID token.
type ExternalIdentity struct {
	Provider string // the configured provider's id, for the audit trail
	Issuer   string
	Subject  string
	// Email is the provider's verified email ("" when it gave none or did not verify it);
	// used only to create a user.
	Email string
	// Role is what the provider's group mapping gives this person ("" for nothing).
	Role Role
	// Provision allows creating a user for an identity no user has.
	Provision bool
}

var (
	errNoRole        = derrors.New(derrors.Forbidden, "Your groups at the identity provider give you no role here.")
	errNotLinked     = derrors.New(derrors.Forbidden, "No account here is linked to this sign-in; ask an admin.")
	errNoEmail       = derrors.New(derrors.Forbidden, "The identity provider did not give a verified email, which a new account needs.")
	errEmailLinked   = derrors.New(derrors.Conflict, "An account with this email exists here but is not linked to this sign-in; ask an admin to link it.")
	errIdentityTaken = derrors.New(derrors.Conflict, "This provider identity is already linked to a user.")
	errExternalOff   = derrors.New(derrors.Forbidden, "This account is disabled.")
	errAlumniNoSSO   = derrors.New(derrors.Forbidden, "Alumni accounts sign in with their password.")
	errSSORequired   = derrors.New(derrors.Forbidden, "Office staff sign in through single sign-on.")
	errRoleNotMapped = errors.New("auth: a group mapping may not give the role alumnus")
)

// ValidateMappedRole returns an error unless r may come from a provider's group mapping:
// admin, staff or viewer (alumnus needs a linked record, which a provider cannot name).
func ValidateMappedRole(r Role) error {
	if r == RoleAlumnus || !r.Valid() {
		return fmt.Errorf("%w (or is not a role): %q", errRoleNotMapped, r)
	}
	return nil
}

// ResolveExternal returns the user (internal key) that id signs in as: the user linked to
// its issuer and subject, whose role is set to id.Role; or, with id.Provision, a new user
// with that role and id's email. It returns Forbidden when the mapping gives no role, when
// no user is linked and none may be created, for a disabled user and for an alumnus; and
// Conflict when a new user's email is taken (users are never matched by email) or when the
// mapping would demote the last enabled admin. Every
// outcome is audited.
func (s *Service) ResolveExternal(ctx context.Context, id ExternalIdentity) (_ int64, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	var key int64
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetUserByIdentity(ctx, db.GetUserByIdentityParams{Issuer: id.Issuer, Subject: id.Subject})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			key, err = s.provision(ctx, q, id, now)
			return err
		case err != nil:
			return fmt.Errorf("find identity: %w", err)
		}
		key = row.ID
		switch {
		case !row.Enabled:
			return errExternalOff
		case Role(row.Role) == RoleAlumnus:
			return errAlumniNoSSO
		case id.Role == "":
			return errNoRole
		}
		if err := q.TouchUserIdentity(ctx, db.TouchUserIdentityParams{LastLoginAt: &now, ID: row.IdentityID}); err != nil {
			return fmt.Errorf("touch identity: %w", err)
		}
		if Role(row.Role) == id.Role {
			return nil
		}
		if Role(row.Role) == RoleAdmin {
			// A mapping that demotes every admin (a group renamed at the provider, a typo in
			// the configuration) must not leave the service without one.
			if err := keepAnAdmin(ctx, q); err != nil {
				return err
			}
		}
		if err := q.SetUserRole(ctx, db.SetUserRoleParams{Role: string(id.Role), UpdatedAt: now, ID: row.ID}); err != nil {
			return fmt.Errorf("set role: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.update", EntityType: "user", EntityID: row.PublicID,
			Changes: []audit.Change{{Field: "role", Before: row.Role, After: string(id.Role)}, {Field: "roleSource", After: "sso:" + id.Provider}}}, now)
	})
	if err != nil && derrors.As(err) != nil && derrors.KindOf(err) != derrors.Unavailable {
		s.externalRefused(ctx, id, err, now)
	}
	return key, err
}

// externalRefused audits a refused sign-in through a provider (in its own transaction: the
// refusal rolled the other one back). A failure to audit is logged, the refusal stands.
func (s *Service) externalRefused(ctx context.Context, id ExternalIdentity, reason error, now time.Time) {
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		// The issuer and subject are the provider's opaque ids of the person, not secrets:
		// an admin who reads them here can link the person's account (LinkIdentity).
		return audit.Record(ctx, db.New(tx), audit.Event{Action: "session.login_failed", EntityType: "user",
			Changes: []audit.Change{{Field: "provider", After: id.Provider}, {Field: "issuer", After: id.Issuer},
				{Field: "subject", After: id.Subject}, {Field: "reason", After: derrors.As(reason).Detail}}}, now)
	})
	if err != nil {
		s.log.WarnContext(ctx, "audit of a refused single sign-on failed", "error", err.Error())
	}
}

// provision creates the user of a new identity, when id allows it.
func (s *Service) provision(ctx context.Context, q *db.Queries, id ExternalIdentity, now time.Time) (int64, error) {
	switch {
	case !id.Provision:
		return 0, errNotLinked
	case id.Role == "":
		return 0, errNoRole
	case id.Email == "":
		return 0, errNoEmail
	}
	if slices.Contains([]Role{RoleAlumnus, ""}, id.Role) {
		return 0, errNoRole
	}
	// The password is 256 random bits nobody is told: the account signs in through its
	// provider (or after a password reset).
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return 0, fmt.Errorf("make password: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(b))
	if err != nil {
		return 0, fmt.Errorf("hash password: %w", err)
	}
	u := User{ID: database.NewPublicID(now), Version: 1, Email: NormalizeEmail(id.Email), Role: id.Role, Enabled: true, CreatedAt: now, UpdatedAt: now}
	key, err := s.insertUser(ctx, q, u, hash)
	if derrors.KindOf(err) == derrors.Conflict {
		return 0, errEmailLinked
	}
	if err != nil {
		return 0, err
	}
	if err := q.CreateUserIdentity(ctx, db.CreateUserIdentityParams{UserID: key, Issuer: id.Issuer, Subject: id.Subject, CreatedAt: now, LastLoginAt: &now}); err != nil {
		return 0, fmt.Errorf("link identity: %w", err)
	}
	return key, nil
}

// OpenExternalSession opens a session for the user userKey, who signed in through provider
// (ResolveExternal): the same tokens as a password sign-in. A user disabled meanwhile gets
// Forbidden.
func (s *Service) OpenExternalSession(ctx context.Context, userKey int64, provider, clientIP string) (_ Tokens, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	var out Tokens
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetUserByID(ctx, userKey)
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		if !row.Enabled {
			return errExternalOff
		}
		out, err = s.completeSignIn(ctx, q, toUser(db.GetUserRow(row)), row.ID, clientIP, now, audit.Change{Field: "provider", After: provider})
		return err
	})
	return out, err
}

// LinkIdentity links the user with email to a provider identity (issuer and subject, as a
// refused sign-in's audit event shows them), so that the person signs in through the
// provider as this existing user (`alumnid user link-sso`). It returns NotFound for an
// unknown email and Conflict when the identity is linked already.
func (s *Service) LinkIdentity(ctx context.Context, email, issuer, subject string) (_ User, err error) {
	defer database.ClassifyErr(&err)
	if issuer == "" || subject == "" {
		return User{}, derrors.New(derrors.Invalid, "Name the identity's issuer and subject.")
	}
	row, err := db.New(s.db).GetUserByEmail(ctx, NormalizeEmail(email))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	now := s.timestamp()
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if err := q.CreateUserIdentity(ctx, db.CreateUserIdentityParams{UserID: row.ID, Issuer: issuer, Subject: subject, CreatedAt: now}); err != nil {
			if _, dup := database.DuplicateKey(err); dup {
				return errIdentityTaken
			}
			return fmt.Errorf("link identity: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.update", EntityType: "user", EntityID: row.PublicID,
			Changes: []audit.Change{{Field: "identity", After: issuer + " " + subject}}}, now)
	})
	if err != nil {
		return User{}, err
	}
	return toUser(db.GetUserRow(row)), nil
}
