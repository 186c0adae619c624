-- The audit trail: one row per change, written in the same transaction as the change. The
-- service's database user may only SELECT and INSERT here (see docs/SECURITY.md). id grows
-- with every insert, so readers (and later the real-time feed) can follow it.
CREATE TABLE audit_events (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  occurred_at DATETIME(6)  NOT NULL,
  actor_id    CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NULL,
  actor_role  VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  action      VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  entity_type VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  entity_id   VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  changes     JSON         NOT NULL,
  request_id  VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
  client_ip   VARCHAR(45)  CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (id),
  KEY ix_audit_events_actor (actor_id, id),
  KEY ix_audit_events_entity (entity_type, entity_id, id),
  KEY ix_audit_events_action (action, id),
  KEY ix_audit_events_time (occurred_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
