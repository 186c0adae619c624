package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/ptr"
	"github.com/alumnid/alumnid/internal/token"
)

// Passkeys (WebAuthn, by go-webauthn): a password user registers public-key credentials, and
// then uses one as the second step of a password sign-in (beside TOTP) or signs in with it
// alone (a discoverable credential, with user verification: the authenticator's PIN or
// biometric and the device make two factors). Every ceremony (options given, credential
// checked) is a row of webauthn_ceremonies, so any replica finishes what another began; a
// ceremony lives five minutes and is spent before its credential is checked, so it works
// once even when the check fails. The relying party is the service's public URL: its host is
// the RP id, its origin (and the allowed app origins) the origins a response may come from.
const ceremonyTTL = 5 * time.Minute

// Purposes of a ceremony (webauthn_ceremonies.purpose).
const (
	ceremonyRegister     = "register"
	ceremonySecondFactor = "second_factor"
	ceremonySignIn       = "sign_in"
)

// Second factors a sign-in challenge may be answered with (Challenge.Factors).
const (
	FactorTOTP    = "totp"
	FactorPasskey = "passkey"
)

// Passkey is a registered passkey as shown to its owner.
type Passkey struct {
	ID         string // public id
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used to sign in
	// CloneWarning: a sign-in was refused because the passkey's signature counter went back,
	// which a copied authenticator does.
	CloneWarning bool
}

// Ceremony is a WebAuthn ceremony waiting for the authenticator's answer: the options to give
// the browser (navigator.credentials.create or .get, as JSON) and the token to send back
// with the answer.
type Ceremony struct {
	Token     string
	ExpiresAt time.Time
	Options   json.RawMessage
}

var (
	errPasskeysOff = derrors.New(derrors.NotFound,
		"Passkeys are not available here: the service has no public URL with a domain name (ALUMNI_PUBLIC_URL).")
	errBadCeremony = derrors.New(derrors.Invalid, "The passkey registration has expired, was already finished or is someone else's; start again.",
		derrors.FieldError{Field: "ceremony", Message: "is unknown, expired or used"})
	errPasskeyNotAccepted = derrors.New(derrors.Invalid, "The authenticator's answer was not accepted; start again.",
		derrors.FieldError{Field: "credential", Message: "was not accepted"})
	errPasskeyName    = derrors.New(derrors.Invalid, "Name the passkey.", derrors.FieldError{Field: "name", Message: "is empty"})
	errPasskeyTaken   = derrors.New(derrors.Conflict, "This passkey is registered already.")
	errPasskeyLinked  = derrors.New(derrors.Conflict, "Accounts that sign in through an identity provider use the provider's factors, not passkeys.")
	errNoPasskey      = derrors.New(derrors.NotFound, "You have no passkey with this id.")
	errNoPasskeys     = derrors.New(derrors.Conflict, "The user has no passkeys.")
	errNoPasskeyForMe = derrors.New(derrors.Invalid, "This sign-in has no passkey to answer with; send a code.",
		derrors.FieldError{Field: "challenge", Message: "the account has no passkey"})
	errBadSignInCeremony = derrors.New(derrors.Unauthenticated, "The passkey sign-in has expired or was already finished; start again.")
	errPasskeyRefused    = derrors.New(derrors.Unauthenticated, "The passkey was not accepted.")
)

// UsePasskeys turns passkeys on for the relying party at publicURL (https://alumni.example.edu:
// RP id alumni.example.edu), accepting answers from its origin and from origins (the allowed
// app origins, on the same domain). A public URL that is empty or whose host is an IP address
// (browsers refuse those as RP ids) leaves passkeys off; ok reports whether they are on.
func (s *Service) UsePasskeys(publicURL string, origins []string) (ok bool, err error) {
	if publicURL == "" {
		return false, nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return false, fmt.Errorf("passkeys: public URL %q has no host", publicURL)
	}
	if net.ParseIP(u.Hostname()) != nil {
		return false, nil
	}
	all := []string{u.Scheme + "://" + u.Host}
	for _, o := range origins {
		if o = strings.TrimRight(o, "/"); o != "" && o != "*" {
			all = append(all, o)
		}
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: "alumnid", RPOrigins: all,
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		return false, fmt.Errorf("passkeys: %w", err)
	}
	s.webauthn = wa
	return true, nil
}

