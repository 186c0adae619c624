-- The grants of the service's own database user. Migrations run as another (owner) user.
-- Replace alumni with your database name and choose the password; the test
-- TestAuditTableIsAppendOnlyWithGrants applies this file as it is, with its own names.
-- audit_events is append-only: SELECT and INSERT, never UPDATE or DELETE.
CREATE USER 'alumnid'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT ON alumni.schema_migrations TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.alumni TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.degrees TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.alumni_tags TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.alumni_duplicate_keys TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.duplicate_pairs TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.duplicate_work TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.merges TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.alumni_absorbed TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.alumni_consent_changes TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.alumni_stats TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.users TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.sessions TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.refresh_tokens TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.login_throttle TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.user_totp TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.recovery_codes TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.login_challenges TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.user_identities TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.sso_logins TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.passkeys TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.webauthn_ceremonies TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.login_known_clients TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.invites TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.settings TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.import_jobs TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.import_rows TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.import_errors TO 'alumnid'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON alumni.idempotency_keys TO 'alumnid'@'%';
GRANT SELECT, INSERT ON alumni.audit_events TO 'alumnid'@'%';
