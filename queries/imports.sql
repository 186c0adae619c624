-- Import jobs (internal/importer): the job, its staged rows and the problems found.

-- name: CreateImportJob :execresult
INSERT INTO import_jobs (
  public_id, status, file_name, field_delimiter, column_map, ignored_columns,
  actor_id, actor_role, request_id, client_ip, created_at, updated_at
) VALUES (?, 'receiving', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: TouchImportUpload :exec
-- TouchImportUpload marks an upload in progress as alive, so the purge leaves it alone.
UPDATE import_jobs SET updated_at = ? WHERE id = ? AND status = 'receiving';

-- name: QueueImportJob :execrows
-- QueueImportJob hands a fully received upload to the workers.
UPDATE import_jobs SET status = 'queued', dry_run = ?, file_size = ?, total_rows = ?, next_row = ?, updated_at = ?
WHERE id = ? AND status = 'receiving';

-- name: DeleteImportJob :exec
DELETE FROM import_jobs WHERE id = ?;

-- name: GetImportJob :one
-- GetImportJob returns a job the API may show (not an upload still being received).
SELECT * FROM import_jobs WHERE public_id = ? AND status <> 'receiving';

-- name: ListImportJobs :many
-- ListImportJobs returns jobs newest first, after the cursor's id.
SELECT * FROM import_jobs
WHERE status <> 'receiving' AND (sqlc.arg(before_id) = 0 OR id < sqlc.arg(before_id))
ORDER BY id DESC
LIMIT ?;

-- name: ListClaimableImportJobs :many
-- ListClaimableImportJobs returns queued jobs and running jobs whose worker's lease expired.
SELECT id FROM import_jobs
WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < sqlc.arg(expired_before))
ORDER BY id
LIMIT 10;

-- name: ClaimImportJob :execrows
-- ClaimImportJob takes a job for a worker, atomically: of several workers trying at once,
-- exactly one changes the row.
UPDATE import_jobs SET
  status = 'running', lease_owner = sqlc.arg(owner), lease_expires_at = sqlc.arg(lease_expires_at),
  started_at = COALESCE(started_at, sqlc.narg(started_at)), updated_at = sqlc.arg(now)
WHERE id = sqlc.arg(id) AND (status = 'queued' OR (status = 'running' AND lease_expires_at < sqlc.arg(expired_before)));

-- name: LockImportJob :one
SELECT * FROM import_jobs WHERE id = ? FOR UPDATE;

-- name: SaveImportProgress :exec
-- SaveImportProgress records a batch: where the next one starts, the counts so far, and a
-- renewed lease.
UPDATE import_jobs SET
  next_row = ?, processed_rows = ?, created_count = ?, updated_count = ?, unchanged_count = ?,
  rejected_count = ?, error_count = ?, lease_expires_at = ?, updated_at = ?
WHERE id = ?;

-- name: FinishImportJob :exec
UPDATE import_jobs SET
  status = ?, failure = ?, lease_owner = NULL, lease_expires_at = NULL, finished_at = ?, updated_at = ?
WHERE id = ?;

-- name: ReleaseImportJob :exec
-- ReleaseImportJob lets another worker take a job at once (this one is stopping, or its batch
-- failed: failed is 1 then, 0 otherwise).
UPDATE import_jobs SET lease_expires_at = sqlc.arg(lease_expires_at), failed_attempts = failed_attempts + sqlc.arg(failed)
WHERE id = sqlc.arg(id) AND lease_owner = sqlc.arg(lease_owner) AND status = 'running';

-- name: MarkRepeatedStudentIDs :exec
-- MarkRepeatedStudentIDs notes on each staged row whose student id an earlier row of the file
-- has the first such row.
UPDATE import_rows r
JOIN (
  SELECT s.student_key, MIN(s.row_no) AS first_row FROM import_rows s
  WHERE s.import_id = sqlc.arg(import_id) AND s.student_key IS NOT NULL
  GROUP BY s.student_key HAVING COUNT(*) > 1
) f ON f.student_key = r.student_key
SET r.first_student_row = f.first_row
WHERE r.import_id = sqlc.arg(import_id) AND r.row_no > f.first_row;

-- name: MarkRepeatedEmails :exec
-- MarkRepeatedEmails does the same for emails.
UPDATE import_rows r
JOIN (
  SELECT s.email_key, MIN(s.row_no) AS first_row FROM import_rows s
  WHERE s.import_id = sqlc.arg(import_id) AND s.email_key IS NOT NULL
  GROUP BY s.email_key HAVING COUNT(*) > 1
) f ON f.email_key = r.email_key
SET r.first_email_row = f.first_row
WHERE r.import_id = sqlc.arg(import_id) AND r.row_no > f.first_row;

-- name: ListImportRows :many
-- ListImportRows returns the next staged rows from a row number on.
SELECT row_no, line_no, data, problem, problem_column, first_student_row, first_email_row
FROM import_rows
WHERE import_id = ? AND row_no >= ?
ORDER BY row_no
LIMIT ?;

-- name: DeleteImportRows :execrows
-- DeleteImportRows deletes a job's staged rows, a chunk at a time.
DELETE FROM import_rows WHERE import_id = ? LIMIT 5000;

-- name: CreateImportError :exec
INSERT INTO import_errors (import_id, row_no, line_no, column_name, field, message)
VALUES (?, ?, ?, ?, ?, ?);

-- name: ListImportErrors :many
-- ListImportErrors returns a job's problems in the order they were found (row order), after
-- the cursor's id.
SELECT * FROM import_errors WHERE import_id = ? AND id > ? ORDER BY id LIMIT ?;

-- name: PurgeAbandonedUploadRows :execrows
-- PurgeAbandonedUploadRows deletes the staged rows of uploads that stopped arriving.
DELETE FROM import_rows
WHERE import_id IN (SELECT id FROM import_jobs WHERE status = 'receiving' AND updated_at < ?)
LIMIT 5000;

-- name: PurgeAbandonedUploads :execrows
DELETE FROM import_jobs WHERE status = 'receiving' AND updated_at < ? LIMIT 100;

-- name: PurgeOldImportErrors :execrows
-- PurgeOldImportErrors deletes the problems of jobs that finished before a time.
DELETE FROM import_errors
WHERE import_id IN (SELECT id FROM import_jobs WHERE finished_at < ?)
LIMIT 5000;

-- name: PurgeOldImportJobs :execrows
DELETE FROM import_jobs WHERE finished_at < ? LIMIT 1000;
