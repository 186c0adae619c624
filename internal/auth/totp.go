package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/ptr"
	"github.com/alumnid/alumnid/internal/token"
)

// The TOTP second factor (RFC 6238: HMAC-SHA-1, six digits, 30-second steps, as every
// authenticator app reads them). A sign-in of a user who has one is two steps: the password
// gives a challenge (a row of login_challenges, so any replica can take the second step), and
// a code or a recovery code with the challenge opens the session. Codes are checked one step
// either side of now (clock drift), and only for steps after the last one accepted
// (user_totp.last_step), so a code is never accepted twice. Wrong codes count in the same
// throttle as wrong passwords, under the account "totp:<user id>".
const (
	totpPeriod        = 30 // seconds
	totpSkew          = 1  // steps either side of now
	challengeTTL      = 5 * time.Minute
	challengeFailures = 5 // wrong codes that end a challenge
	recoveryCodeCount = 10
)

// What the next step of a sign-in is (Challenge.Next).
const (
	NextTOTP  = "totp"  // send a code or a recovery code
	NextEnrol = "enrol" // set up a second factor first (it is required and missing)
)

// Challenge is a sign-in waiting for its second step.
type Challenge struct {
	Token     string // handed out once; only its hash is stored
	Next      string // NextTOTP (a second factor is due) or NextEnrol
	ExpiresAt time.Time
	// Factors are the second factors the user may answer with (FactorTOTP, FactorPasskey).
	Factors []string
}

// SignIn is what a right password gives: the session's tokens, or (Challenge not nil) the
// challenge of the second step.
type SignIn struct {
	Tokens    Tokens
	Challenge *Challenge
}

// Enrolment is a new TOTP secret waiting for its first code.
type Enrolment struct {
	Secret string // base32
	URI    string // otpauth://totp/...
}

// TOTPStatus is a user's second factor as shown to them.
type TOTPStatus struct {
	Enabled           bool
	EnabledAt         time.Time
	RecoveryCodesLeft int
	// Required: the user may not be without one (an admin while adminsRequireTotp is on).
	Required bool
}

var (
	errBadChallenge = derrors.New(derrors.Unauthenticated, "The sign-in has expired or was already finished; sign in again.")
	errWrongCode    = derrors.New(derrors.Unauthenticated, "The code is not correct.")
	errWrongField   = derrors.New(derrors.Invalid, "The code is not correct.", derrors.FieldError{Field: "code", Message: "is not correct, or was already used"})
	errOneAnswer    = derrors.New(derrors.Invalid, "Send either code or recoveryCode.",
		derrors.FieldError{Field: "code", Message: "send either code or recoveryCode, not both or neither"})
	errEnrolFirst = derrors.New(derrors.Invalid, "Set up the second factor first (POST /api/v1/auth/login/totp-enrolment), then send its code.",
		derrors.FieldError{Field: "code", Message: "no second factor is being set up"})
	errRecoveryForEnrol = derrors.New(derrors.Invalid, "A recovery code cannot set up a second factor; send a code of the new secret.",
		derrors.FieldError{Field: "recoveryCode", Message: "not accepted while setting up a second factor"})
	errTOTPOn        = derrors.New(derrors.Conflict, "A second factor is already on; turn it off first to set up another.")
	errNoPending     = derrors.New(derrors.Conflict, "No second factor is waiting for its first code; start with POST /api/v1/auth/totp.")
	errTOTPOff       = derrors.New(derrors.Conflict, "No second factor is on.")
	errAdminMustKeep = derrors.New(derrors.Conflict, "Admins must keep a second factor while the adminsRequireTotp setting is on.")
)

// UseTOTPKeys sets the keys that seal TOTP secrets at rest (ParseTOTPKeys), oldest first;
// none stores them unsealed.
func (s *Service) UseTOTPKeys(keys [][]byte) error {
	sl, err := newSealer(keys)
	if err != nil {
		return err
	}
	s.sealer = sl
	return nil
}

// totpAccount is the throttle account of a user's codes.
func totpAccount(userPublicID string) string { return "totp:" + userPublicID }

// checkCode returns the time step whose code is code, among the steps around now that come
// after last; ok is false for a wrong code and for the code of a step already used.
func checkCode(secret, code string, now time.Time, last int64) (step int64, ok bool) {
	cur := now.Unix() / totpPeriod
	for st := cur - totpSkew; st <= cur+totpSkew; st++ {
		if st <= last {
			continue
		}
		want, err := totpCodeAt(secret, st)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return st, true
		}
	}
	return 0, false
}

// totpCodeAt is the code of secret for time step step.
func totpCodeAt(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}) //nolint:gosec // steps since 1970 are positive
}