// passkeyUser is a user as go-webauthn sees them. The user handle is the user's public id: a
// random identifier that names no person, stable for the life of the account.
type passkeyUser struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u passkeyUser) WebAuthnName() string                       { return u.name }
func (u passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credentials decodes the stored records of rows.
func credentials(rows []db.Passkey) ([]webauthn.Credential, error) {
	out := make([]webauthn.Credential, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r.Record, &out[i]); err != nil {
			return nil, fmt.Errorf("read passkey %s: %w", r.PublicID, err)
		}
	}
	return out, nil
}

// newCeremony stores session for purpose and returns the token and options to hand out.
func newCeremony(ctx context.Context, q *db.Queries, purpose string, userKey, challengeKey *int64, session *webauthn.SessionData, options any, now time.Time) (Ceremony, error) {
	sess, err := json.Marshal(session)
	if err != nil {
		return Ceremony{}, fmt.Errorf("encode ceremony: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, fmt.Errorf("encode options: %w", err)
	}
	raw, hash := token.NewOpaque()
	c := Ceremony{Token: raw, ExpiresAt: now.Add(ceremonyTTL), Options: opts}
	if err := q.CreateWebAuthnCeremony(ctx, db.CreateWebAuthnCeremonyParams{
		TokenHash: hash, Purpose: purpose, UserID: userKey, LoginChallengeID: challengeKey,
		Session: sess, CreatedAt: now, ExpiresAt: c.ExpiresAt,
	}); err != nil {
		return Ceremony{}, fmt.Errorf("store ceremony: %w", err)
	}
	return c, nil
}

// spendCeremony spends the ceremony whose token is raw, in a transaction of its own (so it
// stays spent when what follows fails), and returns it with its session. bad is returned
// for an unknown, used or expired ceremony and one whose purpose is not among purposes.
func (s *Service) spendCeremony(ctx context.Context, raw string, now time.Time, bad error, purposes ...string) (db.WebauthnCeremony, webauthn.SessionData, error) {
	var c db.WebauthnCeremony
	err := database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetWebAuthnCeremonyForUpdate(ctx, token.HashOpaque(raw))
		if errors.Is(err, sql.ErrNoRows) {
			return bad
		}
		if err != nil {
			return fmt.Errorf("find ceremony: %w", err)
		}
		if row.UsedAt != nil || !now.Before(row.ExpiresAt) || !containsString(purposes, row.Purpose) {
			return bad
		}
		if n, err := q.UseWebAuthnCeremony(ctx, db.UseWebAuthnCeremonyParams{UsedAt: &now, ID: row.ID}); err != nil || n != 1 {
			if err != nil {
				return fmt.Errorf("spend ceremony: %w", err)
			}
			return bad
		}
		c = row
		return nil
	})
	if err != nil {
		return c, webauthn.SessionData{}, err
	}
	var sess webauthn.SessionData
	if err := json.Unmarshal(c.Session, &sess); err != nil {
		return c, sess, fmt.Errorf("read ceremony: %w", err)
	}
	return c, sess, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// passwordUser returns the user userKey as go-webauthn sees them, with their passkeys, or
// errPasskeyLinked for a user who signs in through an identity provider.
func passwordUser(ctx context.Context, q *db.Queries, userKey int64) (db.GetUserByIDRow, passkeyUser, error) {
	row, err := q.GetUserByID(ctx, userKey)
	if err != nil {
		return row, passkeyUser{}, fmt.Errorf("find user: %w", err)
	}
	linked, err := q.CountUserIdentities(ctx, userKey)
	if err != nil {
		return row, passkeyUser{}, fmt.Errorf("find identities: %w", err)
	}
	if linked > 0 {
		return row, passkeyUser{}, errPasskeyLinked
	}
	rows, err := q.ListUserPasskeys(ctx, userKey)
	if err != nil {
		return row, passkeyUser{}, fmt.Errorf("list passkeys: %w", err)
	}
	creds, err := credentials(rows)
	if err != nil {
		return row, passkeyUser{}, err
	}
	return row, passkeyUser{handle: []byte(row.PublicID), name: row.Email, creds: creds}, nil
}

