-- name: ClaimIdempotencyKey :exec
-- ClaimIdempotencyKey claims a key for a request; it fails with a duplicate-key error when the
-- key is taken (see GetIdempotencyKey).
INSERT INTO idempotency_keys (user_id, operation, idem_key, state, claim_token, lease_until, fingerprint, body, created_at, expires_at)
VALUES (?, ?, ?, 'pending', ?, ?, '', '', ?, ?);

-- name: GetIdempotencyKey :one
SELECT state, lease_until, expires_at, fingerprint, status, location, etag, content_type, body
FROM idempotency_keys WHERE user_id = ? AND operation = ? AND idem_key = ?;

-- name: TakeOverIdempotencyKey :execrows
-- TakeOverIdempotencyKey gives a new request a key whose pending claim ran past its lease
-- (its replica stopped) or that expired and was not purged yet; 0 rows when neither holds.
UPDATE idempotency_keys
SET state = 'pending', claim_token = sqlc.arg(claim_token), lease_until = sqlc.arg(lease_until),
    fingerprint = '', status = NULL, location = NULL, etag = NULL, content_type = NULL, body = '',
    created_at = sqlc.arg(created_at), expires_at = sqlc.arg(expires_at)
WHERE user_id = sqlc.arg(user_id) AND operation = sqlc.arg(operation) AND idem_key = sqlc.arg(idem_key)
  AND ((state = 'pending' AND lease_until < sqlc.arg(now)) OR expires_at < sqlc.arg(now));

-- name: CompleteIdempotencyKey :execrows
-- CompleteIdempotencyKey stores the answer to the request that holds the claim; 0 rows when
-- the claim is no longer its own.
UPDATE idempotency_keys SET state = 'done', fingerprint = ?, status = ?, location = ?, etag = ?, content_type = ?, body = ?
WHERE user_id = ? AND operation = ? AND idem_key = ? AND state = 'pending' AND claim_token = ?;

-- name: ReleaseIdempotencyKey :exec
-- ReleaseIdempotencyKey deletes a claim that its request gives up, so that a retry runs anew.
DELETE FROM idempotency_keys
WHERE user_id = ? AND operation = ? AND idem_key = ? AND state = 'pending' AND claim_token = ?;

-- name: PurgeIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE expires_at < ? ORDER BY expires_at LIMIT 1000;
