-- name: GetAlumnusLiveOrDeleted :one
-- GetAlumnusLiveOrDeleted returns a record, live or in the trash (the access document).
SELECT * FROM alumni WHERE public_id = ?;

-- name: GetUserOfAlumnus :one
-- GetUserOfAlumnus returns the user linked to a record: no password hash.
SELECT id, public_id, email, role, enabled, created_at, updated_at, last_login_at FROM users WHERE alumnus_id = ?;

-- name: ListSessionsOfUser :many
-- ListSessionsOfUser returns a user's sessions newest first (never tokens: they are not here).
SELECT public_id, created_at, refreshed_at, expires_at, ended_at, end_reason, client_ip FROM sessions
WHERE user_id = ? ORDER BY id DESC LIMIT ?;

-- name: ListInvitesOfAlumnus :many
-- ListInvitesOfAlumnus returns the invitations to claim a record, newest first (never tokens).
SELECT public_id, email, created_at, expires_at, accepted_at FROM invites WHERE alumnus_id = ? ORDER BY id DESC LIMIT ?;

-- name: ListIdentitiesOfUser :many
-- ListIdentitiesOfUser returns a user's identities at OpenID Connect providers.
SELECT issuer, subject, created_at, last_login_at FROM user_identities WHERE user_id = ? ORDER BY id;