// StartPasskeyRegistration gives the caller the options to create a passkey with
// (navigator.credentials.create): a discoverable credential, so that it can also sign in
// without a password; the caller's passkeys are excluded. It returns NotFound when passkeys
// are off and Conflict for a user who signs in through an identity provider.
func (s *Service) StartPasskeyRegistration(ctx context.Context, p Principal) (_ Ceremony, err error) {
	defer database.ClassifyErr(&err)
	if s.webauthn == nil {
		return Ceremony{}, errPasskeysOff
	}
	st, err := s.settings.Get(ctx)
	if err != nil {
		return Ceremony{}, err
	}
	now := s.timestamp()
	var out Ceremony
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		_, user, err := passwordUser(ctx, q, p.userKey)
		if err != nil {
			return err
		}
		exclude := webauthn.Credentials(user.creds).CredentialDescriptors()
		creation, session, err := s.webauthn.BeginRegistration(user,
			webauthn.WithExclusions(exclude),
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
			webauthn.WithRegistrationRelyingPartyName(st.OrganizationName))
		if err != nil {
			return fmt.Errorf("begin registration: %w", err)
		}
		out, err = newCeremony(ctx, q, ceremonyRegister, &p.userKey, nil, session, creation.Response, now)
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.passkey_enrol", EntityType: "user", EntityID: p.UserID}, now)
	})
	return out, err
}

// FinishPasskeyRegistration checks the authenticator's answer (credential: the
// PublicKeyCredential as JSON) to the caller's registration ceremony and stores the passkey
// under name. An unknown, used, expired or another user's ceremony, and an answer that does
// not verify (another challenge or origin, a bad attestation), give Invalid; a passkey
// registered already gives Conflict.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p Principal, ceremony, name string, credential json.RawMessage) (_ Passkey, err error) {
	defer database.ClassifyErr(&err)
	if s.webauthn == nil {
		return Passkey{}, errPasskeysOff
	}
	if strings.TrimSpace(name) == "" {
		return Passkey{}, errPasskeyName
	}
	now := s.timestamp()
	c, session, err := s.spendCeremony(ctx, ceremony, now, errBadCeremony, ceremonyRegister)
	if err != nil {
		return Passkey{}, err
	}
	if c.UserID == nil || *c.UserID != p.userKey {
		return Passkey{}, errBadCeremony
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "error", err.Error())
		return Passkey{}, errPasskeyNotAccepted
	}
	out := Passkey{ID: database.NewPublicID(now), Name: strings.TrimSpace(name), CreatedAt: now}
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		_, user, err := passwordUser(ctx, q, p.userKey)
		if err != nil {
			return err
		}
		cred, err := s.webauthn.CreateCredential(user, session, parsed)
		if err != nil {
			s.log.InfoContext(ctx, "passkey registration refused", "error", describeWebAuthnErr(err))
			return errPasskeyNotAccepted
		}
		record, err := json.Marshal(cred)
		if err != nil {
			return fmt.Errorf("encode passkey: %w", err)
		}
		if err := q.CreatePasskey(ctx, db.CreatePasskeyParams{PublicID: out.ID, UserID: p.userKey, CredentialID: cred.ID,
			Name: out.Name, Record: record, CreatedAt: now}); err != nil {
			if _, dup := database.DuplicateKey(err); dup {
				return errPasskeyTaken
			}
			return fmt.Errorf("store passkey: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.passkey_add", EntityType: "user", EntityID: p.UserID,
			Changes: []audit.Change{{Field: "passkey", After: out.ID}, {Field: "name", After: out.Name},
				{Field: "attestation", After: cred.AttestationFormat}}}, now)
	})
	if err != nil {
		return Passkey{}, err
	}
	return out, nil
}

// describeWebAuthnErr is err with the library's details, for the log (they name what failed,
// never a key or a signature).
func describeWebAuthnErr(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		// Not DevInfo: it can quote the challenge.
		return pe.Type + ": " + pe.Details
	}
	return err.Error()
}

