-- name: CreateUser :execresult
INSERT INTO users (public_id, email, password_hash, role, enabled, alumnus_id, created_at, updated_at, password_changed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: GetUserByEmail :one
SELECT u.*, a.public_id AS alumnus_public_id
FROM users u LEFT JOIN alumni a ON a.id = u.alumnus_id
WHERE u.email = ?;

-- name: GetUser :one
SELECT u.*, a.public_id AS alumnus_public_id
FROM users u LEFT JOIN alumni a ON a.id = u.alumnus_id
WHERE u.public_id = ?;

-- name: GetUserByID :one
SELECT u.*, a.public_id AS alumnus_public_id
FROM users u LEFT JOIN alumni a ON a.id = u.alumnus_id
WHERE u.id = ?;

-- name: GetUserForUpdate :one
SELECT u.*, a.public_id AS alumnus_public_id
FROM users u LEFT JOIN alumni a ON a.id = u.alumnus_id
WHERE u.public_id = ? FOR UPDATE;

-- name: GetUserByAlumnus :one
SELECT public_id FROM users WHERE alumnus_id = ?;

-- name: LockEnabledAdmins :many
-- LockEnabledAdmins locks every enabled admin, so that two admins cannot both remove the
-- other at the same moment and leave none.
SELECT id FROM users WHERE role = 'admin' AND enabled = TRUE FOR UPDATE;

-- name: UpdateUser :exec
UPDATE users SET version = version + 1, role = ?, enabled = ?, alumnus_id = ?, updated_at = ? WHERE id = ?;

-- name: SetUserPassword :exec
UPDATE users SET version = version + 1, password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?;

-- name: SetUserPasswordHash :exec
-- SetUserPasswordHash replaces the stored hash of the same password (a rehash with stronger
-- parameters); it is not a change the user made.
UPDATE users SET password_hash = ? WHERE id = ?;

-- name: SetUserLastLogin :exec
UPDATE users SET last_login_at = ? WHERE id = ?;

-- name: DeleteUser :exec
DELETE FROM users WHERE id = ?;

-- name: ListUsers :many
SELECT u.*, a.public_id AS alumnus_public_id
FROM users u LEFT JOIN alumni a ON a.id = u.alumnus_id
WHERE (sqlc.narg(role) IS NULL OR u.role = sqlc.narg(role))
  AND (sqlc.narg(enabled) IS NULL OR u.enabled = sqlc.narg(enabled))
  AND (sqlc.narg(email_like) IS NULL OR u.email LIKE sqlc.narg(email_like))
  AND (sqlc.arg(after_set) = FALSE OR u.email > sqlc.arg(after_email))
ORDER BY u.email
LIMIT ?;
