-- name: CreateInvite :exec
INSERT INTO invites (public_id, token_hash, alumnus_id, email, created_by, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: GetInviteForUpdate :one
SELECT i.*, a.public_id AS alumnus_public_id, a.deleted_at AS alumnus_deleted_at
FROM invites i JOIN alumni a ON a.id = i.alumnus_id
WHERE i.token_hash = ? FOR UPDATE;

-- name: AcceptInvite :exec
UPDATE invites SET accepted_at = ? WHERE id = ?;

-- name: GetUserIDByPublicID :one
SELECT id FROM users WHERE public_id = ?;

-- name: GetInvite :one
SELECT i.*, a.public_id AS alumnus_public_id, a.deleted_at AS alumnus_deleted_at
FROM invites i JOIN alumni a ON a.id = i.alumnus_id
WHERE i.token_hash = ?;
