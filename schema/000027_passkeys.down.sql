DROP TABLE IF EXISTS webauthn_ceremonies;
DROP TABLE IF EXISTS passkeys;
