-- A user's TOTP second factor (RFC 6238). The shared secret is sealed with AES-256-GCM under
-- the service's TOTP key (internal/auth/seal.go; unsealed only to check a code) and never
-- logged. confirmed_at is NULL while an enrolment waits for its first code; last_step is the
-- last 30-second time step whose code was accepted, so that no code is accepted twice.
CREATE TABLE user_totp (
  user_id      BIGINT         NOT NULL,
  secret       VARBINARY(255) NOT NULL,
  created_at   DATETIME(6)    NOT NULL,
  confirmed_at DATETIME(6)    NULL,
  last_step    BIGINT         NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id),
  CONSTRAINT fk_user_totp_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
