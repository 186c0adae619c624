-- Queries of the batch upsert (internal/alumni/upsert.go), which imports use.

-- name: LockAlumniByStudentIDs :many
-- LockAlumniByStudentIDs locks the records, live or deleted, with these student ids.
SELECT * FROM alumni WHERE student_id IN (sqlc.slice(student_ids)) FOR UPDATE;

-- name: LockAlumniByEmails :many
-- LockAlumniByEmails locks the records, live or deleted, with these emails.
SELECT * FROM alumni WHERE email IN (sqlc.slice(emails)) FOR UPDATE;

-- name: ListAlumniIDs :many
-- ListAlumniIDs returns the internal keys of records by public id (after a multi-row INSERT).
SELECT id, public_id FROM alumni WHERE public_id IN (sqlc.slice(public_ids));
