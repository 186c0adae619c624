-- name: CreatePasskey :exec
INSERT INTO passkeys (public_id, user_id, credential_id, name, record, created_at) VALUES (?, ?, ?, ?, ?, ?);

-- name: ListUserPasskeys :many
SELECT * FROM passkeys WHERE user_id = ? ORDER BY created_at, id;

-- name: CountUserPasskeys :one
SELECT COUNT(*) FROM passkeys WHERE user_id = ?;

-- name: GetPasskeyByCredentialForUpdate :one
-- GetPasskeyByCredentialForUpdate locks the passkey an assertion names, so that two
-- assertions of it (on any replicas) check and advance its signature counter one at a time.
SELECT p.*, u.public_id AS user_public_id
FROM passkeys p JOIN users u ON u.id = p.user_id
WHERE p.credential_id = ? FOR UPDATE;

-- name: UsePasskey :exec
UPDATE passkeys SET record = ?, last_used_at = ? WHERE id = ?;

-- name: SetPasskeyCloneWarning :exec
UPDATE passkeys SET clone_warning = TRUE WHERE id = ?;

-- name: DeleteUserPasskey :execrows
DELETE FROM passkeys WHERE public_id = ? AND user_id = ?;

-- name: DeleteUserPasskeys :execrows
DELETE FROM passkeys WHERE user_id = ?;

-- name: CreateWebAuthnCeremony :exec
INSERT INTO webauthn_ceremonies (token_hash, purpose, user_id, login_challenge_id, session, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: GetWebAuthnCeremonyForUpdate :one
SELECT * FROM webauthn_ceremonies WHERE token_hash = ? FOR UPDATE;

-- name: UseWebAuthnCeremony :execrows
-- UseWebAuthnCeremony spends a ceremony; 0 rows when another request spent it first.
UPDATE webauthn_ceremonies SET used_at = ? WHERE id = ? AND used_at IS NULL;

-- name: PurgeWebAuthnCeremonies :execrows
DELETE FROM webauthn_ceremonies WHERE expires_at < ? LIMIT 1000;

-- name: CountUserIdentities :one
SELECT COUNT(*) FROM user_identities WHERE user_id = ?;
