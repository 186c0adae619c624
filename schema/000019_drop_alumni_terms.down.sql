-- Puts the words table back, empty: a version that still searches it fills it with
-- `alumnid reindex` (its own, which still rebuilds the words).
CREATE TABLE alumni_terms (
  term       VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  alumnus_id BIGINT      NOT NULL,
  kind       CHAR(1)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  weight     TINYINT     NOT NULL,
  PRIMARY KEY (term, alumnus_id, kind),
  KEY ix_alumni_terms_alumnus (alumnus_id),
  CONSTRAINT fk_alumni_terms_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