// normalizeRecoveryCode drops what people add or mistype when copying a code: dashes,
// spaces, case, and the letters Crockford's base32 reads as digits (o → 0, i and l → 1).
func normalizeRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ':
			return -1
		case 'o':
			return '0'
		case 'i', 'l':
			return '1'
		}
		return r
	}, strings.ToLower(code))
}

func recoveryHash(userPublicID, code string) []byte {
	sum := sha256.Sum256([]byte("alumnid recovery\x00" + userPublicID + "\x00" + normalizeRecoveryCode(code)))
	return sum[:]
}

// recoveryEncoding is Crockford's base32 in lower case: no i, l, o or u to misread.
var recoveryEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newRecoveryCodes stores recoveryCodeCount new codes for the user (replacing any) and
// returns them as shown: 120 random bits as 24 characters in four groups. At 112 bits and
// more a lookup secret may be stored with a fast hash (ASVS 5.0 V6.5); a slow one would cost
// ten password hashes per attempt.
func newRecoveryCodes(ctx context.Context, q *db.Queries, userKey int64, userPublicID string, now time.Time) ([]string, error) {
	if err := q.DeleteRecoveryCodes(ctx, userKey); err != nil {
		return nil, fmt.Errorf("delete recovery codes: %w", err)
	}
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("make recovery code: %w", err)
		}
		c := recoveryEncoding.EncodeToString(b)
		codes[i] = c[:6] + "-" + c[6:12] + "-" + c[12:18] + "-" + c[18:]
		if err := q.CreateRecoveryCode(ctx, db.CreateRecoveryCodeParams{UserID: userKey, CodeHash: recoveryHash(userPublicID, codes[i]), CreatedAt: now}); err != nil {
			return nil, fmt.Errorf("store recovery code: %w", err)
		}
	}
	return codes, nil
}

// secondStep returns what a user with a right password must do before a session opens:
// NextTOTP (answer with one of factors: a TOTP code, a passkey), NextEnrol or "" (nothing).
func (s *Service) secondStep(ctx context.Context, q *db.Queries, userKey int64, role Role) (next string, factors []string, err error) {
	factors, err = userFactors(ctx, q, userKey)
	if err != nil {
		return "", nil, err
	}
	if len(factors) > 0 {
		return NextTOTP, factors, nil
	}
	required, err := s.totpRequired(ctx, role)
	if err != nil || !required {
		return "", nil, err
	}
	return NextEnrol, []string{FactorTOTP}, nil
}

// totpRequired reports whether a user of role must have a second factor.
func (s *Service) totpRequired(ctx context.Context, role Role) (bool, error) {
	if role != RoleAdmin {
		return false, nil
	}
	st, err := s.settings.Get(ctx)
	if err != nil {
		return false, err
	}
	return st.AdminsRequireTotp, nil
}

// newChallenge stores a challenge for the user's second step and audits that one is due.
func newChallenge(ctx context.Context, q *db.Queries, userKey int64, u User, next string, factors []string, now time.Time) (*Challenge, error) {
	raw, hash := token.NewOpaque()
	ch := &Challenge{Token: raw, Next: next, ExpiresAt: now.Add(challengeTTL), Factors: factors}
	if err := q.CreateLoginChallenge(ctx, db.CreateLoginChallengeParams{
		TokenHash: hash, UserID: userKey, Purpose: next, CreatedAt: now, ExpiresAt: ch.ExpiresAt,
	}); err != nil {
		return nil, fmt.Errorf("store sign-in challenge: %w", err)
	}
	err := audit.Record(ctx, q, audit.Event{
		Action: "session.second_factor_due", EntityType: "user", EntityID: u.ID,
		Actor:   &audit.Actor{UserID: u.ID, Role: string(u.Role)},
		Changes: []audit.Change{{Field: "next", After: next}},
	}, now)
	return ch, err
}

// findChallenge returns the live challenge whose token is raw, or errBadChallenge.
func findChallenge(ctx context.Context, q *db.Queries, raw string, now time.Time) (db.GetLoginChallengeRow, error) {
	ch, err := q.GetLoginChallenge(ctx, db.GetLoginChallengeParams{TokenHash: token.HashOpaque(raw), Now: now, MaxFailures: challengeFailures})
	if errors.Is(err, sql.ErrNoRows) {
		return ch, errBadChallenge
	}
	if err != nil {
		return ch, fmt.Errorf("find sign-in challenge: %w", err)
	}
	if !ch.Enabled {
		return ch, errBadChallenge
	}
	return ch, nil
}

