DROP TABLE IF EXISTS recovery_codes;
