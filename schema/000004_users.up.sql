-- People who sign in: office staff and alumni claiming their own record. Passwords are stored
-- only as argon2id PHC strings. A user may be linked to one alumni record (role alumnus).
CREATE TABLE users (
  id                  BIGINT       NOT NULL AUTO_INCREMENT,
  public_id           CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version             INT          NOT NULL DEFAULT 1,
  email               VARCHAR(254) NOT NULL,
  password_hash       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  role                VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  enabled             BOOLEAN      NOT NULL DEFAULT TRUE,
  alumnus_id          BIGINT       NULL,
  created_at          DATETIME(6)  NOT NULL,
  updated_at          DATETIME(6)  NOT NULL,
  password_changed_at DATETIME(6)  NOT NULL,
  last_login_at       DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_public_id (public_id),
  UNIQUE KEY uq_users_email (email),
  UNIQUE KEY uq_users_alumnus (alumnus_id),
  KEY ix_users_role (role, email),
  CONSTRAINT fk_users_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id),
  CONSTRAINT ck_users_role CHECK (role IN ('admin', 'staff', 'viewer', 'alumnus'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