// CompleteLogin is the second step of a sign-in: the challenge with a TOTP code or (exactly
// one of them) a recovery code. It opens the session; for an enrolment challenge, the code
// turns the new second factor on and the tokens carry the recovery codes. An unknown, used
// or expired challenge and a wrong, replayed or spent code give Unauthenticated; too many
// wrong codes give Throttled, as wrong passwords do.
func (s *Service) CompleteLogin(ctx context.Context, challenge, code, recoveryCode, clientIP string) (_ Tokens, err error) {
	defer database.ClassifyErr(&err)
	if (code == "") == (recoveryCode == "") {
		return Tokens{}, errOneAnswer
	}
	now := s.timestamp()
	ch, err := findChallenge(ctx, db.New(s.db), challenge, now)
	if err != nil {
		return Tokens{}, err
	}
	if ch.Purpose == NextEnrol && recoveryCode != "" {
		return Tokens{}, errRecoveryForEnrol
	}
	account := totpAccount(ch.UserPublicID)
	if err := s.admit(ctx, account, clientIP, now); err != nil {
		return Tokens{}, err
	}
	out, err := s.completeLogin(ctx, ch, code, recoveryCode, clientIP, now)
	switch {
	case err == nil:
		s.settle(ctx, account, clientIP, now, attemptRight)
	case errors.Is(err, errWrongCode):
		s.settle(ctx, account, clientIP, now, attemptWrong)
		if ferr := s.codeFailed(ctx, ch.UserPublicID, &ch.ID, now); ferr != nil {
			return Tokens{}, ferr
		}
	default:
		s.settle(ctx, account, clientIP, now, attemptUnjudged)
	}
	return out, err
}

// codeFailed counts a wrong code against the challenge (challengeKey, if any) and audits it.
func (s *Service) codeFailed(ctx context.Context, userPublicID string, challengeKey *int64, now time.Time) error {
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if challengeKey != nil {
			if err := q.FailLoginChallenge(ctx, *challengeKey); err != nil {
				return fmt.Errorf("count wrong code: %w", err)
			}
		}
		return audit.Record(ctx, q, audit.Event{Action: "session.second_factor_failed", EntityType: "user", EntityID: userPublicID}, now)
	})
}

func (s *Service) completeLogin(ctx context.Context, ch db.GetLoginChallengeRow, code, recoveryCode, clientIP string, now time.Time) (Tokens, error) {
	var out Tokens
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		factor, err := q.GetUserTOTPForUpdate(ctx, ch.UserID) // one answer at a time per user
		if errors.Is(err, sql.ErrNoRows) {
			if ch.Purpose == NextEnrol {
				return errEnrolFirst
			}
			return errBadChallenge // turned off meanwhile
		}
		if err != nil {
			return fmt.Errorf("read second factor: %w", err)
		}
		used := "totp"
		var recovery []string
		switch {
		case recoveryCode != "":
			if factor.ConfirmedAt == nil {
				return errBadChallenge
			}
			n, err := q.UseRecoveryCode(ctx, db.UseRecoveryCodeParams{UsedAt: &now, UserID: ch.UserID, CodeHash: recoveryHash(ch.UserPublicID, recoveryCode)})
			if err != nil {
				return fmt.Errorf("use recovery code: %w", err)
			}
			if n != 1 {
				return errWrongCode
			}
			used = "recovery_code"
		default:
			if ch.Purpose == NextTOTP && factor.ConfirmedAt == nil {
				return errBadChallenge
			}
			if err := s.useCode(ctx, q, factor, code, now, errWrongCode); err != nil {
				return err
			}
			if factor.ConfirmedAt == nil {
				if recovery, err = s.enable(ctx, q, ch.UserID, ch.UserPublicID, now); err != nil {
					return err
				}
			}
		}
		if n, err := q.UseLoginChallenge(ctx, db.UseLoginChallengeParams{UsedAt: &now, ID: ch.ID}); err != nil || n != 1 {
			if err != nil {
				return fmt.Errorf("use sign-in challenge: %w", err)
			}
			return errBadChallenge
		}
		row, err := q.GetUserByID(ctx, ch.UserID)
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		if !row.Enabled {
			return errBadChallenge
		}
		out, err = s.completeSignIn(ctx, q, toUser(db.GetUserRow(row)), row.ID, clientIP, now, audit.Change{Field: "secondFactor", After: used})
		out.RecoveryCodes = recovery
		return err
	})
	return out, err
}

