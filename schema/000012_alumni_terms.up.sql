-- The search index: every word of a record's searchable fields, folded (lower case, no accents),
-- with the weight of the field it came from. Search matches words by prefix with a range scan on
-- the primary key, which works the same on MySQL, MariaDB and TiDB (which parses FULLTEXT but
-- ignores it). kind says who may match the word: 'p' anyone who may read the record, 'c' a
-- contact field of someone who did not consent to the directory, 't' an office tag.
-- Maintained in the transaction that writes the record; `alumnid reindex` rebuilds it.
CREATE TABLE alumni_terms (
  term       VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  alumnus_id BIGINT      NOT NULL,
  kind       CHAR(1)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  weight     TINYINT     NOT NULL,
  PRIMARY KEY (term, alumnus_id, kind),
  KEY ix_alumni_terms_alumnus (alumnus_id),
  CONSTRAINT fk_alumni_terms_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
