-- The office's queue of likely duplicates (docs/STEWARDSHIP.md). A pair of records, the lower
-- internal key first, with its score (thousandths, duplicates.Score) and reasons; `open` pairs
-- are the queue, `dismissed` ones were judged "not the same person" and stay so whatever later
-- changes do (decided_by: the public id of the user who said so). The queue is read best
-- first: (status, score, low_id, high_id) descending.
CREATE TABLE duplicate_pairs (
  low_id     BIGINT       NOT NULL,
  high_id    BIGINT       NOT NULL,
  score      SMALLINT     NOT NULL,
  reasons    VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  status     VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'open',
  scored_at  DATETIME(6)  NOT NULL,
  decided_by CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NULL,
  decided_at DATETIME(6)  NULL,
  PRIMARY KEY (low_id, high_id),
  KEY ix_duplicate_pairs_queue (status, score, low_id, high_id),
  KEY ix_duplicate_pairs_high (high_id),
  CONSTRAINT fk_duplicate_pairs_low FOREIGN KEY (low_id) REFERENCES alumni (id) ON DELETE CASCADE,
  CONSTRAINT fk_duplicate_pairs_high FOREIGN KEY (high_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- Records whose pairs must be scored again: marked by the write path (alumni.write) when a
-- change touches what the score reads, and by `alumnid duplicates rebuild`; drained by the
-- duplicate worker on every replica, which claims a batch (claim, claimed_at) so that replicas
-- share the work. A record marked again while claimed loses its claim, so the newer change is
-- scored too.
CREATE TABLE duplicate_work (
  alumnus_id BIGINT      NOT NULL,
  queued_at  DATETIME(6) NOT NULL,
  claim      BIGINT      NULL,
  claimed_at DATETIME(6) NULL,
  PRIMARY KEY (alumnus_id),
  KEY ix_duplicate_work_claim (claim),
  CONSTRAINT fk_duplicate_work_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- Every record written before this migration is marked, so the workers of the upgraded
-- service fill the queue in the background.
INSERT INTO duplicate_work (alumnus_id, queued_at)
SELECT id, UTC_TIMESTAMP(6) FROM alumni WHERE deleted_at IS NULL;
