-- name: CreateAlumnus :execresult
INSERT INTO alumni (
  public_id, student_id, first_name, last_name, preferred_name, enrolled_name,
  email, work_email, phone,
  address_line1, address_line2, city, region, postal_code, country,
  employer, job_title, industry, linkedin_url, website_url,
  directory_consent, do_not_email, do_not_mail, do_not_phone, do_not_sms,
  status, notes, created_at, updated_at
) VALUES (
  ?, ?, ?, ?, ?, ?,
  ?, ?, ?,
  ?, ?, ?, ?, ?, ?,
  ?, ?, ?, ?, ?,
  ?, ?, ?, ?, ?,
  ?, ?, ?, ?
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
  status = ?, notes = ?, updated_at = ?
WHERE id = ?;

-- name: SetAlumnusDeletedAt :exec
-- SetAlumnusDeletedAt moves a record into the trash (a time) or out of it (NULL).
UPDATE alumni SET version = version + 1, deleted_at = ?, updated_at = ? WHERE id = ?;

-- name: ListAlumni :many
-- ListAlumni returns one page in (last_name, first_name, public_id) order, after the keyset
-- position when after_set is true. Degree filters must all hold for one and the same degree.
SELECT a.* FROM alumni a
WHERE ((sqlc.arg(deleted) = TRUE AND a.deleted_at IS NOT NULL) OR (sqlc.arg(deleted) = FALSE AND a.deleted_at IS NULL))
  AND (sqlc.arg(consent_only) = FALSE OR a.directory_consent = TRUE)
  AND (sqlc.arg(directory_only) = FALSE OR (a.directory_consent = TRUE AND a.status <> 'deceased'))
  AND (sqlc.narg(country) IS NULL OR a.country = sqlc.narg(country))
  AND (sqlc.narg(status) IS NULL OR a.status = sqlc.narg(status))
  AND (sqlc.narg(tag) IS NULL OR EXISTS (
        SELECT 1 FROM alumni_tags t WHERE t.alumnus_id = a.id AND t.tag = sqlc.narg(tag)))
  AND (sqlc.arg(degree_filter) = FALSE OR EXISTS (
        SELECT 1 FROM degrees d
        WHERE d.alumnus_id = a.id
          AND (sqlc.narg(program) IS NULL OR d.program = sqlc.narg(program))
          AND (sqlc.narg(faculty) IS NULL OR d.faculty = sqlc.narg(faculty))
          AND (sqlc.narg(year_from) IS NULL OR d.graduation_year >= sqlc.narg(year_from))
          AND (sqlc.narg(year_to) IS NULL OR d.graduation_year <= sqlc.narg(year_to))))
  AND (sqlc.arg(after_set) = FALSE
       OR a.last_name > sqlc.arg(after_last_name)
       OR (a.last_name = sqlc.arg(after_last_name) AND a.first_name > sqlc.arg(after_first_name))
       OR (a.last_name = sqlc.arg(after_last_name) AND a.first_name = sqlc.arg(after_first_name)
           AND a.public_id > sqlc.arg(after_public_id)))
ORDER BY a.last_name, a.first_name, a.public_id
LIMIT ?;

-- name: ListDegrees :many
SELECT * FROM degrees WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY alumnus_id, position;

-- name: DeleteDegrees :exec
DELETE FROM degrees WHERE alumnus_id = ?;

-- name: CreateDegree :exec
INSERT INTO degrees (
  alumnus_id, position, degree, program, faculty, graduation_year, preferred_class_year, is_primary
) VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: ListTags :many
SELECT * FROM alumni_tags WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY alumnus_id, tag;

-- name: DeleteTags :exec
DELETE FROM alumni_tags WHERE alumnus_id = ?;

-- name: CreateTag :exec
INSERT INTO alumni_tags (alumnus_id, tag) VALUES (?, ?);

-- name: FirstDirectoryAlumnus :one
-- FirstDirectoryAlumnus picks the record the demo alumnus user is linked to.
SELECT public_id FROM alumni
WHERE deleted_at IS NULL AND directory_consent = TRUE AND status <> 'deceased'
ORDER BY id LIMIT 1;
