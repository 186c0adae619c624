-- A single sign-on in progress, so that any replica can take the callback: the state sent to
-- the provider (only its hash), the hash of the browser-binding cookie, the nonce and the PKCE
-- verifier, where the browser returns to, and, once the provider's answer is verified, the
-- user and the hash of the one-time ticket the app redeems for tokens. Ten minutes, once.
CREATE TABLE sso_logins (
  id           BIGINT        NOT NULL AUTO_INCREMENT,
  state_hash   BINARY(32)    NOT NULL,
  binding_hash BINARY(32)    NOT NULL,
  provider     VARCHAR(64)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  nonce        VARCHAR(64)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  verifier     VARCHAR(128)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  return_to    VARCHAR(2048) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at   DATETIME(6)   NOT NULL,
  expires_at   DATETIME(6)   NOT NULL,
  called_back_at DATETIME(6) NULL,
  user_id      BIGINT        NULL,
  ticket_hash  BINARY(32)    NULL,
  redeemed_at  DATETIME(6)   NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_sso_logins_state (state_hash),
  UNIQUE KEY uq_sso_logins_ticket (ticket_hash),
  KEY ix_sso_logins_expires (expires_at),
  CONSTRAINT fk_sso_logins_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
