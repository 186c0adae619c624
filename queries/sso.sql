-- name: GetUserByIdentity :one
SELECT i.id AS identity_id, u.id, u.public_id, u.email, u.role, u.enabled
FROM user_identities i JOIN users u ON u.id = i.user_id
WHERE i.issuer = ? AND i.subject = ?;

-- name: CreateUserIdentity :exec
INSERT INTO user_identities (user_id, issuer, subject, created_at, last_login_at) VALUES (?, ?, ?, ?, ?);

-- name: TouchUserIdentity :exec
UPDATE user_identities SET last_login_at = ? WHERE id = ?;

-- name: SetUserRole :exec
UPDATE users SET role = ?, version = version + 1, updated_at = ? WHERE id = ?;

-- name: CreateSSOLogin :exec
INSERT INTO sso_logins (state_hash, binding_hash, provider, nonce, verifier, return_to, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: GetSSOLoginByStateForUpdate :one
SELECT * FROM sso_logins WHERE state_hash = ? FOR UPDATE;

-- name: SetSSOLoginCalledBack :execrows
-- SetSSOLoginCalledBack spends the state: 0 rows when another callback spent it first.
UPDATE sso_logins SET called_back_at = ? WHERE id = ? AND called_back_at IS NULL;

-- name: SetSSOLoginTicket :exec
UPDATE sso_logins SET user_id = ?, ticket_hash = ? WHERE id = ?;

-- name: GetSSOLoginByTicket :one
SELECT * FROM sso_logins WHERE ticket_hash = ? AND redeemed_at IS NULL AND expires_at > ?;

-- name: RedeemSSOLogin :execrows
UPDATE sso_logins SET redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL;

-- name: PurgeSSOLogins :execrows
DELETE FROM sso_logins WHERE expires_at < ? LIMIT 1000;