// Passkeys returns the caller's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, p Principal) (_ []Passkey, err error) {
	defer database.ClassifyErr(&err)
	rows, err := db.New(s.db).ListUserPasskeys(ctx, p.userKey)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	out := make([]Passkey, len(rows))
	for i, r := range rows {
		out[i] = Passkey{ID: r.PublicID, Name: r.Name, CreatedAt: r.CreatedAt, CloneWarning: r.CloneWarning}
		if r.LastUsedAt != nil {
			out[i].LastUsedAt = *r.LastUsedAt
		}
	}
	return out, nil
}

// DeletePasskey deletes the caller's passkey id. It returns NotFound for a passkey that is
// not the caller's, and Conflict for an admin's last second factor while admins must have one.
func (s *Service) DeletePasskey(ctx context.Context, p Principal, id string) (err error) {
	defer database.ClassifyErr(&err)
	required, err := s.totpRequired(ctx, p.Role)
	if err != nil {
		return err
	}
	now := s.timestamp()
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if required {
			factors, err := userFactors(ctx, q, p.userKey)
			if err != nil {
				return err
			}
			if n, err := q.CountUserPasskeys(ctx, p.userKey); err != nil {
				return fmt.Errorf("count passkeys: %w", err)
			} else if n <= 1 && !containsString(factors, FactorTOTP) {
				return errAdminMustKeep
			}
		}
		n, err := q.DeleteUserPasskey(ctx, db.DeleteUserPasskeyParams{PublicID: id, UserID: p.userKey})
		if err != nil {
			return fmt.Errorf("delete passkey: %w", err)
		}
		if n == 0 {
			return errNoPasskey
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.passkey_remove", EntityType: "user", EntityID: p.UserID,
			Changes: []audit.Change{{Field: "passkey", Before: id}}}, now)
	})
}

// ResetUserPasskeys deletes every passkey of the user with public id id and ends their
// sessions: for an admin, when someone lost their authenticator (or it was stolen). It
// returns NotFound for an unknown user and Conflict for a user without passkeys.
func (s *Service) ResetUserPasskeys(ctx context.Context, id string) (err error) {
	defer database.ClassifyErr(&err)
	row, err := s.findUser(ctx, id)
	if err != nil {
		return err
	}
	now := s.timestamp()
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		n, err := q.DeleteUserPasskeys(ctx, row.ID)
		if err != nil {
			return fmt.Errorf("delete passkeys: %w", err)
		}
		if n == 0 {
			return errNoPasskeys
		}
		if _, err := q.EndUserSessions(ctx, db.EndUserSessionsParams{EndedAt: &now, EndReason: ptr.NonZero("passkey_reset"), UserID: row.ID}); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.passkey_remove", EntityType: "user", EntityID: row.PublicID,
			Changes: []audit.Change{{Field: "reset", After: true}, {Field: "count", After: n}}}, now)
	})
}

// userFactors returns the second factors user userKey has on: FactorTOTP, FactorPasskey.
func userFactors(ctx context.Context, q *db.Queries, userKey int64) ([]string, error) {
	var out []string
	row, err := q.GetUserTOTP(ctx, userKey)
	switch {
	case err == nil && row.ConfirmedAt != nil:
		out = append(out, FactorTOTP)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("read second factor: %w", err)
	}
	n, err := q.CountUserPasskeys(ctx, userKey)
	if err != nil {
		return nil, fmt.Errorf("count passkeys: %w", err)
	}
	if n > 0 {
		out = append(out, FactorPasskey)
	}
	return out, nil
}

