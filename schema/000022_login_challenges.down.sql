DROP TABLE IF EXISTS login_challenges;
