-- Queries of merges (internal/alumni/merge.go).

-- name: LockAlumniByIDs :many
-- LockAlumniByIDs locks records by internal key, in key order (two merges of the same records
-- lock them in the same order).
SELECT * FROM alumni WHERE id IN (sqlc.slice(ids)) ORDER BY id FOR UPDATE;

-- name: SetAlumnusVersion :exec
-- SetAlumnusVersion sets the version of a record brought back by an undo (its ETags go on
-- from where they were).
UPDATE alumni SET version = ? WHERE id = ?;

-- name: CreateMerge :execresult
INSERT INTO merges (public_id, survivor_id, absorbed_public_id, survivor_before, absorbed_before,
  survivor_version_after, merged_at, merged_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: GetMergeForUpdate :one
SELECT * FROM merges WHERE public_id = ? FOR UPDATE;

-- name: SetMergeUndone :exec
UPDATE merges SET undone_at = ? WHERE id = ?;

-- name: ListMergeIDsOf :many
-- ListMergeIDsOf returns the merges into the record with internal key survivor_id.
SELECT id FROM merges WHERE survivor_id = ? ORDER BY id FOR UPDATE;

-- name: RepointMerges :exec
-- RepointMerges moves merges to another survivor: that of the later merge superseded_by, or
-- (NULL) back to their own on its undo.
UPDATE merges SET survivor_id = sqlc.arg(to_id), superseded_by = sqlc.narg(superseded_by) WHERE id IN (sqlc.slice(ids));

-- name: GetMergePublicID :one
SELECT public_id FROM merges WHERE id = ?;

-- name: CreateAbsorbed :exec
INSERT INTO alumni_absorbed (absorbed_public_id, survivor_id, merge_id, student_id, email, work_email)
VALUES (?, ?, ?, ?, ?, ?);

-- name: ListAbsorbedOf :many
-- ListAbsorbedOf returns the absorbed ids that live on the record with internal key survivor_id.
SELECT absorbed_public_id FROM alumni_absorbed WHERE survivor_id = ? ORDER BY absorbed_public_id;

-- name: RepointAbsorbed :exec
-- RepointAbsorbed moves absorbed ids to another record.
UPDATE alumni_absorbed SET survivor_id = sqlc.arg(to_id)
WHERE absorbed_public_id IN (sqlc.slice(absorbed_public_ids));

-- name: DeleteAbsorbed :exec
DELETE FROM alumni_absorbed WHERE absorbed_public_id = ?;

-- name: GetSurvivorOf :one
-- GetSurvivorOf returns the public id of the live record an absorbed id lives on.
SELECT a.public_id FROM alumni_absorbed x JOIN alumni a ON a.id = x.survivor_id
WHERE x.absorbed_public_id = ?;

-- name: ListSurvivorsByKeys :many
-- ListSurvivorsByKeys returns the absorbed natural keys among these student ids and emails,
-- with the internal key of the record each lives on (an import's lookup after the live one).
SELECT survivor_id, student_id, email, work_email FROM alumni_absorbed
WHERE student_id IN (sqlc.slice(student_ids)) OR email IN (sqlc.slice(emails)) OR work_email IN (sqlc.slice(work_emails));

-- name: LockUsersOfAlumni :many
-- LockUsersOfAlumni locks the user accounts linked to these records.
SELECT id, public_id, alumnus_id FROM users WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY id FOR UPDATE;

-- name: MoveUserToAlumnus :exec
UPDATE users SET version = version + 1, alumnus_id = ?, updated_at = ? WHERE id = ?;

-- name: ListInviteIDsOf :many
SELECT id FROM invites WHERE alumnus_id = ? ORDER BY id FOR UPDATE;

-- name: MoveInvites :exec
UPDATE invites SET alumnus_id = sqlc.arg(to_id) WHERE id IN (sqlc.slice(ids));

-- name: DeleteAlumnusRow :exec
-- DeleteAlumnusRow removes a record merged into another; its degrees, tags, duplicate keys,
-- pairs and marks go with it (ON DELETE CASCADE).
DELETE FROM alumni WHERE id = ?;

-- name: KeepMergesUndoable :exec
-- KeepMergesUndoable moves the expected survivor version of merges whose survivor returns from
-- an undo unchanged (at old_version) to the version it returns with.
UPDATE merges SET survivor_version_after = sqlc.arg(new_version)
WHERE id IN (sqlc.slice(ids)) AND survivor_version_after = sqlc.arg(old_version);