// StartPasskeySignIn begins a sign-in with a passkey. With challenge (the second step of a
// password sign-in, Challenge.Token) the options allow the passkeys of that user; without,
// any passkey of this service may answer (a discoverable credential, which names its user),
// and it must verify its user (PIN or biometric), as the password is not asked. It returns
// NotFound when passkeys are off, Unauthenticated for an unknown, used or expired challenge,
// and Invalid for a user without passkeys.
func (s *Service) StartPasskeySignIn(ctx context.Context, challenge string) (_ Ceremony, err error) {
	defer database.ClassifyErr(&err)
	if s.webauthn == nil {
		return Ceremony{}, errPasskeysOff
	}
	now := s.timestamp()
	var out Ceremony
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if challenge == "" {
			assertion, session, err := s.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
			if err != nil {
				return fmt.Errorf("begin sign-in: %w", err)
			}
			out, err = newCeremony(ctx, q, ceremonySignIn, nil, nil, session, assertion.Response, now)
			return err
		}
		ch, err := findChallenge(ctx, q, challenge, now)
		if err != nil {
			return err
		}
		if ch.Purpose != NextTOTP {
			return errNoPasskeyForMe
		}
		_, user, err := passwordUser(ctx, q, ch.UserID)
		if errors.Is(err, errPasskeyLinked) || err == nil && len(user.creds) == 0 {
			return errNoPasskeyForMe
		}
		if err != nil {
			return err
		}
		assertion, session, err := s.webauthn.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationPreferred))
		if err != nil {
			return fmt.Errorf("begin sign-in: %w", err)
		}
		out, err = newCeremony(ctx, q, ceremonySecondFactor, &ch.UserID, &ch.ID, session, assertion.Response, now)
		return err
	})
	return out, err
}

// passkeyRefusal is why a passkey answer was refused, for the audit trail; passkeyKey is the
// passkey named (0: none known) and cloned reports a signature counter that went back.
type passkeyRefusal struct {
	reason     string
	userKey    int64
	userID     string
	passkeyKey int64
	cloned     bool
}

func (r *passkeyRefusal) Error() string { return "passkey refused: " + r.reason }

// FinishPasskeySignIn checks the authenticator's answer (credential: the PublicKeyCredential
// as JSON) to a sign-in ceremony and opens the session, as every sign-in does
// (completeSignIn). An unknown, used or expired ceremony, an answer that does not verify
// (another challenge, origin or RP id, a bad signature, an unknown passkey, another user's
// passkey, no user verification where it is needed, a signature counter that went back), a
// disabled user and a finished password sign-in give Unauthenticated; an office user while
// staffRequireSso is on gets Forbidden. Each refusal is audited.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, credential json.RawMessage, clientIP string) (_ Tokens, err error) {
	defer database.ClassifyErr(&err)
	if s.webauthn == nil {
		return Tokens{}, errPasskeysOff
	}
	now := s.timestamp()
	c, session, err := s.spendCeremony(ctx, ceremony, now, errBadSignInCeremony, ceremonySecondFactor, ceremonySignIn)
	if errors.Is(err, errBadSignInCeremony) {
		if aerr := s.passkeyRefused(ctx, c, &passkeyRefusal{reason: "unknown, used or expired ceremony"}, now); aerr != nil {
			return Tokens{}, aerr
		}
	}
	if err != nil {
		return Tokens{}, err
	}
	var refusal *passkeyRefusal
	out, err := s.finishPasskeySignIn(ctx, c, session, credential, clientIP, now)
	if errors.As(err, &refusal) {
		s.log.InfoContext(ctx, "passkey sign-in refused", "reason", refusal.reason)
		if aerr := s.passkeyRefused(ctx, c, refusal, now); aerr != nil {
			return Tokens{}, aerr
		}
		return Tokens{}, errPasskeyRefused
	}
	return out, err
}

