-- wrk script: sign in as bench01..bench32@bench.alumnid.test with $PASSWORD (the bench task
-- makes those users): each wrk thread cycles through its own half of them, like an office of
-- 32 people signing in at once. Each request hashes the password once (argon2id, 19 MiB,
-- t=2), so this measures sign-in latency.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local n = 0

function request()
  n = n + 1
  local user = (id * 16) + (n % 16) + 1
  local body = string.format('{"email":"bench%02d@bench.alumnid.test","password":"%s"}', user, os.getenv("PASSWORD"))
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx answers: %d\n", summary.errors.status))
end
