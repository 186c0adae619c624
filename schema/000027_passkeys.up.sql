-- Passkeys (WebAuthn credentials) and the WebAuthn ceremonies in progress. Two new tables in
-- one migration: neither is used without the other, and both are new, so a failure half-way
-- leaves nothing that IF NOT EXISTS cannot take up again.
--
-- passkeys: a user's registered public-key credentials. credential_id is what an authenticator
-- names in every assertion (the lookup key); record is the library's credential record
-- (go-webauthn webauthn.Credential as JSON: public key, attestation, flags, sign counter),
-- written back after every sign-in. clone_warning is set when an assertion came with a
-- signature counter that did not increase (a possible copy of the authenticator).
CREATE TABLE IF NOT EXISTS passkeys (
  id            BIGINT          NOT NULL AUTO_INCREMENT,
  public_id     CHAR(26)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id       BIGINT          NOT NULL,
  credential_id VARBINARY(1023) NOT NULL,
  name          VARCHAR(100)    NOT NULL,
  record        BLOB            NOT NULL,
  created_at    DATETIME(6)     NOT NULL,
  last_used_at  DATETIME(6)     NULL,
  clone_warning BOOLEAN         NOT NULL DEFAULT FALSE,
  PRIMARY KEY (id),
  UNIQUE KEY uq_passkeys_public_id (public_id),
  UNIQUE KEY uq_passkeys_credential (credential_id),
  KEY ix_passkeys_user (user_id),
  CONSTRAINT fk_passkeys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

-- webauthn_ceremonies: between the options a client gets and the credential it sends back,
-- so that any replica can finish what another began. The client holds an opaque token; only
-- its SHA-256 hash is kept. session is the library's SessionData as JSON (the challenge, the
-- user handle, the allowed credentials). purpose: 'register' (a signed-in user adds a
-- passkey; user_id), 'second_factor' (the second step of a password sign-in; user_id and
-- login_challenge_id), 'sign_in' (passwordless: no user until the passkey names one). Five
-- minutes, once (used_at).
CREATE TABLE IF NOT EXISTS webauthn_ceremonies (
  id                 BIGINT      NOT NULL AUTO_INCREMENT,
  token_hash         BINARY(32)  NOT NULL,
  purpose            VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id            BIGINT      NULL,
  login_challenge_id BIGINT      NULL,
  session            BLOB        NOT NULL,
  created_at         DATETIME(6) NOT NULL,
  expires_at         DATETIME(6) NOT NULL,
  used_at            DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_webauthn_ceremonies_token (token_hash),
  KEY ix_webauthn_ceremonies_expires (expires_at),
  CONSTRAINT fk_webauthn_ceremonies_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT fk_webauthn_ceremonies_challenge FOREIGN KEY (login_challenge_id) REFERENCES login_challenges (id) ON DELETE CASCADE,
  CONSTRAINT ck_webauthn_ceremonies_purpose CHECK (purpose IN ('register', 'second_factor', 'sign_in'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
