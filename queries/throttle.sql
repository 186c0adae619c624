-- name: GetThrottle :one
SELECT window_start, failures FROM login_throttle WHERE bucket = ?;

-- name: CountFailure :exec
-- CountFailure adds a failure to bucket, starting a new window when the current one began
-- before window_floor. (MySQL applies SET assignments left to right: failures reads the old
-- window_start.)
INSERT INTO login_throttle (bucket, window_start, failures) VALUES (sqlc.arg(bucket), sqlc.arg(now), 1)
ON DUPLICATE KEY UPDATE
  failures = IF(window_start < sqlc.arg(window_floor), 1, failures + 1),
  window_start = IF(window_start < sqlc.arg(window_floor), sqlc.arg(now), window_start);

-- name: ClearThrottle :exec
DELETE FROM login_throttle WHERE bucket = ?;

-- name: PurgeThrottle :execrows
DELETE FROM login_throttle WHERE window_start < ? LIMIT 1000;

-- name: RememberClient :exec
INSERT INTO login_known_clients (bucket, last_success_at) VALUES (sqlc.arg(bucket), sqlc.arg(now))
ON DUPLICATE KEY UPDATE last_success_at = sqlc.arg(now);

-- name: KnownClientSince :one
SELECT last_success_at FROM login_known_clients WHERE bucket = ?;

-- name: PurgeKnownClients :execrows
DELETE FROM login_known_clients WHERE last_success_at < ? LIMIT 1000;

-- name: ReleaseFailure :exec
-- ReleaseFailure takes back one failure counted at a time between window_floor and now, if the
-- bucket is still in that window.
UPDATE login_throttle SET failures = failures - 1
WHERE bucket = sqlc.arg(bucket) AND failures > 0 AND window_start BETWEEN sqlc.arg(window_floor) AND sqlc.arg(now);

-- name: DropEmptyThrottle :exec
DELETE FROM login_throttle WHERE bucket = ? AND failures = 0;