func (s *Service) finishPasskeySignIn(ctx context.Context, c db.WebauthnCeremony, session webauthn.SessionData, credential json.RawMessage, clientIP string, now time.Time) (Tokens, error) {
	refuse := &passkeyRefusal{}
	if c.UserID != nil {
		refuse.userKey = *c.UserID
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		refuse.reason = describeWebAuthnErr(err)
		return Tokens{}, refuse
	}
	var out Tokens
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		pk, err := q.GetPasskeyByCredentialForUpdate(ctx, parsed.RawID)
		if errors.Is(err, sql.ErrNoRows) {
			refuse.reason = "unknown passkey"
			return refuse
		}
		if err != nil {
			return fmt.Errorf("find passkey: %w", err)
		}
		refuse.passkeyKey = pk.ID
		if refuse.userKey == 0 {
			refuse.userKey = pk.UserID
		}
		if pk.UserID != refuse.userKey {
			refuse.reason = "another user's passkey"
			return refuse
		}
		row, user, err := passwordUser(ctx, q, pk.UserID)
		if errors.Is(err, errPasskeyLinked) {
			refuse.reason = "the user signs in through an identity provider"
			return refuse
		}
		if err != nil {
			return err
		}
		refuse.userID = row.PublicID
		var cred *webauthn.Credential
		if c.Purpose == ceremonySecondFactor {
			cred, err = s.webauthn.ValidateLogin(user, session, parsed)
		} else {
			cred, err = s.webauthn.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
				if string(userHandle) != row.PublicID {
					return nil, errors.New("the user handle is not the passkey's user")
				}
				return user, nil
			}, session, parsed)
		}
		if err != nil {
			refuse.reason = describeWebAuthnErr(err)
			return refuse
		}
		if cred.Authenticator.CloneWarning {
			// The signature counter did not go up: two copies of the key may be in use
			// (WebAuthn §6.1.1). Refused and flagged; the stored counter stays, so the
			// authenticator whose counter is ahead still signs in.
			refuse.reason, refuse.cloned = "signature counter did not increase (possible cloned authenticator)", true
			return refuse
		}
		if !row.Enabled {
			refuse.reason = "user disabled"
			return refuse
		}
		record, err := json.Marshal(cred)
		if err != nil {
			return fmt.Errorf("encode passkey: %w", err)
		}
		if err := q.UsePasskey(ctx, db.UsePasskeyParams{Record: record, LastUsedAt: &now, ID: pk.ID}); err != nil {
			return fmt.Errorf("update passkey: %w", err)
		}
		u := toUser(db.GetUserRow(row))
		changes := []audit.Change{{Field: "passkey", After: pk.PublicID}}
		if c.Purpose == ceremonySecondFactor {
			ch, err := q.GetLoginChallengeByID(ctx, db.GetLoginChallengeByIDParams{ID: *c.LoginChallengeID, Now: now, MaxFailures: challengeFailures})
			if errors.Is(err, sql.ErrNoRows) {
				refuse.reason = "the password sign-in is no longer open"
				return refuse
			}
			if err != nil {
				return fmt.Errorf("find sign-in challenge: %w", err)
			}
			if n, err := q.UseLoginChallenge(ctx, db.UseLoginChallengeParams{UsedAt: &now, ID: ch.ID}); err != nil || n != 1 {
				if err != nil {
					return fmt.Errorf("use sign-in challenge: %w", err)
				}
				refuse.reason = "the password sign-in is no longer open"
				return refuse
			}
			changes = append([]audit.Change{{Field: "secondFactor", After: FactorPasskey}}, changes...)
		} else {
			if err := s.checkLocalSignIn(ctx, u.Role); err != nil {
				return err
			}
			changes = append([]audit.Change{{Field: "method", After: FactorPasskey}}, changes...)
		}
		out, err = s.completeSignIn(ctx, q, u, row.ID, clientIP, now, changes...)
		return err
	})
	return out, err
}

// passkeyRefused audits a refused passkey answer (in a transaction of its own: the refusal
// rolled the sign-in back), flags a possible clone on the passkey and counts a wrong answer
// against the password sign-in's challenge.
func (s *Service) passkeyRefused(ctx context.Context, c db.WebauthnCeremony, r *passkeyRefusal, now time.Time) error {
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if r.cloned {
			if err := q.SetPasskeyCloneWarning(ctx, r.passkeyKey); err != nil {
				return fmt.Errorf("flag passkey: %w", err)
			}
		}
		userID := r.userID
		if userID == "" && r.userKey != 0 {
			if row, err := q.GetUserByID(ctx, r.userKey); err == nil {
				userID = row.PublicID
			}
		}
		changes := []audit.Change{{Field: "factor", After: FactorPasskey}, {Field: "reason", After: r.reason}}
		if c.Purpose == ceremonySecondFactor && c.LoginChallengeID != nil {
			if err := q.FailLoginChallenge(ctx, *c.LoginChallengeID); err != nil {
				return fmt.Errorf("count wrong answer: %w", err)
			}
			return audit.Record(ctx, q, audit.Event{Action: "session.second_factor_failed", EntityType: "user", EntityID: userID, Changes: changes}, now)
		}
		return audit.Record(ctx, q, audit.Event{Action: "session.login_failed", EntityType: "user", EntityID: userID, Changes: changes}, now)
	})
}
