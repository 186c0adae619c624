-- name: DeleteDuplicateKeysOf :exec
DELETE FROM alumni_duplicate_keys WHERE alumnus_id IN (sqlc.slice(alumnus_ids));

-- name: ListDuplicateKeysOf :many
-- ListDuplicateKeysOf reads the duplicate keys of records.
SELECT * FROM alumni_duplicate_keys WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) ORDER BY alumnus_id, kind, dup_key;

-- name: ListDuplicateKeyHolders :many
-- ListDuplicateKeyHolders reads who holds keys of one kind (one kind per query: a range per
-- key on the (kind, dup_key) index, where kinds and keys together let the optimizer scan).
SELECT alumnus_id, dup_key FROM alumni_duplicate_keys
WHERE kind = sqlc.arg(kind) AND dup_key IN (sqlc.slice(dup_keys));

-- name: ListLiveAlumniIDsAfter :many
-- ListLiveAlumniIDsAfter walks the live records in key order (a full scoring pass).
SELECT id FROM alumni WHERE id > sqlc.arg(after) AND deleted_at IS NULL ORDER BY id LIMIT ?;

-- name: ListDuplicateWork :many
-- ListDuplicateWork reads, without locking, records waiting to be scored that no worker holds
-- (or whose worker has not finished in time).
SELECT alumnus_id FROM duplicate_work
WHERE claim IS NULL OR claimed_at < sqlc.arg(stale)
ORDER BY alumnus_id LIMIT ?;

-- name: ClaimDuplicateWork :execrows
UPDATE duplicate_work SET claim = sqlc.arg(claim), claimed_at = sqlc.arg(now)
WHERE alumnus_id IN (sqlc.slice(alumnus_ids)) AND (claim IS NULL OR claimed_at < sqlc.arg(stale));

-- name: ListClaimedDuplicateWork :many
SELECT alumnus_id FROM duplicate_work WHERE claim = ?;

-- name: DeleteClaimedDuplicateWork :exec
-- DeleteClaimedDuplicateWork ends a claim; a record marked again meanwhile lost its claim and
-- stays.
DELETE FROM duplicate_work WHERE claim = ?;

-- name: DeleteOpenPairsByLow :exec
DELETE FROM duplicate_pairs WHERE status = 'open' AND low_id IN (sqlc.slice(ids));

-- name: DeleteOpenPairsByHigh :exec
DELETE FROM duplicate_pairs WHERE status = 'open' AND high_id IN (sqlc.slice(ids));

-- name: DeleteOpenPairsScoredBefore :execrows
-- DeleteOpenPairsScoredBefore ends a full scoring pass: open pairs it did not score again are
-- of records gone to the trash.
DELETE FROM duplicate_pairs WHERE status = 'open' AND scored_at < ? LIMIT 1000;

-- name: ListDuplicatePairs :many
-- ListDuplicatePairs pages the pairs of one status best first, after the position given.
SELECT p.* FROM duplicate_pairs p
WHERE p.status = sqlc.arg(status)
  AND (p.score < sqlc.arg(score)
       OR (p.score = sqlc.arg(score) AND (p.low_id < sqlc.arg(low_id)
           OR (p.low_id = sqlc.arg(low_id) AND p.high_id < sqlc.arg(high_id)))))
ORDER BY p.score DESC, p.low_id DESC, p.high_id DESC
LIMIT ?;

-- name: ListPairsOf :many
-- ListPairsOf reads the stored pairs (any status) that record id is one of.
SELECT p.* FROM duplicate_pairs p
WHERE p.low_id = sqlc.arg(id) OR p.high_id = sqlc.arg(id);

-- name: GetDuplicatePair :one
SELECT p.* FROM duplicate_pairs p
WHERE p.low_id = ? AND p.high_id = ?;

-- name: DecideDuplicatePair :exec
-- DecideDuplicatePair sets the status of a pair, storing it with its score if it is not stored.
INSERT INTO duplicate_pairs (low_id, high_id, score, reasons, status, scored_at, decided_by, decided_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE status = VALUES(status), decided_by = VALUES(decided_by), decided_at = VALUES(decided_at);

-- name: ListBlockKeyHolders :many
-- ListBlockKeyHolders reads who holds block keys, with their last names: the finder compares
-- the names before it reads a record whole (most of a block are other people).
SELECT k.alumnus_id, k.dup_key, a.last_name FROM alumni_duplicate_keys k JOIN alumni a ON a.id = k.alumnus_id
WHERE k.kind = 'block' AND k.dup_key IN (sqlc.slice(dup_keys));
