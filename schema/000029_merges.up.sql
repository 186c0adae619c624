-- Merges of two records into one (docs/STEWARDSHIP.md, "Merging"). `merges` keeps each merge
-- with both records as they were before it (alumni.Alumnus as JSON, with what the merge moved:
-- the absorbed record's user account, invitations and earlier absorbed ids), for the undo,
-- which is allowed while the survivor is still at survivor_version_after. merged_by is the
-- public id of the user who merged. undone_at is set by the undo. superseded_by is the later
-- merge that absorbed this merge's survivor (whose survivor_id it then moved to its own): this
-- one cannot be undone until that one is.
CREATE TABLE merges (
  id                     BIGINT      NOT NULL AUTO_INCREMENT,
  public_id              CHAR(26)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  survivor_id            BIGINT      NOT NULL,
  absorbed_public_id     CHAR(26)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  survivor_before        JSON        NOT NULL,
  absorbed_before        JSON        NOT NULL,
  survivor_version_after INT         NOT NULL,
  merged_at              DATETIME(6) NOT NULL,
  merged_by              CHAR(26)    CHARACTER SET ascii COLLATE ascii_bin NULL,
  undone_at              DATETIME(6) NULL,
  superseded_by          BIGINT      NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_merges_public_id (public_id),
  KEY ix_merges_survivor (survivor_id),
  CONSTRAINT fk_merges_survivor FOREIGN KEY (survivor_id) REFERENCES alumni (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- The ids and natural keys of records merged away, and the record each now lives on: a GET
-- of an absorbed id is redirected to the survivor, an import row with an absorbed student id
-- or email updates it. A later merge of the survivor into a third record points these at the
-- third one.
CREATE TABLE alumni_absorbed (
  absorbed_public_id CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  survivor_id        BIGINT       NOT NULL,
  merge_id           BIGINT       NOT NULL,
  student_id         VARCHAR(32)  NULL,
  email              VARCHAR(254) NULL,
  work_email         VARCHAR(254) NULL,
  PRIMARY KEY (absorbed_public_id),
  KEY ix_alumni_absorbed_survivor (survivor_id),
  KEY ix_alumni_absorbed_merge (merge_id),
  KEY ix_alumni_absorbed_student_id (student_id),
  KEY ix_alumni_absorbed_email (email),
  KEY ix_alumni_absorbed_work_email (work_email),
  CONSTRAINT fk_alumni_absorbed_survivor FOREIGN KEY (survivor_id) REFERENCES alumni (id) ON DELETE CASCADE,
  CONSTRAINT fk_alumni_absorbed_merge FOREIGN KEY (merge_id) REFERENCES merges (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
