-- The staged rows of an import, as uploaded: data holds the cells of the mapped columns (a JSON
-- array of strings, in the order of import_jobs.column_map), or [] with a problem when the row
-- could not be read. student_key and email_key are the row's keys as the alumni table compares
-- them (same collation); once the whole file is in, first_student_row and first_email_row are
-- set on the rows whose key an earlier row has (that row's number). Deleted when the job
-- finishes.
CREATE TABLE import_rows (
  import_id      BIGINT       NOT NULL,
  row_no         INT          NOT NULL,
  line_no        INT          NOT NULL,
  data           JSON         NOT NULL,
  student_key    VARCHAR(32)  NULL,
  email_key      VARCHAR(254) NULL,
  problem        VARCHAR(500) NULL,
  problem_column VARCHAR(200) NULL,
  first_student_row INT       NULL,
  first_email_row   INT       NULL,
  PRIMARY KEY (import_id, row_no),
  KEY ix_import_rows_student (import_id, student_key, row_no),
  KEY ix_import_rows_email (import_id, email_key, row_no),
  CONSTRAINT fk_import_rows_job FOREIGN KEY (import_id) REFERENCES import_jobs (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
