-- name: ListSettings :many
SELECT * FROM settings ORDER BY name;

-- name: LockSettings :many
SELECT name FROM settings ORDER BY name FOR UPDATE;

-- name: PutSetting :exec
INSERT INTO settings (name, value, updated_at, updated_by) VALUES (sqlc.arg(name), sqlc.arg(value), sqlc.arg(updated_at), sqlc.arg(updated_by))
ON DUPLICATE KEY UPDATE value = sqlc.arg(value), updated_at = sqlc.arg(updated_at), updated_by = sqlc.arg(updated_by);
