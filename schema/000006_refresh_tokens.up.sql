-- Every refresh token a session was given, stored only as its SHA-256. A token is used once:
-- presenting a used one again means it was copied, and the whole session is ended.
CREATE TABLE refresh_tokens (
  token_hash BINARY(32)  NOT NULL,
  session_id BIGINT      NOT NULL,
  issued_at  DATETIME(6) NOT NULL,
  used_at    DATETIME(6) NULL,
  PRIMARY KEY (token_hash),
  KEY ix_refresh_tokens_session (session_id),
  CONSTRAINT fk_refresh_tokens_session FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB;
