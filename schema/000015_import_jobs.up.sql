-- One row per CSV import (see internal/importer). An upload is 'receiving' while its rows are
-- staged and becomes 'queued' when the whole file is in; a worker of any replica then claims it
-- with a lease (lease_owner, lease_expires_at) and works through the staged rows in batches,
-- committing next_row and the counts with each batch, so that another worker can resume it
-- after a crash. failed_attempts counts the batches that failed with an error (not the times
-- a replica stopped), to give up a job that cannot succeed. The API never shows 'receiving'
-- jobs.
CREATE TABLE import_jobs (
  id               BIGINT       NOT NULL AUTO_INCREMENT,
  public_id        CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status           VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  dry_run          BOOLEAN      NOT NULL DEFAULT FALSE,
  file_name        VARCHAR(255) NOT NULL,
  file_size        BIGINT       NOT NULL DEFAULT 0,
  field_delimiter  CHAR(1)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  column_map       JSON         NOT NULL,
  ignored_columns  JSON         NOT NULL,
  total_rows       INT          NOT NULL DEFAULT 0,
  next_row         INT          NOT NULL DEFAULT 0,
  processed_rows   INT          NOT NULL DEFAULT 0,
  created_count    INT          NOT NULL DEFAULT 0,
  updated_count    INT          NOT NULL DEFAULT 0,
  unchanged_count  INT          NOT NULL DEFAULT 0,
  rejected_count   INT          NOT NULL DEFAULT 0,
  error_count      INT          NOT NULL DEFAULT 0,
  failure          VARCHAR(500) NULL,
  actor_id         CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NULL,
  actor_role       VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  request_id       VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
  client_ip        VARCHAR(45)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  lease_owner      VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NULL,
  lease_expires_at DATETIME(6)  NULL,
  failed_attempts  INT          NOT NULL DEFAULT 0,
  created_at       DATETIME(6)  NOT NULL,
  updated_at       DATETIME(6)  NOT NULL,
  started_at       DATETIME(6)  NULL,
  finished_at      DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_import_jobs_public_id (public_id),
  KEY ix_import_jobs_status (status, lease_expires_at),
  KEY ix_import_jobs_finished (finished_at),
  CONSTRAINT ck_import_jobs_status CHECK (status IN ('receiving', 'queued', 'running', 'succeeded', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
