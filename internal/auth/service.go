package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/go-webauthn/webauthn/webauthn"
	"golang.org/x/text/unicode/norm"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/password"
	"github.com/alumnid/alumnid/internal/settings"
	"github.com/alumnid/alumnid/internal/token"
)

// Service signs people in and manages their accounts.
type Service struct {
	db       *sql.DB
	tokens   *token.Authority
	hasher   *password.Hasher
	settings *settings.Store
	log      *slog.Logger
	now      func() time.Time
	// sealer seals TOTP secrets at rest (UseTOTPKeys).
	sealer *sealer
	// webauthn is the passkeys' relying party (UsePasskeys; nil: passkeys are off).
	webauthn *webauthn.WebAuthn
}

// New returns a Service on sqlDB that signs tokens with tokens and hashes passwords with
// hasher. log receives security events (refresh-token reuse); it never gets secrets.
func New(sqlDB *sql.DB, tokens *token.Authority, hasher *password.Hasher, st *settings.Store, log *slog.Logger) *Service {
	return &Service{db: sqlDB, tokens: tokens, hasher: hasher, settings: st, log: log, now: time.Now, sealer: &sealer{}}
}

func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// NormalizeEmail is the form in which emails are stored and compared.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFC.String(email)))
}

// Failures shown to callers. They say as little as possible on purpose.
var (
	// ErrUnauthenticated is the one answer to every bad, expired or revoked token.
	ErrUnauthenticated = derrors.New(derrors.Unauthenticated, "Sign in to use this operation.")
	errBadCredentials  = derrors.New(derrors.Unauthenticated, "The email or password is not correct.")
	errBadRefresh      = derrors.New(derrors.Unauthenticated, "The refresh token is not valid; sign in again.")
)

// Tokens are what a sign-in or refresh returns.
type Tokens struct {
	AccessToken      string
	ExpiresIn        time.Duration
	RefreshToken     string
	RefreshExpiresAt time.Time
	User             User
	// RecoveryCodes are set when this sign-in turned a second factor on: shown once.
	RecoveryCodes []string
}

// Authenticate checks an access token and that its session is still open, and returns the
// caller. Every failure is ErrUnauthenticated (wrapping the reason, for logs). The session
// check is one primary-key query, so that logout and revocation take effect at once on every
// replica.
func (s *Service) Authenticate(ctx context.Context, raw string) (_ Principal, err error) {
	defer database.ClassifyErr(&err)
	now := s.now()
	claims, err := s.tokens.Verify(raw, now)
	if err != nil {
		return Principal{}, fmt.Errorf("%w (%w)", ErrUnauthenticated, err)
	}
	row, err := db.New(s.db).GetSessionAuth(ctx, claims.SessionID)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, fmt.Errorf("%w (no such session)", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("check session: %w", err)
	}
	switch {
	case row.EndedAt != nil:
		return Principal{}, fmt.Errorf("%w (session ended)", ErrUnauthenticated)
	case !now.Before(row.ExpiresAt):
		return Principal{}, fmt.Errorf("%w (session expired)", ErrUnauthenticated)
	case !row.Enabled:
		return Principal{}, fmt.Errorf("%w (user disabled)", ErrUnauthenticated)
	case row.UserPublicID != claims.Subject || row.Role != claims.Role:
		return Principal{}, fmt.Errorf("%w (token does not match its session)", ErrUnauthenticated)
	case claims.ExpiresAt.Sub(claims.IssuedAt) > accessTokenTTL(row.AccessTokenMinutes):
		// Tokens are issued for the configured lifetime; one claiming more was not issued by
		// this service as it is configured now (a leaked key, or a lifetime since shortened).
		return Principal{}, fmt.Errorf("%w (token lifetime longer than configured)", ErrUnauthenticated)
	}
	p := Principal{
		UserID: row.UserPublicID, Role: Role(row.Role), SessionID: claims.SessionID, TokenExpiresAt: claims.ExpiresAt,
		sessionKey: row.ID, userKey: row.UserID,
	}
	if row.AlumnusPublicID != nil {
		p.AlumnusID = *row.AlumnusPublicID
	}
	return p, nil
}

