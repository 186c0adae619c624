-- One row per sign-in. The access token carries public_id as "sid"; every request checks that
-- the session has not ended, so logout, a password change, disabling a user or changing its
-- role take effect at once on every replica.
CREATE TABLE sessions (
  id              BIGINT      NOT NULL AUTO_INCREMENT,
  public_id       CHAR(26)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id         BIGINT      NOT NULL,
  created_at      DATETIME(6) NOT NULL,
  refreshed_at    DATETIME(6) NOT NULL,
  idle_expires_at DATETIME(6) NOT NULL,
  expires_at      DATETIME(6) NOT NULL,
  ended_at        DATETIME(6) NULL,
  end_reason      VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  client_ip       VARCHAR(45) CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_sessions_public_id (public_id),
  KEY ix_sessions_user (user_id, ended_at),
  KEY ix_sessions_expires (expires_at),
  CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
