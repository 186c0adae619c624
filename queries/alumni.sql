-- name: CreateAlumnus :execresult
INSERT INTO alumni (
  public_id, student_id, first_name, last_name, preferred_name, enrolled_name,
  email, work_email, phone,
  address_line1, address_line2, city, region, postal_code, country,
  employer, job_title, industry, linkedin_url, website_url,
  directory_consent, do_not_email, do_not_mail, do_not_phone, do_not_sms,
  status, class_year, notes, created_at, updated_at
) VALUES (
  ?, ?, ?, ?, ?, ?,
  ?, ?, ?,
  ?, ?, ?, ?, ?, ?,
  ?, ?, ?, ?, ?,
  ?, ?, ?, ?, ?,
  ?, ?, ?, ?, ?
);

-- name: GetAlumnus :one
-- GetAlumnus returns a live (not deleted) record.
SELECT * FROM alumni WHERE public_id = ? AND deleted_at IS NULL;

-- name: GetAlumnusForUpdate :one
-- GetAlumnusForUpdate locks a record, live or deleted, for the rest of the transaction.
SELECT * FROM alumni WHERE public_id = ? FOR UPDATE;

-- name: UpdateAlumnus :exec
UPDATE alumni SET
  version = version + 1,
  student_id = ?, first_name = ?, last_name = ?, preferred_name = ?, enrolled_name = ?,
  email = ?, work_email = ?, phone = ?,
  address_line1 = ?, address_line2 = ?, city = ?, region = ?, postal_code = ?, country = ?,
  employer = ?, job_title = ?, industry = ?, linkedin_url = ?, website_url = ?,
  directory_consent = ?, do_not_email = ?, do_not_mail = ?, do_not_phone = ?, do_not_sms = ?,
  status = ?, class_year = ?, notes = ?, updated_at = ?
WHERE id = ?;

-- name: SetAlumnusDeletedAt :exec
-- SetAlumnusDeletedAt moves a record into the trash (a time) or out of it (NULL).
UPDATE alumni SET version = version + 1, deleted_at = ?, updated_at = ? WHERE id = ?;

-- name: ListAlumniByIDs :many
-- ListAlumniByIDs reads the records a list query found (in any order).
SELECT * FROM alumni WHERE id IN (sqlc.slice(ids));

-- name: ListDegrees :many
SELECT * FROM degrees WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY alumnus_id, position;

-- name: DeleteDegreesOf :exec
DELETE FROM degrees WHERE alumnus_id IN (sqlc.slice(alumnus_ids));

-- name: ListTags :many
SELECT * FROM alumni_tags WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY alumnus_id, tag;

-- name: DeleteTagsOf :exec
DELETE FROM alumni_tags WHERE alumnus_id IN (sqlc.slice(alumnus_ids));

-- name: FirstDirectoryAlumnus :one
-- FirstDirectoryAlumnus picks the record the demo alumnus user is linked to.
SELECT public_id FROM alumni
WHERE deleted_at IS NULL AND directory_consent = TRUE AND status <> 'deceased'
ORDER BY id LIMIT 1;

-- name: ListAlumniByKey :many
-- ListAlumniByKey walks every record, live or deleted, in key order, and locks the rows read
-- for the rest of the transaction, so that rebuilding what is derived from them (search index,
-- counts) cannot interleave with a change to them.
SELECT * FROM alumni WHERE id > sqlc.arg(after) ORDER BY id LIMIT ? FOR UPDATE;

-- name: ListAlumniAccessByPublicIDs :many
-- What deciding who may read a record needs (the real-time feed).
SELECT public_id, directory_consent, status, deleted_at FROM alumni WHERE public_id IN (sqlc.slice(public_ids));

-- name: ReadAlumniAfter :many
-- ReadAlumniAfter reads records, live or deleted, in key order without locking them (the
-- search index loads them so, while changes go on).
SELECT * FROM alumni WHERE id > sqlc.arg(after) ORDER BY id LIMIT ?;

-- name: ListAlumniByPublicIDs :many
-- ListAlumniByPublicIDs reads records by public id (the search index reads changed records
-- again).
SELECT * FROM alumni WHERE public_id IN (sqlc.slice(public_ids));