// accessTokenTTL is the access-token lifetime stored in the settings (raw: its JSON value;
// none or unreadable: the default).
func accessTokenTTL(raw json.RawMessage) time.Duration {
	var minutes int
	if json.Unmarshal(raw, &minutes) != nil || minutes <= 0 {
		minutes = settings.Defaults().AccessTokenMinutes
	}
	return settings.Settings{AccessTokenMinutes: minutes}.AccessTokenTTL()
}

// Login checks an email and password and opens a session, or, for a user with a second
// factor (or an admin who must set one up), returns the challenge of the second step
// (CompleteLogin). An unknown email, a wrong password and a disabled account all get the same
// Unauthenticated error after the same work (one password hash and the same writes). Too many
// failures give a Throttled error before any password is checked.
func (s *Service) Login(ctx context.Context, email, pw, clientIP string) (_ SignIn, err error) {
	defer database.ClassifyErr(&err)
	email = NormalizeEmail(email)
	now := s.timestamp()
	if err := s.admit(ctx, email, clientIP, now); err != nil {
		return SignIn{}, err
	}
	out, err := s.login(ctx, email, pw, clientIP, now)
	switch {
	case err == nil:
		s.settle(ctx, email, clientIP, now, attemptRight)
	case errors.Is(err, errBadCredentials):
		s.settle(ctx, email, clientIP, now, attemptWrong)
	default:
		s.settle(ctx, email, clientIP, now, attemptUnjudged)
	}
	return out, err
}

// login is Login once the attempt is admitted by the throttle.
func (s *Service) login(ctx context.Context, email, pw, clientIP string, now time.Time) (SignIn, error) {
	row, err := db.New(s.db).GetUserByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return SignIn{}, fmt.Errorf("find user: %w", err)
	}
	ok := false
	if found {
		ok, err = s.hasher.Verify(ctx, pw, row.PasswordHash)
		if err != nil {
			return SignIn{}, fmt.Errorf("verify password: %w", err)
		}
	} else {
		s.hasher.VerifyDummy(ctx, pw)
	}
	if !ok || !row.Enabled {
		err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
			q := db.New(tx)
			ev := audit.Event{Action: "session.login_failed", EntityType: "user",
				Changes: []audit.Change{{Field: "email", After: email}}}
			if found {
				ev.EntityID = row.PublicID
			}
			return audit.Record(ctx, q, ev, now)
		})
		if err != nil {
			return SignIn{}, err
		}
		return SignIn{}, errBadCredentials
	}
	u := toUser(db.GetUserRow(row))
	var out SignIn
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if err := s.checkLocalSignIn(ctx, u.Role); err != nil {
			return err
		}
		next, factors, err := s.secondStep(ctx, q, row.ID, u.Role)
		if err != nil {
			return err
		}
		if next != "" {
			out.Challenge, err = newChallenge(ctx, q, row.ID, u, next, factors, now)
			return err
		}
		out.Tokens, err = s.completeSignIn(ctx, q, u, row.ID, clientIP, now)
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	if s.hasher.NeedsRehash(row.PasswordHash) {
		s.rehash(ctx, row.ID, pw)
	}
	return out, nil
}

// rehash stores the password again with the current parameters; a failure only costs the
// upgrade, so it is logged and not returned.
func (s *Service) rehash(ctx context.Context, userKey int64, pw string) {
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = db.New(s.db).SetUserPasswordHash(ctx, db.SetUserPasswordHashParams{PasswordHash: h, ID: userKey})
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", slog.String("error", err.Error()))
	}
}