// useCode accepts code for factor (locked by the caller's transaction) and records its time
// step, or returns wrong: for a wrong code and for a code of a step already used.
func (s *Service) useCode(ctx context.Context, q *db.Queries, factor db.UserTotp, code string, now time.Time, wrong error) error {
	secret, err := s.sealer.open(factor.Secret, factor.UserID)
	if err != nil {
		return err
	}
	step, ok := checkCode(secret, code, now, factor.LastStep)
	if !ok {
		return wrong
	}
	n, err := q.UseTOTPStep(ctx, db.UseTOTPStepParams{Step: step, UserID: factor.UserID})
	if err != nil {
		return fmt.Errorf("record code step: %w", err)
	}
	if n != 1 {
		return wrong
	}
	return nil
}

// enable confirms the user's pending factor, makes its recovery codes and audits it.
func (s *Service) enable(ctx context.Context, q *db.Queries, userKey int64, userPublicID string, now time.Time) ([]string, error) {
	if _, err := q.ConfirmTOTP(ctx, db.ConfirmTOTPParams{ConfirmedAt: &now, UserID: userKey}); err != nil {
		return nil, fmt.Errorf("confirm second factor: %w", err)
	}
	codes, err := newRecoveryCodes(ctx, q, userKey, userPublicID, now)
	if err != nil {
		return nil, err
	}
	return codes, audit.Record(ctx, q, audit.Event{Action: "user.totp_enable", EntityType: "user", EntityID: userPublicID}, now)
}

// StartLoginEnrolment gives the user of an enrolment challenge a new TOTP secret. Any other
// challenge, and an unknown, used or expired one, gives Unauthenticated.
func (s *Service) StartLoginEnrolment(ctx context.Context, challenge string) (_ Enrolment, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	ch, err := findChallenge(ctx, db.New(s.db), challenge, now)
	if err != nil {
		return Enrolment{}, err
	}
	if ch.Purpose != NextEnrol {
		return Enrolment{}, errBadChallenge
	}
	return s.startTOTP(ctx, ch.UserID, now)
}

// StartTOTP gives the caller a new TOTP secret to confirm with ConfirmTOTP. It returns
// Conflict when the caller already has a second factor on.
func (s *Service) StartTOTP(ctx context.Context, p Principal) (_ Enrolment, err error) {
	defer database.ClassifyErr(&err)
	return s.startTOTP(ctx, p.userKey, s.timestamp())
}

func (s *Service) startTOTP(ctx context.Context, userKey int64, now time.Time) (Enrolment, error) {
	st, err := s.settings.Get(ctx)
	if err != nil {
		return Enrolment{}, err
	}
	var out Enrolment
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetUserByID(ctx, userKey)
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		cur, err := q.GetUserTOTPForUpdate(ctx, userKey)
		if err == nil && cur.ConfirmedAt != nil {
			return errTOTPOn
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read second factor: %w", err)
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: st.OrganizationName, AccountName: row.Email, Period: totpPeriod,
			Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return fmt.Errorf("make TOTP secret: %w", err)
		}
		sealed, err := s.sealer.seal(key.Secret(), userKey)
		if err != nil {
			return err
		}
		if err := q.PutPendingTOTP(ctx, db.PutPendingTOTPParams{UserID: userKey, Secret: sealed, CreatedAt: now}); err != nil {
			return fmt.Errorf("store TOTP secret: %w", err)
		}
		out = Enrolment{Secret: key.Secret(), URI: key.URL()}
		return audit.Record(ctx, q, audit.Event{Action: "user.totp_enrol", EntityType: "user", EntityID: row.PublicID}, now)
	})
	return out, err
}

// ConfirmTOTP turns the caller's pending second factor on with a code of its secret and
// returns the recovery codes. A wrong code gives Invalid (and counts in the sign-in
// throttle: Throttled after too many); no pending factor gives Conflict.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code, clientIP string) (_ []string, err error) {
	defer database.ClassifyErr(&err)
	var codes []string
	err = s.withCode(ctx, p, code, clientIP, func(q *db.Queries, factor db.UserTotp, now time.Time) error {
		if factor.ConfirmedAt != nil {
			return errTOTPOn
		}
		if err := s.useCode(ctx, q, factor, code, now, errWrongField); err != nil {
			return err
		}
		codes, err = s.enable(ctx, q, p.userKey, p.UserID, now)
		return err
	})
	return codes, err
}

