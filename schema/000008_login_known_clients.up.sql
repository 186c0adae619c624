-- Client addresses an account has signed in from successfully (SHA-256 of account and
-- address). They stay able to sign in while the account as a whole is throttled, so an attack
-- from elsewhere cannot lock the real user out.
CREATE TABLE login_known_clients (
  bucket          BINARY(32)  NOT NULL,
  last_success_at DATETIME(6) NOT NULL,
  PRIMARY KEY (bucket),
  KEY ix_login_known_clients_time (last_success_at)
) ENGINE=InnoDB;