// completeSignIn ends a sign-in of u (internal key userKey) that has passed every check: it
// records the time, opens the session and audits the sign-in, with how it was made (changes:
// the second factor used, the provider), in the caller's transaction.
func (s *Service) completeSignIn(ctx context.Context, q *db.Queries, u User, userKey int64, clientIP string, now time.Time, changes ...audit.Change) (Tokens, error) {
	if err := q.SetUserLastLogin(ctx, db.SetUserLastLoginParams{LastLoginAt: &now, ID: userKey}); err != nil {
		return Tokens{}, fmt.Errorf("set last login: %w", err)
	}
	u.LastLoginAt = now
	out, err := s.openSession(ctx, q, u, userKey, clientIP, now)
	if err != nil {
		return Tokens{}, err
	}
	return out, audit.Record(ctx, q, audit.Event{
		Action: "session.login", EntityType: "user", EntityID: u.ID,
		Actor: &audit.Actor{UserID: u.ID, Role: string(u.Role)}, Changes: changes,
	}, now)
}

// openSession creates a session for u with its first refresh token and signs an access token.
func (s *Service) openSession(ctx context.Context, q *db.Queries, u User, userKey int64, clientIP string, now time.Time) (Tokens, error) {
	st, err := s.settings.Get(ctx)
	if err != nil {
		return Tokens{}, err
	}
	sid := database.NewPublicID(now)
	absolute := now.Add(st.RefreshAbsoluteTTL())
	idle := minTime(now.Add(st.RefreshIdleTTL()), absolute)
	res, err := q.CreateSession(ctx, db.CreateSessionParams{
		PublicID: sid, UserID: userKey, CreatedAt: now, RefreshedAt: now,
		IdleExpiresAt: idle, ExpiresAt: absolute, ClientIp: ptr.NonZero(clientIP),
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("create session: %w", err)
	}
	sessionKey, err := res.LastInsertId()
	if err != nil {
		return Tokens{}, fmt.Errorf("read session id: %w", err)
	}
	return s.issue(ctx, q, u, sid, sessionKey, idle, st, now)
}

// issue gives session sid a new refresh token and signs an access token for it.
func (s *Service) issue(ctx context.Context, q *db.Queries, u User, sid string, sessionKey int64, refreshExpires time.Time, st settings.Settings, now time.Time) (Tokens, error) {
	refresh, hash := token.NewOpaque()
	if err := q.CreateRefreshToken(ctx, db.CreateRefreshTokenParams{TokenHash: hash, SessionID: sessionKey, IssuedAt: now}); err != nil {
		return Tokens{}, fmt.Errorf("store refresh token: %w", err)
	}
	ttl := st.AccessTokenTTL()
	access, err := s.tokens.Issue(token.Claims{
		Subject: u.ID, SessionID: sid, Role: string(u.Role), IssuedAt: now, ExpiresAt: now.Add(ttl),
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("sign access token: %w", err)
	}
	return Tokens{AccessToken: access, ExpiresIn: ttl, RefreshToken: refresh, RefreshExpiresAt: refreshExpires, User: u}, nil
}

// Refresh exchanges a refresh token for new tokens. Each refresh token works once: a second
// use ends the session (the token was copied; whoever holds the session's other tokens loses
// them too) and is logged and audited. An unknown, used or expired token, an ended session
// or a disabled user give Unauthenticated.
func (s *Service) Refresh(ctx context.Context, refresh, clientIP string) (_ Tokens, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	hash := token.HashOpaque(refresh)
	var out Tokens
	reused := false
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		rt, err := q.GetRefreshTokenForUpdate(ctx, hash)
		if errors.Is(err, sql.ErrNoRows) {
			return errBadRefresh
		}
		if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		sess, err := q.GetSessionForUpdate(ctx, rt.SessionID)
		if err != nil {
			return fmt.Errorf("lock session: %w", err)
		}
		userRow, err := q.GetUserByID(ctx, sess.UserID)
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		u := toUser(db.GetUserRow(userRow))
		if rt.UsedAt != nil {
			reused = true
			if sess.EndedAt != nil {
				return nil
			}
			if _, err := q.EndSession(ctx, db.EndSessionParams{EndedAt: &now, EndReason: ptr.NonZero("refresh_reuse"), ID: sess.ID}); err != nil {
				return fmt.Errorf("end session: %w", err)
			}
			s.log.WarnContext(ctx, "refresh token reused; session ended",
				slog.String("session_id", sess.PublicID), slog.String("user_id", u.ID), slog.String("client_ip", clientIP))
			return audit.Record(ctx, q, audit.Event{
				Action: "session.refresh_reuse", EntityType: "session", EntityID: sess.PublicID,
				Actor: &audit.Actor{UserID: u.ID, Role: string(u.Role)},
			}, now)
		}
		if sess.EndedAt != nil || !now.Before(sess.IdleExpiresAt) || !now.Before(sess.ExpiresAt) || !u.Enabled {
			return errBadRefresh
		}
		st, err := s.settings.Get(ctx)
		if err != nil {
			return err
		}
		if err := q.UseRefreshToken(ctx, db.UseRefreshTokenParams{UsedAt: &now, TokenHash: hash}); err != nil {
			return fmt.Errorf("use refresh token: %w", err)
		}
		idle := minTime(now.Add(st.RefreshIdleTTL()), sess.ExpiresAt)
		if err := q.TouchSession(ctx, db.TouchSessionParams{RefreshedAt: now, IdleExpiresAt: idle, ID: sess.ID}); err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
		out, err = s.issue(ctx, q, u, sess.PublicID, sess.ID, idle, st, now)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if reused {
		return Tokens{}, errBadRefresh
	}
	return out, nil
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, p Principal) (err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if _, err := q.EndSession(ctx, db.EndSessionParams{EndedAt: &now, EndReason: ptr.NonZero("logout"), ID: p.sessionKey}); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "session.logout", EntityType: "session", EntityID: p.SessionID}, now)
	})
}

