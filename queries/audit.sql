-- name: CreateAuditEvent :exec
INSERT INTO audit_events (occurred_at, actor_id, actor_role, action, entity_type, entity_id, changes, request_id, client_ip)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: ListAuditEvents :many
-- ListAuditEvents returns events newest first, after the cursor's id.
SELECT * FROM audit_events
WHERE (sqlc.narg(actor_id) IS NULL OR actor_id = sqlc.narg(actor_id))
  AND (sqlc.narg(entity_type) IS NULL OR entity_type = sqlc.narg(entity_type))
  AND (sqlc.narg(entity_id) IS NULL OR entity_id = sqlc.narg(entity_id))
  AND (sqlc.narg(action) IS NULL OR action = sqlc.narg(action))
  AND (sqlc.narg(from_time) IS NULL OR occurred_at >= sqlc.narg(from_time))
  AND (sqlc.narg(before) IS NULL OR occurred_at < sqlc.narg(before))
  AND (sqlc.arg(before_id) = 0 OR id < sqlc.arg(before_id))
ORDER BY id DESC
LIMIT ?;

-- name: ListAuditEntitiesAfter :many
-- ListAuditEntitiesAfter names the entity of each event after an id, in id order (the search
-- index follows the trail so).
SELECT id, entity_type, COALESCE(entity_id, '') AS entity_id FROM audit_events WHERE id > sqlc.arg(after) ORDER BY id LIMIT ?;

-- name: ListAuditEntitiesByIDs :many
-- ListAuditEntitiesByIDs names the entity of the events with the given ids that exist.
SELECT id, entity_type, COALESCE(entity_id, '') AS entity_id FROM audit_events WHERE id IN (sqlc.slice(ids));
