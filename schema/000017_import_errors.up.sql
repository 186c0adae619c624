-- The problems an import found, one row per problem: the data row (1-based, the header not
-- counted), the physical line it starts on, the CSV column and the record field concerned.
-- Written in the same transaction as the batch they belong to; kept with their job.
CREATE TABLE import_errors (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  import_id   BIGINT       NOT NULL,
  row_no      INT          NOT NULL,
  line_no     INT          NOT NULL,
  column_name VARCHAR(200) NULL,
  field       VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  message     VARCHAR(500) NOT NULL,
  PRIMARY KEY (id),
  KEY ix_import_errors_job (import_id, id),
  CONSTRAINT fk_import_errors_job FOREIGN KEY (import_id) REFERENCES import_jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
