-- name: GetThrottles :many
-- GetThrottles reads the counters of the buckets of one attempt in one round trip.
SELECT bucket, window_start, failures, pending FROM login_throttle WHERE bucket IN (sqlc.slice(buckets));

-- name: AdmitAttempt :exec
-- AdmitAttempt counts an attempt being checked (pending), starting a new window when the
-- current one began before window_floor.
INSERT INTO login_throttle (bucket, window_start, failures, pending) VALUES (sqlc.arg(bucket), sqlc.arg(now), 0, 1)
ON DUPLICATE KEY UPDATE
  failures = IF(window_start < sqlc.arg(window_floor), 0, failures),
  pending = IF(window_start < sqlc.arg(window_floor), 1, pending + 1),
  window_start = IF(window_start < sqlc.arg(window_floor), sqlc.arg(now), window_start);

-- name: SettleAttempt :exec
-- SettleAttempt ends a pending attempt, adding failed (0 or 1) to the failures, if the window
-- it was admitted in is still the current one.
UPDATE login_throttle SET pending = GREATEST(pending - 1, 0), failures = failures + sqlc.arg(failed)
WHERE bucket = sqlc.arg(bucket) AND window_start >= sqlc.arg(window_floor);

-- name: CountFailure :exec
-- CountFailure adds a failure to bucket, starting a new window when the current one began
-- before window_floor. (MySQL applies SET assignments left to right: failures reads the old
-- window_start.)
INSERT INTO login_throttle (bucket, window_start, failures) VALUES (sqlc.arg(bucket), sqlc.arg(now), 1)
ON DUPLICATE KEY UPDATE
  failures = IF(window_start < sqlc.arg(window_floor), 1, failures + 1),
  window_start = IF(window_start < sqlc.arg(window_floor), sqlc.arg(now), window_start);

-- name: ClearThrottle :exec
-- ClearThrottle forgets the failures of a bucket (after a right password). It updates rather
-- than deletes, so it never takes gap locks that could deadlock with CountFailure.
UPDATE login_throttle SET failures = 0 WHERE bucket = ?;

-- name: PurgeThrottle :execrows
DELETE FROM login_throttle WHERE window_start < ? LIMIT 1000;

-- name: RememberClient :exec
INSERT INTO login_known_clients (bucket, last_success_at) VALUES (sqlc.arg(bucket), sqlc.arg(now))
ON DUPLICATE KEY UPDATE last_success_at = sqlc.arg(now);

-- name: KnownClientSince :one
SELECT last_success_at FROM login_known_clients WHERE bucket = ?;

-- name: PurgeKnownClients :execrows
DELETE FROM login_known_clients WHERE last_success_at < ? LIMIT 1000;

