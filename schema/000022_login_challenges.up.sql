-- A sign-in half done: the password was right and the second step is due. The client holds
-- the challenge token; only its SHA-256 hash is kept. purpose is 'totp' (send a code) or
-- 'enrol' (a user who must have a second factor sets one up first). A challenge lives five
-- minutes, works once (used_at) and dies after five wrong codes. Kept in the database, not in
-- one replica's memory, so any replica can finish the sign-in.
CREATE TABLE login_challenges (
  id         BIGINT      NOT NULL AUTO_INCREMENT,
  token_hash BINARY(32)  NOT NULL,
  user_id    BIGINT      NOT NULL,
  purpose    VARCHAR(8)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  used_at    DATETIME(6) NULL,
  failures   INT         NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  UNIQUE KEY uq_login_challenges_token (token_hash),
  KEY ix_login_challenges_expires (expires_at),
  CONSTRAINT fk_login_challenges_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT ck_login_challenges_purpose CHECK (purpose IN ('totp', 'enrol'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
