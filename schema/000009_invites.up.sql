-- One-time invitations for an alumnus to claim their record. The token is stored only as its
-- SHA-256; accepted_at makes it single-use.
CREATE TABLE invites (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  public_id   CHAR(26)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  token_hash  BINARY(32)   NOT NULL,
  alumnus_id  BIGINT       NOT NULL,
  email       VARCHAR(254) NOT NULL,
  created_by  BIGINT       NULL,
  created_at  DATETIME(6)  NOT NULL,
  expires_at  DATETIME(6)  NOT NULL,
  accepted_at DATETIME(6)  NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_invites_public_id (public_id),
  UNIQUE KEY uq_invites_token (token_hash),
  KEY ix_invites_alumnus (alumnus_id),
  CONSTRAINT fk_invites_alumnus FOREIGN KEY (alumnus_id) REFERENCES alumni (id) ON DELETE CASCADE,
  CONSTRAINT fk_invites_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
