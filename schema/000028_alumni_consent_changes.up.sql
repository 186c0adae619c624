-- The consent history (docs/PRIVACY.md): one row per change of a record's directory consent or
-- one of its do-not-contact flags — when, by whom and from where (self-service, staff, import,
-- seed; merge later). Written by the write path in the same transaction as the change. A record
-- starts with no consent and no flag: a create writes rows only for what it turns on. Kept as
-- long as the record.
CREATE TABLE alumni_consent_changes (
  id         BIGINT      NOT NULL AUTO_INCREMENT,
  alumnus_id BIGINT      NOT NULL,
  field      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  value      BOOLEAN     NOT NULL,
  changed_at DATETIME(6) NOT NULL,
  actor_id   CHAR(26)    CHARACTER SET ascii COLLATE ascii_bin NULL,
  actor_role VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL,
  source     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (id),
  KEY ix_alumni_consent_changes_alumnus (alumnus_id, id),
  CONSTRAINT fk_alumni_consent_changes_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE,
  CONSTRAINT ck_alumni_consent_changes_source CHECK (source IN ('self-service', 'staff', 'import', 'merge', 'seed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
