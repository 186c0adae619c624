-- Exports read records in chunks of consecutive keys (internal/alumni/export.go); when a
-- chunk's keys are dense, its degrees and tags are one index range, cheaper than a long IN list.

-- name: ListDegreesBetween :many
SELECT * FROM degrees WHERE alumnus_id BETWEEN sqlc.arg(first_id) AND sqlc.arg(last_id) ORDER BY alumnus_id, position;

-- name: ListTagsBetween :many
SELECT * FROM alumni_tags WHERE alumnus_id BETWEEN sqlc.arg(first_id) AND sqlc.arg(last_id) ORDER BY alumnus_id, tag;