// Me returns the caller's account and session end.
func (s *Service) Me(ctx context.Context, p Principal) (_ User, _ time.Time, err error) {
	defer database.ClassifyErr(&err)
	q := db.New(s.db)
	row, err := q.GetUser(ctx, p.UserID)
	if err != nil {
		return User{}, time.Time{}, fmt.Errorf("find user: %w", err)
	}
	sess, err := q.GetSession(ctx, p.sessionKey)
	if err != nil {
		return User{}, time.Time{}, fmt.Errorf("find session: %w", err)
	}
	return toUser(row), sess.ExpiresAt, nil
}

var errWrongPassword = derrors.New(derrors.Invalid, "The current password is not correct.",
	derrors.FieldError{Field: "currentPassword", Message: "is not correct"})

// ChangePassword sets the caller's password after checking the current one, and ends every
// other session of the user. Wrong current passwords count towards sign-in throttling.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next, clientIP string) (err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	row, err := db.New(s.db).GetUser(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("find user: %w", err)
	}
	if err := s.admit(ctx, row.Email, clientIP, now); err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, current, row.PasswordHash)
	if err != nil {
		s.settle(ctx, row.Email, clientIP, now, attemptUnjudged)
		return fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		s.settle(ctx, row.Email, clientIP, now, attemptWrong)
		return errWrongPassword
	}
	s.settle(ctx, row.Email, clientIP, now, attemptUnjudged)
	if err := password.Check("newPassword", next, row.Email); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if err := q.SetUserPassword(ctx, db.SetUserPasswordParams{PasswordHash: hash, PasswordChangedAt: now, UpdatedAt: now, ID: row.ID}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := q.EndOtherUserSessions(ctx, db.EndOtherUserSessionsParams{EndedAt: &now, EndReason: ptr.NonZero("password_change"), UserID: row.ID, ID: p.sessionKey}); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.password_change", EntityType: "user", EntityID: row.PublicID,
			Changes: []audit.Change{{Field: "password"}}}, now)
	})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// checkLocalSignIn refuses a sign-in without the identity provider (a password, a passkey
// alone) to office roles while the setting staffRequireSso is on.
func (s *Service) checkLocalSignIn(ctx context.Context, role Role) error {
	if !role.Office() {
		return nil
	}
	st, err := s.settings.Get(ctx)
	if err != nil {
		return err
	}
	if st.StaffRequireSso {
		return errSSORequired
	}
	return nil
}
