-- wrk script: GET one alumnus per request, cycling through the ids in $IDS_FILE (one per line).
local ids = {}
local n = 0

function init(args)
  local file = os.getenv("IDS_FILE") or "bench/ids.txt"
  for line in io.lines(file) do
    n = n + 1
    ids[n] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

-- $TOKEN is an access token (the bench task signs in first).
local headers = {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")}

function request()
  return wrk.format("GET", "/api/v1/alumni/" .. ids[math.random(n)], headers)
end