// DisableTOTP turns the caller's second factor off, with a fresh code (not one accepted
// before), and deletes its recovery codes. A wrong or used code gives Invalid (counted in the
// throttle); no factor, or an admin who must keep one, gives Conflict.
func (s *Service) DisableTOTP(ctx context.Context, p Principal, code, clientIP string) (err error) {
	defer database.ClassifyErr(&err)
	required, err := s.totpRequired(ctx, p.Role)
	if err != nil {
		return err
	}
	return s.withCode(ctx, p, code, clientIP, func(q *db.Queries, factor db.UserTotp, now time.Time) error {
		if factor.ConfirmedAt == nil {
			return errTOTPOff
		}
		if required {
			return errAdminMustKeep
		}
		if err := s.useCode(ctx, q, factor, code, now, errWrongField); err != nil {
			return err
		}
		if _, err := q.DeleteUserTOTP(ctx, p.userKey); err != nil {
			return fmt.Errorf("delete second factor: %w", err)
		}
		if err := q.DeleteRecoveryCodes(ctx, p.userKey); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.totp_disable", EntityType: "user", EntityID: p.UserID}, now)
	})
}

// withCode runs fn on the caller's factor, locked, in a transaction admitted by the
// throttle; fn returning errWrongField counts as a wrong code (and is audited). No factor at
// all gives errNoPending.
func (s *Service) withCode(ctx context.Context, p Principal, code, clientIP string, fn func(*db.Queries, db.UserTotp, time.Time) error) error {
	now := s.timestamp()
	account := totpAccount(p.UserID)
	if err := s.admit(ctx, account, clientIP, now); err != nil {
		return err
	}
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		factor, err := q.GetUserTOTPForUpdate(ctx, p.userKey)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoPending
		}
		if err != nil {
			return fmt.Errorf("read second factor: %w", err)
		}
		return fn(q, factor, now)
	})
	switch {
	case err == nil:
		s.settle(ctx, account, clientIP, now, attemptRight)
	case errors.Is(err, errWrongField):
		s.settle(ctx, account, clientIP, now, attemptWrong)
		if ferr := s.codeFailed(ctx, p.UserID, nil, now); ferr != nil {
			return ferr
		}
	default:
		s.settle(ctx, account, clientIP, now, attemptUnjudged)
	}
	return err
}

// TOTPStatus returns the caller's second factor.
func (s *Service) TOTPStatus(ctx context.Context, p Principal) (_ TOTPStatus, err error) {
	defer database.ClassifyErr(&err)
	var out TOTPStatus
	if out.Required, err = s.totpRequired(ctx, p.Role); err != nil {
		return TOTPStatus{}, err
	}
	q := db.New(s.db)
	row, err := q.GetUserTOTP(ctx, p.userKey)
	if errors.Is(err, sql.ErrNoRows) || err == nil && row.ConfirmedAt == nil {
		return out, nil
	}
	if err != nil {
		return TOTPStatus{}, fmt.Errorf("read second factor: %w", err)
	}
	out.Enabled, out.EnabledAt = true, *row.ConfirmedAt
	left, err := q.CountRecoveryCodesLeft(ctx, p.userKey)
	if err != nil {
		return TOTPStatus{}, fmt.Errorf("count recovery codes: %w", err)
	}
	out.RecoveryCodesLeft = int(left)
	return out, nil
}

// ResetTOTP deletes the second factor and recovery codes of the user with email and ends
// the user's sessions: for the operator when someone has lost both their authenticator and
// their recovery codes (`alumnid user reset-totp`). The user sets a new factor up at their
// next sign-in (admins must) or when they choose. It returns NotFound for an unknown email
// and Conflict when the user has no second factor.
func (s *Service) ResetTOTP(ctx context.Context, email string) (_ User, err error) {
	defer database.ClassifyErr(&err)
	row, err := db.New(s.db).GetUserByEmail(ctx, NormalizeEmail(email))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	return s.resetTOTP(ctx, db.GetUserRow(row))
}

// ResetUserTOTP is ResetTOTP for the user with public id id, for an admin through the API.
func (s *Service) ResetUserTOTP(ctx context.Context, id string) (err error) {
	defer database.ClassifyErr(&err)
	row, err := s.findUser(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.resetTOTP(ctx, row)
	return err
}

func (s *Service) resetTOTP(ctx context.Context, row db.GetUserRow) (User, error) {
	now := s.timestamp()
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		n, err := q.DeleteUserTOTP(ctx, row.ID)
		if err != nil {
			return fmt.Errorf("delete second factor: %w", err)
		}
		if n == 0 {
			return errTOTPOff
		}
		if err := q.DeleteRecoveryCodes(ctx, row.ID); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		if _, err := q.EndUserSessions(ctx, db.EndUserSessionsParams{EndedAt: &now, EndReason: ptr.NonZero("totp_reset"), UserID: row.ID}); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.totp_disable", EntityType: "user", EntityID: row.PublicID,
			Changes: []audit.Change{{Field: "reset", After: true}}}, now)
	})
	if err != nil {
		return User{}, err
	}
	return toUser(row), nil
}
