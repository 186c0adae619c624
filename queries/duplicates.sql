-- name: DeleteDuplicateKeysOf :exec
DELETE FROM alumni_duplicate_keys WHERE alumnus_id IN (sqlc.slice(alumnus_ids));

-- name: ListDuplicateKeysOf :many
-- ListDuplicateKeysOf reads the duplicate keys of records.
SELECT * FROM alumni_duplicate_keys WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY alumnus_id, kind, dup_key;
