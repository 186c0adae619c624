package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/password"
	"github.com/alumnid/alumnid/internal/token"
)

// Invite is an invitation for an alumnus to claim their record. Token is the secret, known
// only when the invitation is created.
type Invite struct {
	ID        string
	AlumnusID string
	Email     string
	Token     string
	ExpiresAt time.Time
}

var errNoAlumnus = derrors.New(derrors.NotFound, "No alumnus with this id.")

// errInviteInvalid is the one answer to an invitation that cannot be accepted, whatever the
// reason, so that its answer tells nothing about other accounts: its email may belong to
// another user, and whoever holds the invitation (the office member who made it, too) must
// not learn that.
var errInviteInvalid = derrors.New(derrors.Invalid,
	"The invitation cannot be accepted: it is unknown, used or expired, or its email cannot be used. Ask the alumni office for a new one.",
	derrors.FieldError{Field: "token", Message: "is not a valid invitation"})

var errAlreadyClaimed = derrors.New(derrors.Conflict, "A user is already linked to this record.",
	derrors.FieldError{Field: "alumnusId", Message: "is already claimed by a user"})

// CreateInvite invites the person of the live record alumnusID to claim it, at email or, when
// email is empty, at the record's own email. It returns NotFound, Invalid when there is no
// email to use, and Conflict when a user already has the record.
func (s *Service) CreateInvite(ctx context.Context, alumnusID, email string) (_ Invite, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	st, err := s.settings.Get(ctx)
	if err != nil {
		return Invite{}, err
	}
	secret, hash := token.NewOpaque()
	inv := Invite{ID: database.NewPublicID(now), AlumnusID: alumnusID, Token: secret, ExpiresAt: now.Add(st.InviteTTL())}
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		a, err := q.GetAlumnus(ctx, alumnusID)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoAlumnus
		}
		if err != nil {
			return fmt.Errorf("find alumnus: %w", err)
		}
		if _, err := q.GetUserByAlumnus(ctx, &a.ID); err == nil {
			return errAlreadyClaimed
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find user of alumnus: %w", err)
		}
		inv.Email = NormalizeEmail(email)
		if inv.Email == "" && a.Email != nil {
			inv.Email = *a.Email
		}
		if inv.Email == "" {
			return derrors.New(derrors.Invalid, "The record has no email; say where to send the invitation.",
				derrors.FieldError{Field: "email", Message: "is required when the record has no email"})
		}
		var createdBy *int64
		if actor := audit.ActorFrom(ctx); actor.UserID != "" {
			if key, err := q.GetUserIDByPublicID(ctx, actor.UserID); err == nil {
				createdBy = &key
			}
		}
		if err := q.CreateInvite(ctx, db.CreateInviteParams{
			PublicID: inv.ID, TokenHash: hash, AlumnusID: a.ID, Email: inv.Email, CreatedBy: createdBy,
			CreatedAt: now, ExpiresAt: inv.ExpiresAt,
		}); err != nil {
			return fmt.Errorf("create invite: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "invite.create", EntityType: "invite", EntityID: inv.ID,
			Changes: audit.Diff(nil, map[string]any{"alumnusId": alumnusID, "email": inv.Email, "expiresAt": inv.ExpiresAt})}, now)
	})
	if err != nil {
		return Invite{}, err
	}
	return inv, nil
}

// AcceptInvite creates the alumnus user of an invitation with pw and signs it in. Unknown,
// used and expired invitations, and those whose email another user holds, give the same
// Invalid error (and count as failures from clientIP, so they cannot be guessed or used to
// probe for accounts); a weak password gives Invalid, a record already claimed Conflict.
func (s *Service) AcceptInvite(ctx context.Context, secret, pw, clientIP string) (_ Tokens, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	const account = inviteAccount
	if err := s.checkThrottle(ctx, account, clientIP, now); err != nil {
		return Tokens{}, err
	}
	hash := token.HashOpaque(secret)
	inv, err := db.New(s.db).GetInvite(ctx, hash) // locked again below, after the slow password hash
	if err != nil || inv.AcceptedAt != nil || !now.Before(inv.ExpiresAt) || inv.AlumnusDeletedAt != nil {
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Tokens{}, fmt.Errorf("find invite: %w", err)
		}
		if err := countFailure(ctx, db.New(s.db), account, clientIP, now); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, errInviteInvalid
	}
	if err := password.Check("password", pw, inv.Email); err != nil {
		return Tokens{}, err
	}
	pwHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return Tokens{}, fmt.Errorf("hash password: %w", err)
	}
	u := User{ID: database.NewPublicID(now), Version: 1, Email: inv.Email, Role: RoleAlumnus, Enabled: true, AlumnusID: inv.AlumnusPublicID,
		CreatedAt: now, UpdatedAt: now, LastLoginAt: now}
	var out Tokens
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		locked, err := q.GetInviteForUpdate(ctx, hash)
		if err != nil || locked.AcceptedAt != nil {
			return errInviteInvalid
		}
		ctx := audit.WithActor(ctx, func() audit.Actor {
			a := audit.ActorFrom(ctx)
			a.UserID, a.Role = u.ID, string(u.Role)
			return a
		}())
		if _, err := q.GetUserByAlumnus(ctx, &locked.AlumnusID); err == nil {
			return errAlreadyClaimed
		}
		key, err := s.insertUser(ctx, q, u, pwHash)
		if err != nil {
			return err
		}
		if err := q.AcceptInvite(ctx, db.AcceptInviteParams{AcceptedAt: &now, ID: locked.ID}); err != nil {
			return fmt.Errorf("accept invite: %w", err)
		}
		if err := q.SetUserLastLogin(ctx, db.SetUserLastLoginParams{LastLoginAt: &now, ID: key}); err != nil {
			return fmt.Errorf("set last login: %w", err)
		}
		if err := audit.Record(ctx, q, audit.Event{Action: "invite.accept", EntityType: "invite", EntityID: locked.PublicID}, now); err != nil {
			return err
		}
		out, err = s.openSession(ctx, q, u, key, clientIP, now)
		return err
	})
	if errors.Is(err, errEmailTaken) {
		if err := countFailure(ctx, db.New(s.db), account, clientIP, now); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, errInviteInvalid
	}
	if err != nil {
		return Tokens{}, err
	}
	return out, nil
}

// DemoAlumnus returns the public id of a record listed in the directory, for the demo alumnus
// user, or Invalid when there is none (seed the database first).
func (s *Service) DemoAlumnus(ctx context.Context) (_ string, err error) {
	defer database.ClassifyErr(&err)
	id, err := db.New(s.db).FirstDirectoryAlumnus(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", derrors.New(derrors.Invalid, "No alumni in the directory yet; run `alumnid seed` first.")
	}
	if err != nil {
		return "", fmt.Errorf("find a directory alumnus: %w", err)
	}
	return id, nil
}
