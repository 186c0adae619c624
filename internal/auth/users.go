package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alumnid/alumnid/internal/ptr"

	"github.com/alumnid/alumnid/gen/db"
	"github.com/alumnid/alumnid/internal/audit"
	"github.com/alumnid/alumnid/internal/database"
	"github.com/alumnid/alumnid/internal/derrors"
	"github.com/alumnid/alumnid/internal/emailaddr"
	"github.com/alumnid/alumnid/internal/page"
	"github.com/alumnid/alumnid/internal/password"
)

// User is an account. Version counts changes and makes the ETag.
type User struct {
	ID          string
	Version     int
	Email       string
	Role        Role
	Enabled     bool
	AlumnusID   string // public id of the linked record, for role alumnus
	LastLoginAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func toUser(r db.GetUserRow) User {
	u := User{
		ID: r.PublicID, Version: int(r.Version), Email: r.Email, Role: Role(r.Role), Enabled: r.Enabled,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.AlumnusPublicID != nil {
		u.AlumnusID = *r.AlumnusPublicID
	}
	if r.LastLoginAt != nil {
		u.LastLoginAt = *r.LastLoginAt
	}
	return u
}

// auditFields are the fields of u recorded in the audit trail (never the password).
func (u User) auditFields() map[string]any {
	return map[string]any{"email": u.Email, "role": string(u.Role), "enabled": u.Enabled, "alumnusId": u.AlumnusID}
}

var errUserNotFound = derrors.New(derrors.NotFound, "No user with this id.")

// ErrUserChanged reports that a user changed since the version the caller named.
var ErrUserChanged = derrors.New(derrors.PreconditionFailed,
	"The user was changed by someone else; fetch it again and reapply your change.")

var errLastAdmin = derrors.New(derrors.Conflict, "This is the last enabled admin; make another admin first.",
	derrors.FieldError{Field: "role", Message: "the last enabled admin must stay an enabled admin"})

// NewUser is an account to create.
type NewUser struct {
	Email     string
	Role      Role
	Password  string
	Enabled   bool
	AlumnusID string
}

// CreateUser creates an account. It returns Invalid for a bad email, role, password or link
// (role alumnus needs a record, other roles have none), and Conflict when the email or the
// record is taken.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (_ User, err error) {
	defer database.ClassifyErr(&err)
	in.Email = NormalizeEmail(in.Email)
	var fields derrors.Fields
	if !emailaddr.Valid(in.Email) {
		fields.Add("email", "must be an email address like name@example.org")
	}
	if !in.Role.Valid() {
		fields.Add("role", "must be one of admin, staff, viewer, alumnus")
	}
	checkLink(&fields, in.Role, in.AlumnusID)
	if err := password.Check("password", in.Password, in.Email); err != nil {
		if d := derrors.As(err); d != nil {
			fields = append(fields, d.Fields...)
		} else {
			return User{}, err
		}
	}
	if err := fields.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.timestamp()
	u := User{ID: database.NewPublicID(now), Version: 1, Email: in.Email, Role: in.Role, Enabled: in.Enabled, AlumnusID: in.AlumnusID, CreatedAt: now, UpdatedAt: now}
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		_, err := s.insertUser(ctx, q, u, hash)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// insertUser stores u (resolving its record link) and audits it; it returns the internal key.
func (s *Service) insertUser(ctx context.Context, q *db.Queries, u User, hash string) (int64, error) {
	alumnusKey, err := alumnusKey(ctx, q, u.AlumnusID)
	if err != nil {
		return 0, err
	}
	res, err := q.CreateUser(ctx, db.CreateUserParams{
		PublicID: u.ID, Email: u.Email, PasswordHash: hash, Role: string(u.Role), Enabled: u.Enabled,
		AlumnusID: alumnusKey, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, PasswordChangedAt: u.CreatedAt,
	})
	if err != nil {
		return 0, translateUserErr(err)
	}
	key, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("read user id: %w", err)
	}
	return key, audit.Record(ctx, q, audit.Event{Action: "user.create", EntityType: "user", EntityID: u.ID,
		Changes: audit.Diff(nil, u.auditFields())}, u.CreatedAt)
}

func checkLink(fields *derrors.Fields, role Role, alumnusID string) {
	switch {
	case role == RoleAlumnus && alumnusID == "":
		fields.Add("alumnusId", "is required for role alumnus")
	case role != RoleAlumnus && alumnusID != "":
		fields.Add("alumnusId", "is only for role alumnus")
	}
}

// alumnusKey returns the internal key of the live record with public id id (nil for "").
func alumnusKey(ctx context.Context, q *db.Queries, id string) (*int64, error) {
	if id == "" {
		return nil, nil
	}
	a, err := q.GetAlumnus(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, derrors.New(derrors.Invalid, "The alumni record does not exist.",
			derrors.FieldError{Field: "alumnusId", Message: "no alumnus has this id"})
	}
	if err != nil {
		return nil, fmt.Errorf("find alumnus: %w", err)
	}
	return &a.ID, nil
}

var errEmailTaken = derrors.New(derrors.Conflict, "Another user already has this email.",
	derrors.FieldError{Field: "email", Message: "another user already has this email"})

func translateUserErr(err error) error {
	switch key, _ := database.DuplicateKey(err); key {
	case "uq_users_email":
		return errEmailTaken
	case "uq_users_alumnus":
		return derrors.New(derrors.Conflict, "Another user is already linked to this record.",
			derrors.FieldError{Field: "alumnusId", Message: "another user is already linked to this record"})
	}
	return fmt.Errorf("write user: %w", err)
}

// GetUser returns the user with public id id, or NotFound.
func (s *Service) GetUser(ctx context.Context, id string) (_ User, err error) {
	defer database.ClassifyErr(&err)
	row, err := s.findUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	return toUser(row), nil
}

// findUser reads the user with public id id, or NotFound.
func (s *Service) findUser(ctx context.Context, id string) (db.GetUserRow, error) {
	row, err := db.New(s.db).GetUser(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return db.GetUserRow{}, errUserNotFound
	}
	if err != nil {
		return db.GetUserRow{}, fmt.Errorf("get user: %w", err)
	}
	return row, nil
}

// UserFilter selects users; zero values mean "any".
type UserFilter struct {
	Role        Role
	Enabled     *bool
	EmailPrefix string
}

// UserPage is one page of users in email order.
type UserPage struct {
	Items      []User
	NextCursor string
}

// ListUsers returns the page of users matching f after the cursor after ("" for the first).
func (s *Service) ListUsers(ctx context.Context, f UserFilter, after string, limit int) (_ UserPage, err error) {
	defer database.ClassifyErr(&err)
	if err := page.CheckLimit(limit); err != nil {
		return UserPage{}, err
	}
	params := db.ListUsersParams{Enabled: f.Enabled, AfterSet: after != "", Limit: page.FetchLimit(limit)}
	if f.Role != "" {
		r := string(f.Role)
		params.Role = &r
	}
	if f.EmailPrefix != "" {
		like := likeEscaper.Replace(NormalizeEmail(f.EmailPrefix)) + "%"
		params.EmailLike = &like
	}
	if after != "" {
		var c userPosition
		if err := page.Decode(after, f, &c); err != nil {
			return UserPage{}, err
		}
		if c.Email == "" {
			return UserPage{}, page.Invalid()
		}
		params.AfterEmail = c.Email
	}
	rows, err := db.New(s.db).ListUsers(ctx, params)
	if err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}
	var out UserPage
	rows, out.NextCursor = page.Trim(rows, limit, f, func(r db.ListUsersRow) any { return userPosition{Email: r.Email} })
	out.Items = make([]User, len(rows))
	for i, r := range rows {
		out.Items[i] = toUser(db.GetUserRow(r))
	}
	return out, nil
}

