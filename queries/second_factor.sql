-- name: GetUserTOTP :one
SELECT * FROM user_totp WHERE user_id = ?;

-- name: GetUserTOTPForUpdate :one
SELECT * FROM user_totp WHERE user_id = ? FOR UPDATE;

-- name: PutPendingTOTP :exec
-- PutPendingTOTP starts (or restarts) an enrolment: a new secret, not yet confirmed. It never
-- replaces a confirmed factor.
INSERT INTO user_totp (user_id, secret, created_at, confirmed_at, last_step) VALUES (?, ?, ?, NULL, 0)
ON DUPLICATE KEY UPDATE
  secret = IF(confirmed_at IS NULL, VALUES(secret), secret),
  created_at = IF(confirmed_at IS NULL, VALUES(created_at), created_at);

-- name: ConfirmTOTP :execrows
UPDATE user_totp SET confirmed_at = ? WHERE user_id = ? AND confirmed_at IS NULL;

-- name: UseTOTPStep :execrows
-- UseTOTPStep records that the code of time step was accepted; it changes nothing (0 rows)
-- when that step or a later one was accepted before, so a code never works twice.
UPDATE user_totp SET last_step = sqlc.arg(step) WHERE user_id = sqlc.arg(user_id) AND last_step < sqlc.arg(step);

-- name: DeleteUserTOTP :execrows
DELETE FROM user_totp WHERE user_id = ?;

-- name: CreateRecoveryCode :exec
INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?);

-- name: DeleteRecoveryCodes :exec
DELETE FROM recovery_codes WHERE user_id = ?;

-- name: UseRecoveryCode :execrows
-- UseRecoveryCode spends one unused code; 0 rows when there is no such unused code.
UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL;

-- name: CountRecoveryCodesLeft :one
SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL;

-- name: CreateLoginChallenge :exec
INSERT INTO login_challenges (token_hash, user_id, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?);

-- name: GetLoginChallenge :one
-- GetLoginChallenge finds a challenge that can still be answered.
SELECT c.id, c.user_id, c.purpose, c.expires_at, u.public_id AS user_public_id, u.enabled
FROM login_challenges c JOIN users u ON u.id = c.user_id
WHERE c.token_hash = sqlc.arg(token_hash) AND c.used_at IS NULL AND c.expires_at > sqlc.arg(now) AND c.failures < sqlc.arg(max_failures);

-- name: UseLoginChallenge :execrows
-- UseLoginChallenge spends a challenge; 0 rows when another request spent it first.
UPDATE login_challenges SET used_at = ? WHERE id = ? AND used_at IS NULL;

-- name: FailLoginChallenge :exec
UPDATE login_challenges SET failures = failures + 1 WHERE id = ?;

-- name: PurgeLoginChallenges :execrows
DELETE FROM login_challenges WHERE expires_at < ? LIMIT 1000;

-- name: GetLoginChallengeByID :one
-- GetLoginChallengeByID finds a challenge that can still be answered, by its key (a passkey
-- ceremony names the challenge it answers).
SELECT c.id, c.user_id, c.purpose, c.expires_at
FROM login_challenges c
WHERE c.id = sqlc.arg(id) AND c.used_at IS NULL AND c.expires_at > sqlc.arg(now) AND c.failures < sqlc.arg(max_failures);
