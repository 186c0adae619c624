-- A user's accounts at OpenID Connect providers: a sign-in through a provider finds its user
-- by (issuer, subject) — the identifiers the provider promises never to reassign — and never
-- by email.
CREATE TABLE user_identities (
  id            BIGINT       NOT NULL AUTO_INCREMENT,
  user_id       BIGINT       NOT NULL,
  issuer        VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  subject       VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at    DATETIME(6)  NOT NULL,
  last_login_at DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_user_identities_subject (issuer, subject),
  KEY ix_user_identities_user (user_id),
  CONSTRAINT fk_user_identities_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