// userPosition is the keyset position after the last user of a page (email order).
type userPosition struct {
	Email string `json:"e"`
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// UserChange is a change to a user; nil fields stay as they are. AlumnusID set to a pointer
// to "" removes the link.
type UserChange struct {
	Role      *Role
	Enabled   *bool
	AlumnusID *string
}

// UpdateUser applies c to the user id if its current version satisfies matches. Changing the
// role or disabling the user ends its sessions at once. It returns NotFound,
// PreconditionFailed, Invalid for a bad role or link, and Conflict for the last admin or a
// record linked to someone else.
func (s *Service) UpdateUser(ctx context.Context, id string, matches func(version int) bool, c UserChange) (_ User, err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	var out User
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetUserForUpdate(ctx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		if !matches(int(row.Version)) {
			return ErrUserChanged
		}
		cur := toUser(db.GetUserRow(row))
		next := cur
		if c.Role != nil {
			next.Role = *c.Role
		}
		if c.Enabled != nil {
			next.Enabled = *c.Enabled
		}
		if c.AlumnusID != nil {
			next.AlumnusID = *c.AlumnusID
		}
		var fields derrors.Fields
		if !next.Role.Valid() {
			fields.Add("role", "must be one of admin, staff, viewer, alumnus")
		}
		checkLink(&fields, next.Role, next.AlumnusID)
		if err := fields.Err(); err != nil {
			return err
		}
		changes := audit.Diff(cur.auditFields(), next.auditFields())
		if len(changes) == 0 {
			out = cur
			return nil
		}
		wasAdmin := cur.Role == RoleAdmin && cur.Enabled
		if wasAdmin && (next.Role != RoleAdmin || !next.Enabled) {
			if err := keepAnAdmin(ctx, q); err != nil {
				return err
			}
		}
		key, err := alumnusKey(ctx, q, next.AlumnusID)
		if err != nil {
			return err
		}
		if err := q.UpdateUser(ctx, db.UpdateUserParams{Role: string(next.Role), Enabled: next.Enabled, AlumnusID: key, UpdatedAt: now, ID: row.ID}); err != nil {
			return translateUserErr(err)
		}
		if next.Role != cur.Role || !next.Enabled {
			reason := "role_change"
			if !next.Enabled {
				reason = "user_disabled"
			}
			if _, err := q.EndUserSessions(ctx, db.EndUserSessionsParams{EndedAt: &now, EndReason: &reason, UserID: row.ID}); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		next.Version, next.UpdatedAt = cur.Version+1, now
		out = next
		return audit.Record(ctx, q, audit.Event{Action: "user.update", EntityType: "user", EntityID: id, Changes: changes}, now)
	})
	return out, err
}

// keepAnAdmin locks the enabled admins and refuses to remove the last one.
func keepAnAdmin(ctx context.Context, q *db.Queries) error {
	admins, err := q.LockEnabledAdmins(ctx)
	if err != nil {
		return fmt.Errorf("lock admins: %w", err)
	}
	if len(admins) <= 1 {
		return errLastAdmin
	}
	return nil
}

// DeleteUser deletes the user id and with it its sessions. It returns NotFound, or Conflict
// for the last enabled admin.
func (s *Service) DeleteUser(ctx context.Context, id string) (err error) {
	defer database.ClassifyErr(&err)
	now := s.timestamp()
	return database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		row, err := q.GetUserForUpdate(ctx, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errUserNotFound
		}
		if err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		if row.Role == string(RoleAdmin) && row.Enabled {
			if err := keepAnAdmin(ctx, q); err != nil {
				return err
			}
		}
		if err := q.DeleteUser(ctx, row.ID); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.delete", EntityType: "user", EntityID: id,
			Changes: audit.Diff(toUser(db.GetUserRow(row)).auditFields(), nil)}, now)
	})
}

// ResetPassword sets the password of the user with email to pw and ends all of its sessions
// (an administrator's reset, from the command line). It returns NotFound for an unknown email
// and Invalid for a weak password.
func (s *Service) ResetPassword(ctx context.Context, email, pw string) (_ User, err error) {
	defer database.ClassifyErr(&err)
	email = NormalizeEmail(email)
	row, err := db.New(s.db).GetUserByEmail(ctx, email)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	if err := password.Check("password", pw, email); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	now := s.timestamp()
	err = database.Transact(ctx, s.db, func(tx *sql.Tx) error {
		q := db.New(tx)
		if err := q.SetUserPassword(ctx, db.SetUserPasswordParams{PasswordHash: hash, PasswordChangedAt: now, UpdatedAt: now, ID: row.ID}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := q.EndUserSessions(ctx, db.EndUserSessionsParams{EndedAt: &now, EndReason: ptr.NonZero("password_reset"), UserID: row.ID}); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return audit.Record(ctx, q, audit.Event{Action: "user.password_reset", EntityType: "user", EntityID: row.PublicID,
			Changes: []audit.Change{{Field: "password"}}}, now)
	})
	if err != nil {
		return User{}, err
	}
	return toUser(db.GetUserRow(row)), nil
}
