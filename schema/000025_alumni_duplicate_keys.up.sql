-- The keys a duplicate finder compares records by (alumni.DuplicateKeys, docs/STEWARDSHIP.md):
-- identifiers in normal forms and loose names with the class year, one row per record and key.
-- Written by the write path with the record's degrees and tags (a change rewrites them), and
-- by `alumnid reindex` for records written before this table existed. The second index finds
-- the records sharing a key.
CREATE TABLE alumni_duplicate_keys (
  alumnus_id BIGINT       NOT NULL,
  kind       VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  dup_key    VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (alumnus_id, kind, dup_key),
  KEY ix_alumni_duplicate_keys_key (kind, dup_key, alumnus_id),
  CONSTRAINT fk_alumni_duplicate_keys_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
