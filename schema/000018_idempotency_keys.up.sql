-- Idempotency keys (internal/idempotency): one row per key a signed-in user sent with an
-- operation that accepts Idempotency-Key. The primary key makes the database the one place
-- that decides which of several concurrent requests with the same key runs (on any replica):
-- the first INSERT claims the key ('pending', owned by claim_token until lease_until), the
-- others find the row. When the request is answered the row becomes 'done' and keeps the
-- answer — status, the headers that matter and the body — with the fingerprint of the request
-- (SHA-256 of method, route, query and body) that later requests are compared with. A request
-- that fails on the server's side deletes its claim. Rows are deleted after expires_at.
-- fingerprint and body are empty while the key is pending.
CREATE TABLE idempotency_keys (
  user_id       CHAR(26)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  operation     VARCHAR(64)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  idem_key      VARCHAR(255)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  state         VARCHAR(8)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  claim_token   BINARY(16)    NOT NULL,
  lease_until   DATETIME(6)   NOT NULL,
  fingerprint   VARBINARY(32) NOT NULL,
  status        SMALLINT      NULL,
  location      VARCHAR(2048) NULL,
  etag          VARCHAR(255)  NULL,
  content_type  VARCHAR(255)  NULL,
  body          MEDIUMBLOB    NOT NULL,
  created_at    DATETIME(6)   NOT NULL,
  expires_at    DATETIME(6)   NOT NULL,
  PRIMARY KEY (user_id, operation, idem_key),
  KEY ix_idempotency_keys_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
