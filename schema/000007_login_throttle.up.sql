-- Failed sign-in counters in fixed windows, shared by all replicas. bucket is the SHA-256 of
-- the scope and key (an account, a client address, or both), so no email or address is kept.
-- pending counts the attempts being checked right now, so that failures + pending never
-- exceeds the limit, however many attempts arrive at once.
CREATE TABLE login_throttle (
  bucket       BINARY(32)  NOT NULL,
  window_start DATETIME(6) NOT NULL,
  failures     INT         NOT NULL,
  pending      INT         NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket),
  KEY ix_login_throttle_window (window_start)
) ENGINE=InnoDB;
