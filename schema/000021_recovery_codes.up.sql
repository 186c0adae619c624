-- One-time recovery codes of a user's second factor: ten are made when TOTP is turned on and
-- shown once. Only a SHA-256 hash is kept (each code is 120 random bits); used_at marks a code
-- as spent.
CREATE TABLE recovery_codes (
  id         BIGINT      NOT NULL AUTO_INCREMENT,
  user_id    BIGINT      NOT NULL,
  code_hash  BINARY(32)  NOT NULL,
  created_at DATETIME(6) NOT NULL,
  used_at    DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_recovery_codes_user_hash (user_id, code_hash),
  CONSTRAINT fk_recovery_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
