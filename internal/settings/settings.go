// Package settings keeps the typed system settings that admins change at run time. They are
// read from the database when used, so a change takes effect at once on every replica.
package settings

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/safetext"
)

// Settings are the system settings. The JSON names are the names stored and shown in the API.
type Settings struct {
	OrganizationName        string `json:"organizationName"`
	DefaultDirectoryConsent bool   `json:"defaultDirectoryConsent"`
	AccessTokenMinutes      int    `json:"accessTokenMinutes"`
	RefreshIdleHours        int    `json:"refreshIdleHours"`
	RefreshAbsoluteDays     int    `json:"refreshAbsoluteDays"`
	InviteValidityDays      int    `json:"inviteValidityDays"`
	// AdminsRequireTotp: an admin must have a TOTP second factor to sign in (and is asked to
	// set one up at sign-in when they have none).
	AdminsRequireTotp bool `json:"adminsRequireTotp"`
	// StaffRequireSso: admins and staff sign in through an OpenID Connect provider only;
	// their password sign-in is refused.
	StaffRequireSso bool `json:"staffRequireSso"`
}

// Defaults are the settings of a new installation.
func Defaults() Settings {
	return Settings{
		OrganizationName:    "Alumni Office",
		AccessTokenMinutes:  15,
		RefreshIdleHours:    24,
		RefreshAbsoluteDays: 30,
		InviteValidityDays:  14,
		AdminsRequireTotp:   true,
	}
}

// AccessTokenTTL is how long an access token is valid.
func (s Settings) AccessTokenTTL() time.Duration {
	return time.Duration(s.AccessTokenMinutes) * time.Minute
}

// RefreshIdleTTL is how long a session lives without a refresh.
func (s Settings) RefreshIdleTTL() time.Duration {
	return time.Duration(s.RefreshIdleHours) * time.Hour
}

// RefreshAbsoluteTTL is how long a session lives in all.
func (s Settings) RefreshAbsoluteTTL() time.Duration {
	return time.Duration(s.RefreshAbsoluteDays) * 24 * time.Hour
}

// InviteTTL is how long an invitation can be accepted.
func (s Settings) InviteTTL() time.Duration {
	return time.Duration(s.InviteValidityDays) * 24 * time.Hour
}

// ETag identifies these values: a strong validator for If-Match.
func (s Settings) ETag() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// Validate returns an Invalid error naming each unacceptable value. The contract checks the
// same ranges; this guards the other callers.
func (s *Settings) Validate() error {
	var fields derrors.Fields
	s.OrganizationName = strings.TrimSpace(s.OrganizationName)
	if s.OrganizationName == "" || len([]rune(s.OrganizationName)) > 200 {
		fields.Add("organizationName", "must be 1 to 200 characters")
	} else if msg := safetext.Problem(s.OrganizationName, false); msg != "" {
		fields.Add("organizationName", msg)
	}
	ranges := []struct {
		field     string
		v, lo, hi int
	}{
		{"accessTokenMinutes", s.AccessTokenMinutes, 5, 60},
		{"refreshIdleHours", s.RefreshIdleHours, 1, 720},
		{"refreshAbsoluteDays", s.RefreshAbsoluteDays, 1, 90},
		{"inviteValidityDays", s.InviteValidityDays, 1, 60},
	}
	for _, r := range ranges {
		if r.v < r.lo || r.v > r.hi {
			fields.Add(r.field, fmt.Sprintf("must be between %d and %d", r.lo, r.hi))
		}
	}
	if s.RefreshIdleTTL() > s.RefreshAbsoluteTTL() {
		fields.Add("refreshIdleHours", "must not be longer than refreshAbsoluteDays")
	}
	return fields.Err()
}

// Store reads and writes the settings.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// NewStore returns a Store on sqlDB.
func NewStore(sqlDB *sql.DB) *Store { return &Store{db: sqlDB, now: time.Now} }

// Get returns the settings in effect: the stored values over the defaults.
func (s *Store) Get(ctx context.Context) (_ Settings, err error) {
	defer database.ClassifyErr(&err)
	rows, err := db.New(s.db).ListSettings(ctx)
	if err != nil {
		return Settings{}, fmt.Errorf("read settings: %w", err)
	}
	return fromRows(rows)
}

// fromRows lays the stored values over the defaults; names this version does not know are
// ignored, so an older replica keeps working during a rolling upgrade.
func fromRows(rows []db.Setting) (Settings, error) {
	cur := Defaults()
	m := map[string]json.RawMessage{}
	b, _ := json.Marshal(cur)
	_ = json.Unmarshal(b, &m)
	for _, r := range rows {
		if _, ok := m[r.Name]; ok {
			m[r.Name] = r.Value
		}
	}
	b, _ = json.Marshal(m)
	if err := json.Unmarshal(b, &cur); err != nil {
		return Settings{}, fmt.Errorf("decode settings: %w", err)
	}
	return cur, nil
}

// ErrChanged reports that the settings changed since the ETag the caller named.
var ErrChanged = derrors.New(derrors.PreconditionFailed,
	"The settings were changed by someone else; fetch them again and reapply your change.")

// Put replaces the settings with next if matches accepts the ETag of the current ones, and
// records the change in the audit trail. It returns Invalid for unacceptable values and
// PreconditionFailed when the settings changed meanwhile.
func (s *Store) Put(ctx context.Context, next Settings, matches func(etag string) bool) (_ Settings, err error) {
	defer database.ClassifyErr(&err)
	if err := next.Validate(); err != nil {
		return Settings{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if _, err := q.LockSettings(ctx); err != nil {
			return fmt.Errorf("lock settings: %w", err)
		}
		rows, err := q.ListSettings(ctx)
		if err != nil {
			return fmt.Errorf("read settings: %w", err)
		}
		cur, err := fromRows(rows)
		if err != nil {
			return err
		}
		if !matches(cur.ETag()) {
			return ErrChanged
		}
		before, after := asMap(cur), asMap(next)
		changes := audit.Diff(before, after)
		if len(changes) == 0 {
			return nil
		}
		actor := audit.ActorFrom(ctx)
		for _, c := range changes {
			value, _ := json.Marshal(after[c.Field])
			if err := q.PutSetting(ctx, db.PutSettingParams{
				Name: c.Field, Value: value, UpdatedAt: now, UpdatedBy: ptr.NonZero(actor.UserID),
			}); err != nil {
				return fmt.Errorf("write setting %s: %w", c.Field, err)
			}
		}
		return audit.Record(ctx, q, audit.Event{
			Action: "settings.update", EntityType: "settings", Changes: changes,
		}, now)
	})
	if err != nil {
		return Settings{}, err
	}
	return next, nil
}

func asMap(s Settings) map[string]any {
	m := map[string]any{}
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		m[name] = v.Field(i).Interface()
	}
	return m
}
