-- wrk script: sign in as $EMAIL with $PASSWORD (the bench task makes that user). Each request
-- hashes the password once (argon2id, 19 MiB, t=2), so this measures sign-in latency.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("EMAIL"), os.getenv("PASSWORD"))
