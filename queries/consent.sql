-- name: GetAlumnusKey :one
-- GetAlumnusKey returns the internal key of a record, live or in the trash.
SELECT id, deleted_at FROM alumni WHERE public_id = ?;

-- name: ListConsentChanges :many
-- ListConsentChanges returns a record's consent changes oldest first, after the cursor's id.
SELECT id, field, value, changed_at, actor_id, actor_role, source FROM alumni_consent_changes
WHERE alumnus_id = sqlc.arg(alumnus_id) AND (sqlc.arg(after_id) = 0 OR id > sqlc.arg(after_id))
ORDER BY id
LIMIT ?;
