-- name: CreateSession :execresult
INSERT INTO sessions (public_id, user_id, created_at, refreshed_at, idle_expires_at, expires_at, client_ip)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: GetSessionAuth :one
-- GetSessionAuth is the check every authenticated request makes: primary-key lookups, with
-- the access-token lifetime in effect (no row: the default).
SELECT s.id, s.ended_at, s.expires_at, u.id AS user_id, u.public_id AS user_public_id, u.role, u.enabled,
  a.public_id AS alumnus_public_id, COALESCE(st.value, 'null') AS access_token_minutes
FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN alumni a ON a.id = u.alumnus_id
  LEFT JOIN settings st ON st.name = 'accessTokenMinutes'
WHERE s.public_id = ?;

-- name: GetSessionForUpdate :one
SELECT * FROM sessions WHERE id = ? FOR UPDATE;

-- name: TouchSession :exec
UPDATE sessions SET refreshed_at = ?, idle_expires_at = ? WHERE id = ?;

-- name: EndSession :execrows
UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL;

-- name: EndUserSessions :execrows
UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND ended_at IS NULL;

-- name: EndOtherUserSessions :execrows
UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user_id = ? AND id <> ? AND ended_at IS NULL;

-- name: PurgeSessions :execrows
-- PurgeSessions deletes sessions (and with them their refresh tokens) that ended or expired
-- before a time, a batch at a time.
DELETE FROM sessions WHERE expires_at < ? OR ended_at < ? LIMIT 1000;

-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES (?, ?, ?);

-- name: GetRefreshTokenForUpdate :one
SELECT * FROM refresh_tokens WHERE token_hash = ? FOR UPDATE;

-- name: UseRefreshToken :exec
UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?;

-- name: GetSession :one
SELECT * FROM sessions WHERE id = ?;
